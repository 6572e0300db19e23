"""Training the camera-curve estimator behind ``--input-colorspace auto``.

The estimator is an MLP over statistics of a plate, so a run first makes a pool of
synthetic plates (``views_per_image`` random views of every training image, each rendered
through a random curve of a training family (:func:`hdr_plugin.crf.curve_families`): two
in five display encodings, the rest spread over the tone-mapped families; 8/10-bit, noise
and JPEG as usual, ``clip_range`` of pixels clipped) and computes their statistics once
(:meth:`CurveNet.statistics`, cached in the run folder as ``plates.safetensors``); steps
then draw batches from the pool. The loss is the error of the estimated inverse curve in
stops (log2) at the knots, weighted by where the plate has pixels (its code histogram)
plus a floor, and twice towards white, where shoulders differ. No family the test split
holds out (:data:`hdr_plugin.crf.TEST_FAMILIES`) is ever drawn. Validation reports the
curve error and how often the decision keeps a display plate on OCIO's decoding and takes
a tone-mapped plate off it.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from tqdm import tqdm

from hdr_plugin.crf import DISPLAY_FAMILY, curve_families
from hdr_plugin.io import atomic_write
from hdr_plugin.models.camera_curve import KNOTS, NAME, SPEC, WEIGHTS_FILE
from hdr_plugin.models.camera_curve.arch import CameraCurveEstimator, proxy
from hdr_plugin.models.camera_curve.decision import at_knots, decide
from hdr_plugin.models.engine.weights import save_weights
from hdr_plugin.train.data import load_hdr, random_view
from hdr_plugin.train.degrade import Pipeline, synthesize
from hdr_plugin.train.trainer import Trainer, build_network

POOL_FILE = "plates.safetensors"
#: Smallest linear value the curve error sees (log2 of 0 is not a number).
CURVE_FLOOR = 1e-3


def draw_family(rng: np.random.Generator) -> str:
    """The family of the next training plate: display encodings two times in five."""
    families = curve_families("train")
    if rng.random() < 0.4:
        return DISPLAY_FAMILY
    return str(rng.choice([f for f in families if f != DISPLAY_FAMILY]))


def knot_weights(code: np.ndarray) -> np.ndarray:
    """(len(KNOTS),) where a plate's pixels are, plus a floor, twice towards white."""
    edges = np.concatenate([[0.0], 0.5 * (KNOTS[1:] + KNOTS[:-1]), [1.0]])
    histogram, _ = np.histogram(np.clip(code, 0.0, 1.0), bins=edges)
    weights = histogram / max(histogram.sum(), 1) + 1.0 / len(KNOTS)
    return (weights * np.where(KNOTS > 0.8, 2.0, 1.0)).astype(np.float32)


class CameraCurveTrainer(Trainer):
    """:class:`Trainer` for the :class:`~hdr_plugin.models.camera_curve.arch.CurveNet`."""

    _statistics: torch.Tensor | None = None
    _curves: torch.Tensor | None = None
    _weights: torch.Tensor | None = None
    _display: torch.Tensor | None = None

    def pipeline_for(self, family: str) -> Pipeline:
        return Pipeline(family=family, clip_range=tuple(self.config.clip_range))

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
                "families": list(curve_families("train")),
                "knots": len(KNOTS),
            },
            sort_keys=True,
        )

    def prepare(self, *, progress: bool) -> None:
        """Make (or load) the pool of plate statistics and their true inverse curves."""
        path = self.output / POOL_FILE
        key = self._pool_key()
        if path.is_file():
            with safe_open(str(path), "pt") as f:
                if (f.metadata() or {}).get("key") == key:
                    self._statistics, self._curves, self._weights, self._display = (
                        f.get_tensor(name)
                        for name in ("statistics", "curves", "weights", "display")
                    )
                    return
        rng = np.random.default_rng(self.config.seed + 2)
        net = build_network(self.config).eval()
        rows, curves, weights, display = [], [], [], []
        bar = tqdm(self._train_files, disable=not progress, unit="image", desc="plate pool")
        for file in bar:
            image = load_hdr(file, self.color)
            size = min(self.config.crop, *image.shape[:2])
            for _ in range(self.config.views_per_image):
                family = draw_family(rng)
                view = random_view(image, size, rng)
                pair = synthesize(view, self.color, rng, self.pipeline_for(family))
                with torch.no_grad():
                    rows.append(net.statistics(proxy(pair.sdr)))
                curves.append(at_knots(pair.inverse_curve.astype(np.float64)))
                weights.append(knot_weights(pair.sdr))
                display.append(family == DISPLAY_FAMILY)
        self._statistics = torch.cat(rows).float()
        self._curves = torch.from_numpy(np.stack(curves)).float()
        self._weights = torch.from_numpy(np.stack(weights)).float()
        self._display = torch.tensor(display)
        tensors = {
            "statistics": self._statistics,
            "curves": self._curves,
            "weights": self._weights,
            "display": self._display,
        }
        with atomic_write(path) as temporary:
            save_file(tensors, str(temporary), metadata={"key": key})

    def next_batch(self) -> dict[str, torch.Tensor]:
        if self._statistics is None:
            self.prepare(progress=False)
        index = torch.from_numpy(self.rng.integers(len(self._curves), size=self.config.batch))
        return {
            "statistics": self._statistics[index].to(self.device),
            "curve": self._curves[index].to(self.device),
            "weights": self._weights[index].to(self.device),
        }

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Histogram-weighted mean absolute error of the inverse curve, in stops."""
        predicted = self.net.curve(batch["statistics"]).float()
        error = torch.abs(
            torch.log2(predicted + CURVE_FLOOR) - torch.log2(batch["curve"] + CURVE_FLOOR)
        )
        weights = batch["weights"]
        return {"curve_stops": (error * weights).sum(dim=1).div(weights.sum(dim=1)).mean()}

    def inference_model(self) -> CameraCurveEstimator:
        net = build_network(self.config)
        net.load_state_dict(self.net.state_dict())
        return CameraCurveEstimator(net, self.color, weights_hash=None, device=self.device)

    def validate(self, limit: int | None = None) -> dict[str, float]:
        """On validation views: curve error (stops) and the decision's rates.

        ``display_kept``: display plates decoded by OCIO; ``tone_mapped_taken``: plates of
        the tone-mapped training families decoded by the estimate; the largest distance of
        a display plate and the median of a tone-mapped one bracket the decision's
        threshold.
        """
        estimator = self.inference_model()
        rng = np.random.default_rng(12345)
        errors, kept, taken, display_d, tone_d = [], [], [], [], []
        for path in self._validation_files[:limit]:
            image = load_hdr(path, self.color)
            for _ in range(8):
                view = random_view(image, min(256, *image.shape[:2]), rng)
                family = draw_family(rng)
                pair = synthesize(view, self.color, rng, self.pipeline_for(family))
                estimate = estimator.inverse_at_knots(pair.sdr)
                truth = at_knots(pair.inverse_curve.astype(np.float64))
                weights = knot_weights(pair.sdr)
                error = np.abs(np.log2(estimate + CURVE_FLOOR) - np.log2(truth + CURVE_FLOOR))
                errors.append(float((error * weights).sum() / weights.sum()))
                decision = decide(estimate, pair.sdr, self.color)
                if family == DISPLAY_FAMILY:
                    kept.append(decision.inverse is None)
                    display_d.append(decision.distance)
                else:
                    taken.append(decision.inverse is not None)
                    tone_d.append(decision.distance)

        def mean(values: list) -> float:
            return float(np.mean(values)) if values else float("nan")

        return {
            "curve_stops": mean(errors),
            "display_kept": mean(kept),
            "tone_mapped_taken": mean(taken),
            "display_max_distance": float(np.max(display_d)) if display_d else float("nan"),
            "tone_mapped_median_distance": float(np.median(tone_d)) if tone_d else float("nan"),
        }

    def export(self, seconds: float):
        net = build_network(self.config)
        net.load_state_dict(self.net.state_dict())
        validation = [r["validation"] for r in self.history if "validation" in r]
        card = {
            "model": NAME,
            "architecture": self.config.architecture,
            "input": "display-encoded plate, code values in [0, 1]",
            "output": f"inverse camera curve (code -> display-linear) at {len(KNOTS)} code "
            "values (hdr_plugin.models.camera_curve.decision.KNOTS)",
            "training": {
                "data": f"{len(self._train_files)} HDR images, split by scene family "
                "(hdr_plugin/train/split.json)",
                "plates": f"{len(self._curves)} synthetic plates "
                f"({self.config.views_per_image} views per image), curve families "
                f"{', '.join(curve_families('train'))}; held out: "
                f"{', '.join(curve_families('test'))}",
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


#: What :func:`~hdr_plugin.train.trainer.make_trainer` builds for this family.
TRAINER = CameraCurveTrainer
