"""Training ``hybrid-mnv3``: L1 on the log of the gated output, and the clipped-region PU21."""

from __future__ import annotations

import torch

from hdr_plugin.models.engine.encodings import log_encode
from hdr_plugin.train import losses
from hdr_plugin.train.trainer import Trainer, build_network


class HybridTrainer(Trainer):
    """Synthetic crops; the encoder loads (and freezes) ``backbone`` when one is given."""

    def build_network(self) -> torch.nn.Module:
        if not self.config.backbone:
            return build_network(self.config)
        options = {**self.config.architecture, "backbone": self.config.backbone}
        return type(build_network(self.config))(**options)

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        hdr = self.gated(batch["sdr"], self.net(batch["sdr"]))
        return {
            "l1_log": losses.l1(log_encode(hdr), log_encode(batch["hdr"])),
            "clipped_pu21": self.config.clipped_weight
            * losses.log_clipped_pu21_error(hdr, batch["hdr"], batch["clipped"]),
        }


#: What :func:`~hdr_plugin.train.trainer.make_trainer` builds for this family.
TRAINER = HybridTrainer
