"""Training ``singlehdr``: a loss per stage of the reversed camera pipeline."""

from __future__ import annotations

import torch

from hdr_plugin.train import losses
from hdr_plugin.train.trainer import Trainer, register_trainer


@register_trainer("singlehdr")
class SingleHDRTrainer(Trainer):
    """Dequantisation L2, CRF L2, linearisation L2, log-L2 of the HDR and TV of the residual.

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
        }
