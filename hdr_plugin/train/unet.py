"""Training ``unet-native``: SSIM and L1 on PQ-encoded Rec.2020 crops of the gated output."""

from __future__ import annotations

import torch

from hdr_plugin.models.engine.encodings import pq_encode
from hdr_plugin.train import losses
from hdr_plugin.train.trainer import PQ_FLOOR, Trainer


class UNetTrainer(Trainer):
    """Synthetic crops; the loss is on the PQ encoding of what the model renders.

    The network's log gain is applied over the exact linearisation inside the soft
    highlight mask (:meth:`Trainer.gated`): it learns what to add inside highlights.
    """

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        pred = pq_encode(self.gated(batch["sdr"], self.net(batch["sdr"])).clamp(min=PQ_FLOOR))
        target = pq_encode(batch["hdr"])
        return {"ssim": losses.ssim_loss(pred, target), "l1": losses.l1(pred, target)}


#: What :func:`~hdr_plugin.train.trainer.make_trainer` builds for this family.
TRAINER = UNetTrainer
