"""Calibrate ``auto``'s decision threshold on the validation split (never the test split).

    python scripts/calibrate_auto.py --data DATA [--weights runs/cc/camera-curve.safetensors]

Scores P(tone-mapped) of the camera-curve classifier on validation plates: the evaluation
views and ``--views`` random 384 px views per image, each under the evaluation cameras and
under one random curve of the family. Display plates are the sRGB and gamma 2.4 cameras
and the family's display encodings close to sRGB; tone-mapped plates the filmic camera and
the tone-mapped curves far from sRGB
(:func:`~hdr_plugin.models.camera_curve.decision.tone_mapped_targets`).
Prints both distributions, the highest P of any display plate (the threshold must be
above it: decoding a display plate by a tone-mapped inverse costs 15-20 dB) and the share
of tone-mapped plates above it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hdr_plugin.color import ColorContext
from hdr_plugin.crf import curve_names
from hdr_plugin.models.camera_curve import TONE_MAPPED_CONFIDENCE, load_estimator
from hdr_plugin.models.camera_curve.decision import tone_mapped_targets
from hdr_plugin.train.camera_curve import draw_curve
from hdr_plugin.train.data import list_hdr_files, load_hdr, load_split, random_view
from hdr_plugin.train.degrade import EVALUATION_PIPELINES, Pipeline, synthesize
from hdr_plugin.train.evaluate import evaluation_views


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--weights", type=Path, help="default: the shipped estimator")
    parser.add_argument("--views", type=int, default=24, help="random views per image")
    args = parser.parse_args()

    color = ColorContext.resolve()
    estimator = load_estimator(color, args.weights)
    targets = tone_mapped_targets(color)
    names = curve_names()
    p = {"display (cameras)": [], "filmic camera": [], "display (family)": [], "tone (family)": []}
    rng = np.random.default_rng(2026)

    def score(group: str, view: np.ndarray, pipeline: Pipeline, seed) -> None:
        pair = synthesize(view, color, np.random.default_rng(seed), pipeline)
        p[group].append(estimator.probabilities(pair.sdr)[1])

    for index, path in enumerate(list_hdr_files(args.data, load_split(args.data)["validation"])):
        image = load_hdr(path, color)
        views = [(v, [index, n]) for n, v in enumerate(evaluation_views(image))]
        views += [
            (random_view(image, min(384, *image.shape[:2]), rng), [index, 1000 + n])
            for n in range(args.views)
        ]
        for view, seed in views:
            for name, pipeline in EVALUATION_PIPELINES.items():
                group = "filmic camera" if name == "filmic" else "display (cameras)"
                score(group, view, pipeline, seed)
            label = draw_curve(rng)
            if not np.isnan(targets[label]):
                group = "tone (family)" if targets[label] == 1.0 else "display (family)"
                pipeline = Pipeline(curve=names[label], clip_range=(0.005, 0.15))
                score(group, view, pipeline, [*seed, 1])
    display = np.array(p["display (cameras)"] + p["display (family)"])
    for group, values in p.items():
        values = np.array(values)
        quantiles = np.quantile(values, [0.0, 0.5, 0.9, 1.0])
        print(
            f"{group:18s} {len(values):4d} plates, P(tone-mapped) min/median/90%/max "
            + " / ".join(f"{q:.4f}" for q in quantiles)
            + f"; above the threshold {TONE_MAPPED_CONFIDENCE}: "
            f"{np.mean(values > TONE_MAPPED_CONFIDENCE):.2f}"
        )
    ceiling = float(display.max())
    halfway = (1 + ceiling) / 2
    print(f"highest P on a display plate: {ceiling:.4f}; threshold halfway to 1: {halfway:.4f}")
    for group in ("filmic camera", "tone (family)"):
        above = [np.mean(np.array(p[group]) > t) for t in (ceiling, halfway)]
        print(f"  {group} above the highest: {above[0]:.2f}, above halfway: {above[1]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
