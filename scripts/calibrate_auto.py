"""Calibrate ``auto``'s decision distance on the validation split (never the test split).

    python scripts/calibrate_auto.py --data DATA [--weights runs/cc/camera-curve.safetensors]

Estimates the inverse curve of validation plates (the evaluation views and ``--views``
random 384 px views per image) and measures its distance from the nearest display encoding
(:func:`~hdr_plugin.models.camera_curve.decision.display_distance`). Display plates: the
evaluation's display cameras (sRGB 2 % and 8 %, 10-bit gamma 2.4) and random display
encodings; tone-mapped plates: random curves of the training families. The test split's
held-out families (:data:`hdr_plugin.crf.TEST_FAMILIES`) are never drawn here.

Prints both distributions, the largest distance of any display plate (the threshold must
be above it: a display plate decoded by a tone-mapped estimate loses many dB below the
clip) and the share of tone-mapped plates beyond candidate thresholds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hdr_plugin.color import ColorContext
from hdr_plugin.crf import DISPLAY_FAMILY, curve_families
from hdr_plugin.models.camera_curve import DISPLAY_DISTANCE, load_estimator
from hdr_plugin.models.camera_curve.decision import display_distance
from hdr_plugin.train.data import (
    evaluation_views,
    list_hdr_files,
    load_hdr,
    load_split,
    random_view,
)
from hdr_plugin.train.degrade import CAMERA_FAMILIES, EVALUATION_PIPELINES, Pipeline, synthesize


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--weights", type=Path, help="default: the shipped estimator")
    parser.add_argument("--views", type=int, default=8, help="random views per image")
    args = parser.parse_args()

    color = ColorContext.resolve()
    estimator = load_estimator(color, args.weights)
    groups = ("display cameras", "display family", "tone-mapped")
    distances: dict[str, list[float]] = {group: [] for group in groups}
    rng = np.random.default_rng(2026)
    tone_families = [f for f in curve_families("train") if f != DISPLAY_FAMILY]
    random_clip = (0.005, 0.15)

    def measure(group: str, view: np.ndarray, pipeline: Pipeline, seed) -> None:
        pair = synthesize(view, color, np.random.default_rng(seed), pipeline)
        distances[group].append(display_distance(estimator.inverse_at_knots(pair.sdr), color))

    for index, path in enumerate(list_hdr_files(args.data, load_split(args.data)["validation"])):
        image = load_hdr(path, color)
        views = [(v, [index, n]) for n, v in enumerate(evaluation_views(image))]
        views += [
            (random_view(image, min(384, *image.shape[:2]), rng), [index, 1000 + n])
            for n in range(args.views)
        ]
        for view, seed in views:
            for name, pipeline in EVALUATION_PIPELINES.items():
                if CAMERA_FAMILIES[name] == DISPLAY_FAMILY:
                    measure("display cameras", view, pipeline, seed)
            display = Pipeline(family=DISPLAY_FAMILY, clip_range=random_clip)
            measure("display family", view, display, [*seed, 1])
            tone = Pipeline(family=str(rng.choice(tone_families)), clip_range=random_clip)
            measure("tone-mapped", view, tone, [*seed, 2])
    values = {group: np.array(distances[group]) for group in groups}
    for group in groups:
        quantiles = np.quantile(values[group], [0.0, 0.1, 0.5, 0.9, 1.0])
        print(
            f"{group:16s} {len(values[group]):4d} plates, distance min/10%/median/90%/max "
            + " / ".join(f"{q:.3f}" for q in quantiles)
        )
    # The cameras are the display plates OCIO decodes exactly (sRGB, BT.1886): none may be
    # taken for tone-mapped. The family's random gammas (1.6-2.8) are reported, not bound.
    ceiling = float(values["display cameras"].max())
    for threshold in sorted({ceiling * 1.05, ceiling * 1.2, DISPLAY_DISTANCE}):
        print(
            f"  threshold {threshold:.3f}: "
            + ", ".join(
                f"{group} {'taken' if group == 'tone-mapped' else 'kept'} "
                f"{np.mean((values[group] >= threshold) == (group == 'tone-mapped')):.3f}"
                for group in groups
            )
        )
    print(f"largest distance of a display camera {ceiling:.3f}: set DISPLAY_DISTANCE above it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
