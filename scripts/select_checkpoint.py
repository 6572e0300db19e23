"""Choose a run's weights on the *validation* split: each saved checkpoint, and their mean.

    python scripts/select_checkpoint.py --data DATA --model highlight-unet \
        --run runs/hu --checkpoints runs/hu_ckpts --average-last 4

``--checkpoints`` holds ``step_N.safetensors`` files (model weights only, copied from the
run's ``checkpoint.safetensors`` as it trains). Each is scored on the validation split
(never the test split) on the display cameras; the mean of the last ``--average-last``
checkpoints' weights (stochastic weight averaging, Izmailov et al. 2018) is scored too.
The best by mean clipped-region PU21-PSNR over the cameras replaces the run's final
``<model>.safetensors`` (its card is kept, with ``selected`` saying what was chosen).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from safetensors.torch import load_file, save_file

from hdr_plugin.models import BUNDLED_WEIGHTS, get_spec, read_card, write_card
from hdr_plugin.train.evaluate import evaluate

PIPELINES = ("srgb-2", "srgb-8", "gamma24")


def score(weights: Path, model: str, card: dict, data: str, limit: int | None) -> float:
    """Mean clipped PU21-PSNR over the display cameras, validation split."""
    spec = get_spec(model)
    with tempfile.TemporaryDirectory() as folder:
        for path in BUNDLED_WEIGHTS.iterdir():  # the other models, unchanged
            os.symlink(path, Path(folder) / path.name)
        target = Path(folder) / spec.weights
        target.unlink(missing_ok=True)
        shutil.copy(weights, target)
        target.with_suffix(".json").unlink(missing_ok=True)  # a symlink to the shipped card
        write_card(target, card)
        os.environ["HDR_PLUGIN_WEIGHTS"] = folder
        result = evaluate([model], data=data, pipelines=PIPELINES, split="validation", limit=limit)
    return float(np.mean([result[model][p]["pu21_psnr_clipped"] for p in PIPELINES]))


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
    scores = {}
    for name, path in candidates.items():
        scores[name] = score(path, args.model, card, args.data, args.limit)
        print(f"{name}: mean clipped PU21-PSNR on validation {scores[name]:.3f} dB", flush=True)
    best = max(scores, key=scores.get)
    dtype = next(iter(load_file(str(final)).values())).dtype
    chosen = {k: v.to(dtype).contiguous() for k, v in load_file(str(candidates[best])).items()}
    save_file(chosen, str(final))
    card["selected"] = {
        "by": "mean clipped-region PU21-PSNR on the validation split over " + ", ".join(PIPELINES),
        "choice": best,
        "scores": {k: round(v, 3) for k, v in scores.items()},
    }
    write_card(final, card)
    print(f"chose {best}; wrote {final}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
