"""Training ``singlehdr``: a loss per stage of the reversed camera pipeline."""

from __future__ import annotations

import torch

from hdr_plugin.train import losses
from hdr_plugin.train.trainer import Trainer


class SingleHDRTrainer(Trainer):
    """A loss per stage, and the clipped-region PU21 error of what the model renders.

    Dequantisation L2, CRF L2, linearisation L2, log-L2 of the HDR, TV of the residual.

    The HDR term is on the gated output (the hallucination blended over the exact
    linearisation), what the model renders.
    """

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        stages = self.net.stages(batch["sdr"])
        hdr = self.gated(batch["sdr"], stages["hdr"])
        return {
            "dequantization": (stages["dequantized"] - batch["sdr_continuous"]).pow(2).mean(),
            "crf": 0.1 * (stages["curve"] - batch["inverse_curve"]).pow(2).mean(),
            "linearization": (stages["linear"] - batch["linear_clipped"]).pow(2).mean(),
            "log_l2": losses.log_l2(hdr, batch["hdr709"]),
            "tv": 0.01 * losses.total_variation(torch.log1p(stages["residual"])),
            # Rec.709 against Rec.709: the network's output primaries.
            "clipped_pu21": self.config.clipped_weight
            * losses.log_clipped_pu21_error(hdr, batch["hdr709"], batch["clipped"]),
        }


#: What :func:`~hdr_plugin.train.trainer.make_trainer` builds for this family.
TRAINER = SingleHDRTrainer
