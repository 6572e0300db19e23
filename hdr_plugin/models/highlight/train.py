"""Training ``highlight-expand``: a pool of clipped pixels, their features and targets.

The network sees one pixel at a time, so a step is a batch of clipped pixels drawn from a
pool built once per run: every training view is degraded by one camera pipeline, brought
to the model's proxy size, linearised through OCIO exactly as the model does, and its
clipped pixels keep their features, their linear value (times the scale the evaluation
fits on well-exposed pixels) and the true display-linear Rec.709 value. The loss is the
squared PU21 error (the evaluation's metric) with each image weighted by the inverse of
the linearisation's own error there, so every image counts in proportion to how much it
can improve, as in a mean of per-image PSNRs.

The steps are shared evenly between the network's stages, one after the other. When a
refining stage starts, the gains of the stages before it and their context
(:func:`~hdr_plugin.models.highlight.arch.gain_context`, per view) are computed once for
the whole pool; the stage then trains on them with its own warm-up and cosine decay, and
the stages before it stay as they are.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import torch
from tqdm import tqdm

from hdr_plugin.color import ColorContext
from hdr_plugin.errors import ConfigError
from hdr_plugin.models import get_spec
from hdr_plugin.models.highlight import HighlightExpand, linearise
from hdr_plugin.models.highlight.arch import clip_features, gain_context, proxy_size, resize
from hdr_plugin.train.degrade import Pair, synthesize
from hdr_plugin.train.losses import pu21, weighted_pu21_mse
from hdr_plugin.train.metrics import fit_scale, well_exposed
from hdr_plugin.train.trainer import TrainConfig, Trainer, register_trainer, scheduled_lr


def clipped_samples(pair: Pair, color: ColorContext, encoding: str) -> dict[str, np.ndarray]:
    """Features, scaled linear values, targets and weights of a pair's clipped pixels.

    Args:
        pair: a synthetic pair; its ``sdr`` is read as display-encoded ``encoding``.
        color: OCIO context.
        encoding: the model's input colourspace.

    Returns:
        ``features`` (N, F), ``linear`` and ``target`` (N, 3) display-linear Rec.709,
        ``weight`` (N,): empty arrays when nothing clips; ``mask``: (h, w) the clipped
        pixels of the proxy, in whose ``np.nonzero`` order the rows are.
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
    return {
        "features": features,
        "linear": linear,
        "target": target,
        "weight": weight,
        "mask": mask,
    }


@register_trainer("highlight-expand")
class HighlightTrainer(Trainer):
    """:class:`Trainer` whose batches are clipped pixels of a pool built once per run."""

    def __init__(
        self, config: TrainConfig, color: ColorContext | None = None, command: str = ""
    ) -> None:
        if config.backbone:
            raise ConfigError("training config: highlight-expand takes no backbone")
        super().__init__(config, color, command)
        self._pixels: dict[str, torch.Tensor] | None = None
        self._masks: list[np.ndarray] = []
        self._context_stage = 0

    def stage_at(self, step: int) -> tuple[int, int, int]:
        """(stage, its first step, its last step + 1) for a step: the steps split evenly."""
        count = len(self.net.stages)
        bounds = [self.config.steps * k // count for k in range(count + 1)]
        stage = max(k for k in range(count) if bounds[k] <= step)
        return stage, bounds[stage], bounds[stage + 1]

    def pixel_pool(self, *, progress: bool = False) -> dict[str, torch.Tensor]:
        """Clipped pixels of every training view (built on first use, from the seed)."""
        if self._pixels is None:
            rng = np.random.default_rng(self.config.seed + 2)
            encoding = get_spec(self.config.model).input_encoding
            parts: dict[str, list[np.ndarray]] = {}
            masks = []
            views = self._view_pool()
            for view in tqdm(views, desc="pixel pool", unit="view", disable=not progress):
                pair = self._synthesize(view, rng)
                samples = clipped_samples(pair, self.color, encoding)
                masks.append(samples.pop("mask"))
                for key, value in samples.items():
                    parts.setdefault(key, []).append(value)
            pool = {k: torch.from_numpy(np.concatenate(v)) for k, v in parts.items()}
            if not len(pool["weight"]):
                raise ConfigError(f"no clipped pixels in the training views of {self.config.data}")
            pool["weight"] /= pool["weight"].mean()
            self._pixels, self._masks = pool, masks
            _standardise(self.net.stages[0], pool["features"])
        return self._pixels

    def _add_context(self, stage: int) -> None:
        """The pool's gains after the stages before ``stage``, and their context."""
        pool = self.pixel_pool()
        previous, context, start = [], [], 0
        for mask in self._masks:
            count = int(mask.sum())
            features = pool["features"][start : start + count].numpy()
            previous.append(self.net.gains(features, mask, stages=stage))
            context.append(gain_context(mask, previous[-1]))
            start += count
        pool["previous"] = torch.from_numpy(np.concatenate(previous))
        pool["context"] = torch.from_numpy(np.concatenate(context))
        inputs = torch.cat([pool["features"], pool["previous"], pool["context"]], -1)
        _standardise(self.net.stages[stage], inputs)
        self._context_stage = stage

    def learning_rate(self) -> float:
        _, first, end = self.stage_at(self.step)
        share = dataclasses.replace(self.config, steps=end - first)
        return scheduled_lr(share, self.step - first)

    def _synthesize(self, view: np.ndarray, rng: np.random.Generator) -> Pair:
        return synthesize(np.ascontiguousarray(view), self.color, rng, self.pipeline(rng))

    def next_batch(self) -> dict[str, torch.Tensor]:
        pool = self.pixel_pool()
        stage = self.stage_at(self.step)[0]
        if stage and self._context_stage != stage:
            self._add_context(stage)
        keys = ["features", "linear", "target", "weight"] + (
            ["previous", "context"] if stage else []
        )
        index = torch.from_numpy(self.rng.integers(0, len(pool["weight"]), self.config.batch))
        batch = {key: pool[key][index].to(self.device) for key in keys}
        return batch | {"stage": torch.tensor(stage)}

    def inference_model(self) -> HighlightExpand:
        spec = get_spec(self.config.model)
        net = copy.deepcopy(self.net)
        return HighlightExpand(spec, self.color, net, weights_hash=None, device=str(self.device))

    def prepare(self, *, progress: bool) -> None:
        self.pixel_pool(progress=progress)

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        stage = int(batch["stage"]) if "stage" in batch else 0
        gains = self.net(batch["features"], batch.get("previous"), batch.get("context"), stage)
        prediction = batch["linear"] * torch.exp(gains)
        return {"pu21_mse": weighted_pu21_mse(prediction, batch["target"], batch["weight"])}


def _standardise(stage: torch.nn.Module, inputs: torch.Tensor) -> None:
    """Set a stage's input standardisation (shipped with its weights) from the pool."""
    stage.feature_mean.copy_(inputs.mean(dim=0))
    stage.feature_std.copy_(inputs.std(dim=0) + 1e-6)
