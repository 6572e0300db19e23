"""Calibrate ``auto``'s decision distance: it leaves the default decode only when sure.

    python scripts/calibrate_auto.py --data DATA [--views 8] [--weights FILE]

Estimates the inverse curve of plates and measures its distance from the nearest display
encoding (:func:`~hdr_plugin.models.camera_curve.decision.display_distance`). Plates come
from random 384 px views of the training and validation scenes (``--views`` per image):

- display deliveries (:mod:`hdr_plugin.train.display_set`): sRGB, gamma 2.2/2.4/2.6 and
  BT.1886 with a black level, 8-16-bit values in PNG, TIFF, DPX and half EXR, JPEG and
  video frames, 0.5-15 % clipped, noise. The threshold is their 98th percentile: at most
  2 % of them moves off the default decode;
- tone-mapped plates: random curves of the estimator's training families (the test
  split's held-out families, :data:`hdr_plugin.crf.TEST_FAMILIES`, are never drawn).

The same display deliveries of the test split's scenes are reported, never chosen by.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from hdr_plugin.color import ColorContext
from hdr_plugin.crf import DISPLAY_FAMILY, curve_families
from hdr_plugin.models.camera_curve import DISPLAY_DISTANCE, load_estimator
from hdr_plugin.models.camera_curve.decision import display_distance
from hdr_plugin.train.data import list_hdr_files, load_hdr, load_split, random_view
from hdr_plugin.train.degrade import Pipeline, synthesize
from hdr_plugin.train.display_set import CLIP_RANGE, display_plate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--weights", type=Path, help="default: the shipped estimator")
    parser.add_argument("--views", type=int, default=8, help="random views per image")
    parser.add_argument("--json", type=Path, help="also write every plate's distance here")
    args = parser.parse_args()

    color = ColorContext.resolve()
    estimator = load_estimator(color, args.weights)
    split = load_split(args.data)
    tone_families = [f for f in curve_families("train") if f != DISPLAY_FAMILY]
    rng = np.random.default_rng(2026)
    rows: list[dict] = []

    def distance(code: np.ndarray) -> float:
        return display_distance(estimator.inverse_at_knots(code), color)

    for part in ("train", "validation", "test"):
        for path in list_hdr_files(args.data, split[part]):
            image = load_hdr(path, color)
            for _ in range(args.views):
                view = random_view(image, min(384, *image.shape[:2]), rng)
                plate = display_plate(view, color, rng)
                rows.append({"part": part, "group": "display", "container": plate.container,
                             "curve": plate.curve, "distance": distance(plate.code)})  # fmt: skip
                if part != "test":
                    tone = Pipeline(family=str(rng.choice(tone_families)), clip_range=CLIP_RANGE)
                    code = synthesize(view, color, rng, tone).sdr
                    rows.append({"part": part, "group": "tone-mapped", "distance": distance(code)})

    def distances(part: str, group: str, **where) -> np.ndarray:
        return np.array([r["distance"] for r in rows if r["part"] in part.split("+")
                         and r["group"] == group
                         and all(r[k] == v for k, v in where.items())])  # fmt: skip

    display = distances("train+validation", "display")
    tone = distances("train+validation", "tone-mapped")
    unseen = distances("test", "display")
    threshold = float(np.quantile(display, 0.98))
    for name, values in (("display", display), ("tone-mapped", tone), ("display, test", unseen)):
        quantiles = np.quantile(values, [0.0, 0.5, 0.9, 0.99, 1.0])
        print(f"{name:14s} {len(values):4d} plates, distance min/median/90%/99%/max "
              + " / ".join(f"{q:.3f}" for q in quantiles))  # fmt: skip
    for value in sorted({threshold, DISPLAY_DISTANCE}):
        print(f"threshold {value:.3f}: display moved {np.mean(display >= value):.2%}, "
              f"test scenes' display moved {np.mean(unseen >= value):.2%}, "
              f"tone-mapped taken {np.mean(tone >= value):.2%}")  # fmt: skip
    for key in ("container", "curve"):
        names = sorted({r[key] for r in rows if r["group"] == "display"})
        moved = {n: distances("train+validation+test", "display", **{key: n}) for n in names}
        print(
            f"display moved at {threshold:.3f} by {key}: "
            + ", ".join(f"{n} {np.mean(d >= threshold):.1%}" for n, d in moved.items())
        )
    print(f"set DISPLAY_DISTANCE = {threshold:.3f} (98th percentile of the display deliveries)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=0))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
