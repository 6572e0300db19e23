"""Training the camera-curve classifier behind ``--input-colorspace auto``.

The classifier is an MLP over statistics of a plate, so a run first makes a pool of
synthetic plates (``views_per_image`` random views of every training image, each degraded
by one curve of the documented family: half of them display encodings, a quarter of
those plain sRGB, the other half tone-mapped curves; 8/10-bit, noise and JPEG as usual,
``clip_range`` of pixels clipped) and computes their statistics once
(:meth:`CurveNet.statistics`, cached in the run folder as ``plates.safetensors``); steps
then draw batches from the pool. The loss is the cross-entropy of the curve's class plus
the binary cross-entropy of whether it is tone-mapped
(:func:`~hdr_plugin.models.camera_curve.decision.tone_mapped_targets`: curves close to
sRGB that are not display encodings, and unusual gammas far from it, teach only the curve
head). Validation reports how often the decision
(:func:`~hdr_plugin.models.camera_curve.decide`) keeps a display-encoded plate on sRGB
and how often it takes a tone-mapped plate off it.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file
from tqdm import tqdm

from hdr_plugin.crf import curve_names
from hdr_plugin.io import atomic_write
from hdr_plugin.models.camera_curve import NAME, SPEC, WEIGHTS_FILE, decide, is_display_curve
from hdr_plugin.models.camera_curve.arch import CameraCurveEstimator, proxy
from hdr_plugin.models.camera_curve.decision import tone_mapped_targets
from hdr_plugin.models.engine.weights import save_weights
from hdr_plugin.train.data import load_hdr, random_view
from hdr_plugin.train.degrade import Pipeline, synthesize
from hdr_plugin.train.trainer import Trainer, build_network

POOL_FILE = "plates.safetensors"


def draw_curve(rng: np.random.Generator) -> int:
    """Class index of the next training curve."""
    names = curve_names()
    display = [i for i, n in enumerate(names) if is_display_curve(n)]
    tone = [i for i, n in enumerate(names) if not is_display_curve(n)]
    if rng.random() < 0.5:
        return int(rng.choice(tone))
    if rng.random() < 0.25:
        return names.index("srgb")
    return int(rng.choice(display))


class CameraCurveTrainer(Trainer):
    """:class:`Trainer` for the :class:`~hdr_plugin.models.camera_curve.CurveNet`."""

    _statistics: torch.Tensor | None = None
    _labels: torch.Tensor | None = None

    def pipeline_for(self, index: int) -> Pipeline:
        return Pipeline(curve=curve_names()[index], clip_range=tuple(self.config.clip_range))

    def _pool_key(self) -> str:
        """What the pool depends on: a cached pool made otherwise is not reused."""
        c = self.config
        return json.dumps(
            {
                "seed": c.seed,
                "views_per_image": c.views_per_image,
                "crop": c.crop,
                "clip_range": list(c.clip_range),
                "files": [p.name for p in self._train_files],
                "classes": list(curve_names()),
            },
            sort_keys=True,
        )

    def prepare(self, *, progress: bool) -> None:
        """Make (or load) the pool of plate statistics and curve labels."""
        path = self.output / POOL_FILE
        key = self._pool_key()
        if path.is_file():
            with safe_open(str(path), "pt") as f:
                if (f.metadata() or {}).get("key") == key:
                    self._statistics, self._labels = (
                        f.get_tensor("statistics"),
                        f.get_tensor("labels"),
                    )
                    return
        rng = np.random.default_rng(self.config.seed + 2)
        net = build_network(self.config).eval()
        rows, labels = [], []
        bar = tqdm(self._train_files, disable=not progress, unit="image", desc="plate pool")
        for file in bar:
            image = load_hdr(file, self.color)
            size = min(self.config.crop, *image.shape[:2])
            codes = []
            for _ in range(self.config.views_per_image):
                label = draw_curve(rng)
                view = random_view(image, size, rng)
                pair = synthesize(view, self.color, rng, self.pipeline_for(label))
                codes.append(proxy(pair.sdr))
                labels.append(label)
            with torch.no_grad():
                rows += [net.statistics(code) for code in codes]
        self._statistics = torch.cat(rows).float()
        self._labels = torch.tensor(labels, dtype=torch.long)
        self.output.mkdir(parents=True, exist_ok=True)
        with atomic_write(path) as temporary:
            save_file(
                {"statistics": self._statistics, "labels": self._labels},
                str(temporary),
                metadata={"key": key},
            )

    def next_batch(self) -> dict[str, torch.Tensor]:
        if self._statistics is None:
            self.prepare(progress=False)
        index = torch.from_numpy(self.rng.integers(len(self._labels), size=self.config.batch))
        labels = self._labels[index]
        return {
            "statistics": self._statistics[index].to(self.device),
            "label": labels.to(self.device),
            "tone_mapped": torch.from_numpy(tone_mapped_targets(self.color))
            .float()[labels]
            .to(self.device),
        }

    def inference_model(self) -> CameraCurveEstimator:
        net = build_network(self.config)
        net.load_state_dict(self.net.state_dict())
        return CameraCurveEstimator(net, self.color, weights_hash=None, device=self.device)

    def validate(self, limit: int | None = None) -> dict[str, float]:
        """Decision rates on validation views (display plates kept on sRGB, tone-mapped off it).

        Also the highest P(tone-mapped) on a display plate close to sRGB and the median on a
        tone-mapped plate far from it: the margin the decision's threshold sits in.
        """
        estimator = self.inference_model()
        rng = np.random.default_rng(12345)
        targets = tone_mapped_targets(self.color)
        kept, taken, correct, display_p, tone_p = [], [], [], [], []
        for path in self._validation_files[:limit]:
            image = load_hdr(path, self.color)
            for _ in range(8):
                view = random_view(image, min(256, *image.shape[:2]), rng)
                label = draw_curve(rng)
                pair = synthesize(view, self.color, rng, self.pipeline_for(label))
                probabilities, tone = estimator.probabilities(pair.sdr)
                srgb = decide(probabilities, tone, self.color).inverse is None
                correct.append(float(np.argmax(probabilities) == label))
                if targets[label] == 0.0:
                    kept.append(srgb)
                    display_p.append(tone)
                elif targets[label] == 1.0:
                    taken.append(not srgb)
                    tone_p.append(tone)

        def mean(values: list) -> float:
            return float(np.mean(values)) if values else float("nan")

        return {
            "display_kept_srgb": mean(kept),
            "tone_mapped_detected": mean(taken),
            "top1": mean(correct),
            "display_max_p": float(np.max(display_p)) if display_p else float("nan"),
            "tone_mapped_median_p": float(np.median(tone_p)) if tone_p else float("nan"),
        }

    def export(self, seconds: float):
        net = build_network(self.config)
        net.load_state_dict(self.net.state_dict())
        validation = [r["validation"] for r in self.history if "validation" in r]
        card = {
            "model": NAME,
            "architecture": self.config.architecture,
            "input": "display-encoded plate, code values in [0, 1] (any curve of the family)",
            "output": f"logits over {len(curve_names())} curves of hdr_plugin.crf, "
            "and one that the curve is tone-mapped",
            "classes": list(curve_names()),
            "training": {
                "data": f"{len(self._train_files)} HDR images, split by scene family "
                "(hdr_plugin/train/split.json)",
                "plates": f"{len(self._labels)} synthetic plates "
                f"({self.config.views_per_image} views per image)",
                "command": self.command,
                "config": dataclasses.asdict(self.config),
                "steps": self.step,
                "seconds_this_session": round(seconds, 1),
                "device": str(self.device),
                "log": self.write_log(f"{NAME}.log").name,
            },
            "validation_during_training": validation[-1] if validation else {},
            "licence": SPEC.licence,
            "paper": SPEC.paper,
        }
        path = self.output / WEIGHTS_FILE
        save_weights(net.to(getattr(torch, self.config.weights_dtype)), path, card)
        return path

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Cross-entropy of the curve class and binary cross-entropy of "tone-mapped"."""
        logits, tone = self.net.classify(batch["statistics"])
        target = batch["tone_mapped"]
        known = ~torch.isnan(target)
        return {
            "curve": F.cross_entropy(logits.float(), batch["label"]),
            "tone_mapped": F.binary_cross_entropy_with_logits(tone.float()[known], target[known])
            if known.any()
            else tone.sum() * 0.0,
        }


#: What :func:`~hdr_plugin.train.trainer.make_trainer` builds for this family.
TRAINER = CameraCurveTrainer
