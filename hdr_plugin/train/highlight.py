"""Training ``highlight-expand``: a pool of clipped pixels, their features and targets.

The network sees one pixel at a time, so a step is a batch of clipped pixels drawn from a
pool built once per run: every training view is degraded by one camera pipeline, brought
to the model's proxy size, linearised through OCIO exactly as the model does, and its
clipped pixels keep their features, their linear value (times the scale the evaluation
fits on well-exposed pixels) and the true display-linear Rec.709 value. The loss is the
squared PU21 error (the evaluation's metric) with each image weighted by the inverse of
the linearisation's own error there, so every image counts in proportion to how much it
can improve, as in a mean of per-image PSNRs.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from tqdm import tqdm

from hdr_plugin.color import ColorContext
from hdr_plugin.errors import ConfigError
from hdr_plugin.models import get_spec
from hdr_plugin.models.highlight import HighlightExpand, linearise
from hdr_plugin.models.highlight_arch import clip_features, proxy_size, resize
from hdr_plugin.train.degrade import Pair, synthesize
from hdr_plugin.train.losses import pu21
from hdr_plugin.train.metrics import fit_scale, well_exposed
from hdr_plugin.train.trainer import TrainConfig, Trainer


def clipped_samples(pair: Pair, color: ColorContext, encoding: str) -> dict[str, np.ndarray]:
    """Features, scaled linear values, targets and weights of a pair's clipped pixels.

    Args:
        pair: a synthetic pair; its ``sdr`` is read as display-encoded ``encoding``.
        color: OCIO context.
        encoding: the model's input colourspace.

    Returns:
        ``features`` (N, F), ``linear`` and ``target`` (N, 3) display-linear Rec.709,
        ``weight`` (N,): empty arrays when nothing clips.
    """
    size = proxy_size(pair.sdr.shape)
    code = resize(pair.sdr, size)
    linear = resize(linearise(pair.sdr, color, encoding), size)
    target = resize(pair.hdr709, size)
    features, mask = clip_features(code, linear)
    scale = fit_scale(linear, target, well_exposed(code))
    linear, target = linear[mask] * scale, target[mask]
    weight = np.zeros(len(features), np.float32)
    if len(features):
        baseline = pu21(torch.from_numpy(linear)) - pu21(torch.from_numpy(target))
        weight[:] = 1.0 / (len(features) * max(float(baseline.pow(2).mean()), 1e-3))
    return {"features": features, "linear": linear, "target": target, "weight": weight}


class HighlightTrainer(Trainer):
    """:class:`Trainer` whose batches are clipped pixels of a pool built once per run."""

    def __init__(
        self, config: TrainConfig, color: ColorContext | None = None, command: str = ""
    ) -> None:
        if config.backbone:
            raise ConfigError("training config: highlight-expand takes no backbone")
        super().__init__(config, color, command)
        self._pixels: dict[str, torch.Tensor] | None = None

    def pixel_pool(self, *, progress: bool = False) -> dict[str, torch.Tensor]:
        """Clipped pixels of every training view (built on first use, from the seed)."""
        if self._pixels is None:
            rng = np.random.default_rng(self.config.seed + 2)
            encoding = get_spec(self.config.model).input_encoding
            parts: dict[str, list[np.ndarray]] = {}
            views = self._view_pool()
            for view in tqdm(views, desc="pixel pool", unit="view", disable=not progress):
                pair = self._synthesize(view, rng)
                for key, value in clipped_samples(pair, self.color, encoding).items():
                    parts.setdefault(key, []).append(value)
            pool = {k: torch.from_numpy(np.concatenate(v)) for k, v in parts.items()}
            if not len(pool["weight"]):
                raise ConfigError(f"no clipped pixels in the training views of {self.config.data}")
            pool["weight"] /= pool["weight"].mean()
            self._pixels = pool
            net = self.net
            net.feature_mean.copy_(pool["features"].mean(dim=0))
            net.feature_std.copy_(pool["features"].std(dim=0) + 1e-6)
        return self._pixels

    def _synthesize(self, view: np.ndarray, rng: np.random.Generator) -> Pair:
        return synthesize(np.ascontiguousarray(view), self.color, rng, self.pipeline(rng))

    def next_batch(self) -> dict[str, torch.Tensor]:
        pool = self.pixel_pool()
        index = torch.from_numpy(self.rng.integers(0, len(pool["weight"]), self.config.batch))
        return {key: value[index].to(self.device) for key, value in pool.items()}

    def inference_model(self) -> HighlightExpand:
        spec = get_spec(self.config.model)
        net = copy.deepcopy(self.net)
        return HighlightExpand(spec, self.color, net, weights_hash=None, device=str(self.device))

    def prepare(self, *, progress: bool) -> None:
        self.pixel_pool(progress=progress)
