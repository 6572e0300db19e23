"""Training ``highlight-unet``: views at the proxy size, linearised by their true curve.

A step is a batch of training views, each degraded by a camera pipeline drawn from the
config's curves, bit depths and clipped fractions, and linearised with that camera's own
inverse curve, as OCIO linearises a plate whose colourspace is named. The loss is the
evaluation's metric: per view, the mean squared PU21 error (scene-linear Rec.2020,
reference white 203 cd/m²) over the pixels with a clipped channel; the batch loss is the
mean of their logs, i.e. minus the mean clipped-region PU21-PSNR / 10 up to a constant, so
each view counts by how much it can still improve, not by how bright it is.
"""

from __future__ import annotations

import numpy as np
import torch

from hdr_plugin.color import LINEAR_REC709, WORKING_SPACE
from hdr_plugin.crf import SAMPLES
from hdr_plugin.models.highlight_unet.arch import CLIP_LINEAR
from hdr_plugin.train.degrade import Pair
from hdr_plugin.train.losses import log_clipped_pu21_error
from hdr_plugin.train.trainer import Trainer, stack


def decode(pair: Pair) -> np.ndarray:
    """A pair's plate linearised by its camera's true inverse curve (display-linear)."""
    grid = np.linspace(0.0, 1.0, SAMPLES, dtype=np.float32)
    return np.interp(pair.sdr, grid, pair.inverse_curve).astype(np.float32)


class HighlightUNetTrainer(Trainer):
    """:class:`Trainer` whose batches are linearised views and their Rec.2020 targets."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        basis = np.eye(3, dtype=np.float32)
        matrix = self.color.convert(basis, LINEAR_REC709, WORKING_SPACE).T
        self._to_rec2020 = torch.from_numpy(np.ascontiguousarray(matrix)).to(self.device)

    def batch_arrays(self, step: int) -> dict[str, np.ndarray]:
        pairs = self.sample_batch(step)
        return {"linear": stack([decode(p) for p in pairs]), "hdr": stack([p.hdr for p in pairs])}

    def to_batch(self, arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        linear = torch.from_numpy(arrays["linear"]).to(self.device)
        if self.config.precision == "bfloat16":
            linear = linear.contiguous(memory_format=torch.channels_last)
        return {
            "linear": linear,
            "hdr": torch.from_numpy(arrays["hdr"]).to(self.device),
            "clipped": (linear >= CLIP_LINEAR).any(dim=1, keepdim=True).float(),
            "to_rec2020": self._to_rec2020,
        }

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        expanded = self.net(batch["linear"])
        # Elementwise, not a matmul: autocast would round a matmul's output to bf16.
        matrix = batch["to_rec2020"][None, :, :, None, None]
        prediction = (matrix * expanded[:, None]).sum(dim=2)
        return {"log_pu21_mse": log_clipped_pu21_error(prediction, batch["hdr"], batch["clipped"])}


#: What :func:`~hdr_plugin.train.trainer.make_trainer` builds for this family.
TRAINER = HighlightUNetTrainer
