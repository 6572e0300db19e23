"""Choose a run's weights on the *validation* split: each saved checkpoint, and their mean.

    python scripts/select_checkpoint.py --data DATA --model highlight-unet \
        --run runs/hu --checkpoints runs/hu_ckpts --average-last 4

``--checkpoints`` holds ``step_N.safetensors`` files (model weights only, copied from the
run's ``checkpoint.safetensors`` as it trains). Each is scored on the validation split
(never the test split) on the display cameras; the mean of the last ``--average-last``
checkpoints' weights (stochastic weight averaging, Izmailov et al. 2018) is scored too.
Each must also keep the bundled sample shot (a 24-frame pan) stable, as
``tests/test_batch.py`` checks the shipped weights: clipped pixels change by at most
0.01 stops a frame after undoing the pan, and mean luminance flickers by less than 0.005.
The best stable candidate by mean clipped-region PU21-PSNR over the cameras replaces the
run's final ``<model>.safetensors`` (its card is kept, with ``selected`` saying what was
chosen and why).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from hdr_plugin.color import ColorContext
from hdr_plugin.io import read_image
from hdr_plugin.models import BUNDLED_WEIGHTS, get_spec, read_card, write_card
from hdr_plugin.train.evaluate import evaluate, held_shot
from hdr_plugin.train.metrics import flicker, shot_stability

PIPELINES = ("srgb-2", "srgb-8", "gamma24")
SAMPLE_SHOT = [
    Path(__file__).resolve().parents[1] / f"samples/plates/pan.{f}.png" for f in range(1001, 1025)
]
#: tests/test_batch.py's limits for the sample shot: stops a frame, log mean luminance.
STABILITY_LIMIT, FLICKER_LIMIT = 0.01, 0.005


@contextmanager
def installed(weights: Path, model: str, card: dict, dtype: torch.dtype) -> Iterator[None]:
    """``weights`` in ``dtype`` (as they would ship) as the model's bundled weights."""
    spec = get_spec(model)
    previous = os.environ.get("HDR_PLUGIN_WEIGHTS")
    with tempfile.TemporaryDirectory() as folder:
        for path in BUNDLED_WEIGHTS.iterdir():
            os.symlink(path, Path(folder) / path.name)
        target = Path(folder) / spec.weights
        target.unlink(missing_ok=True)
        tensors = {k: v.to(dtype).contiguous() for k, v in load_file(str(weights)).items()}
        save_file(tensors, str(target))
        target.with_suffix(".json").unlink(missing_ok=True)  # a symlink to the shipped card
        write_card(target, card)
        os.environ["HDR_PLUGIN_WEIGHTS"] = folder
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("HDR_PLUGIN_WEIGHTS", None)
            else:
                os.environ["HDR_PLUGIN_WEIGHTS"] = previous


def score(model: str, data: str, limit: int | None) -> float:
    """Mean clipped PU21-PSNR over the display cameras, validation split."""
    result = evaluate([model], data=data, pipelines=PIPELINES, split="validation", limit=limit)
    return float(np.mean([result[model][p]["pu21_psnr_clipped"] for p in PIPELINES]))


def shot_checks(model: str) -> tuple[float, float]:
    """(stability in stops, flicker) of ``model`` on the sample shot, statistics held."""
    color = ColorContext.resolve()
    frames = [read_image(path).rgb for path in SAMPLE_SHOT]
    outputs = held_shot(frames, color, model, {"device": "cpu", "precision": "float32"})
    return shot_stability(frames, outputs), flicker(outputs, held_shot(frames, color, "linear"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--run", type=Path, required=True, help="the run folder")
    parser.add_argument("--checkpoints", type=Path, required=True)
    parser.add_argument("--average-last", type=int, default=4)
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    spec = get_spec(args.model)
    final = args.run / spec.weights
    card = read_card(final)
    steps = sorted(args.checkpoints.glob("step_*.safetensors"), key=lambda p: int(p.stem[5:]))
    candidates = {p.stem: p for p in steps}
    if len(steps) >= 2:
        last = steps[-args.average_last :]
        tensors = [load_file(str(p)) for p in last]
        mean = {k: sum(t[k].float() for t in tensors) / len(tensors) for k in tensors[0]}
        averaged = args.checkpoints / f"mean_of_{last[0].stem}_to_{last[-1].stem}.safetensors"
        save_file({k: v.contiguous() for k, v in mean.items()}, str(averaged))
        candidates[averaged.stem] = averaged
    dtype = next(iter(load_file(str(final)).values())).dtype
    scores, checks = {}, {}
    for name, path in candidates.items():
        with installed(path, args.model, card, dtype):
            scores[name] = score(args.model, args.data, args.limit)
            checks[name] = shot_checks(args.model)
        stability, change = checks[name]
        print(
            f"{name}: mean clipped PU21-PSNR on validation {scores[name]:.3f} dB; sample "
            f"shot stability {stability:.4f} stops, flicker {change:.4f}",
            flush=True,
        )
    stable = [n for n, (a, b) in checks.items() if a <= STABILITY_LIMIT and b < FLICKER_LIMIT]
    if not stable:
        raise SystemExit("no candidate keeps the sample shot stable; nothing chosen")
    best = max(stable, key=scores.get)
    chosen = {k: v.to(dtype).contiguous() for k, v in load_file(str(candidates[best])).items()}
    save_file(chosen, str(final))
    card["selected"] = {
        "by": "mean clipped-region PU21-PSNR on the validation split over "
        + ", ".join(PIPELINES)
        + f", among the candidates that keep the sample shot stable (at most "
        f"{STABILITY_LIMIT} stops a frame, flicker under {FLICKER_LIMIT})",
        "choice": best,
        "scores": {k: round(v, 3) for k, v in scores.items()},
        "sample_shot_stability_and_flicker": {
            k: [round(a, 4), round(b, 4)] for k, (a, b) in checks.items()
        },
    }
    write_card(final, card)
    print(f"chose {best}; wrote {final}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
