"""Training ``unet-native``: SSIM and L1 on PQ-encoded Rec.2020 crops."""

from __future__ import annotations

import torch

from hdr_plugin.models.engine.encodings import pq_encode
from hdr_plugin.train import losses
from hdr_plugin.train.trainer import Trainer, register_trainer


@register_trainer("unet-native")
class UNetTrainer(Trainer):
    """Synthetic crops; the loss is on the PQ encoding the network predicts in."""

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        pred, target = self.net.predict_pq(batch["sdr"]), pq_encode(batch["hdr"])
        return {"ssim": losses.ssim_loss(pred, target), "l1": losses.l1(pred, target)}
