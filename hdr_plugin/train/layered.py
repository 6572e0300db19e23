"""Training ``layered``: hole/valid L1 and SSIM on PQ, L1 of the base layer, clipped-region PU21."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hdr_plugin.models.engine.encodings import pq_decode, pq_encode
from hdr_plugin.train import losses
from hdr_plugin.train.trainer import PQ_FLOOR, Trainer


class LayeredTrainer(Trainer):
    """Synthetic crops; the partial-convolution loss weighs the masked highlights 6x.

    The hole/valid and SSIM terms are on the gated output (what the model renders).
    """

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        stages = self.net.stages(batch["sdr"])
        target = pq_encode(batch["hdr"])
        hdr = self.gated(batch["sdr"], pq_decode(stages["pq"].float()))
        pred = pq_encode(hdr.clamp(min=PQ_FLOOR))
        valid = (stages["mask"] < 1.0).all(dim=1, keepdim=True).to(target.dtype)
        return {
            "hole_valid_l1": losses.hole_valid_l1(pred, target, valid),
            "ssim": losses.ssim_loss(pred, target),
            "base_l1": 0.5 * losses.l1(stages["base_pq"], F.avg_pool2d(target, 9, 1, 4)),
            "clipped_pu21": self.config.clipped_weight
            * losses.log_clipped_pu21_error(hdr, batch["hdr"], batch["clipped"]),
        }


#: What :func:`~hdr_plugin.train.trainer.make_trainer` builds for this family.
TRAINER = LayeredTrainer
