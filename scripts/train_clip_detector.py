"""Train highlight-unet's clip detector and write it into the shipped weights.

    python scripts/train_clip_detector.py --data ../shared/data/hdr --out runs/detector \
        [--views 640] [--steps 3000] [--ship]

Plates: random views of the training split through the cameras of real deliveries
(``hdr_plugin.train.highlight_unet.DETECTOR_CODECS``: JPEG q60-95 4:2:0, H.264 and H.265
CRF 12-28 at 8 and 10 bits, ProRes 422 10-bit, lossless), decoded by their true curve.
The U-Net is not touched: the detector only says which channels clipped. Validation
views score the result. With ``--ship`` the detector replaces the one in
``hdr_plugin/weights/highlight-unet.safetensors`` and the card records this run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

from hdr_plugin.color import ColorContext
from hdr_plugin.models.engine.weights import BUNDLED_WEIGHTS, file_hash, read_card, save_weights
from hdr_plugin.models.highlight_unet.arch import HighlightUNet
from hdr_plugin.models.highlight_unet.clip import NEAR_CLIP, ClipDetector
from hdr_plugin.train.data import list_hdr_files, load_hdr, load_split, random_view
from hdr_plugin.train.highlight_unet import detector_sample, train_clip_detector

VIEW = 192


def _samples(job: tuple[str, list[str], int, int]) -> tuple[np.ndarray, np.ndarray]:
    data, names, seed, count = job
    torch.set_num_threads(1)
    color = ColorContext.resolve()
    images = [load_hdr(path, color) for path in list_hdr_files(data, names)]
    rng = np.random.default_rng(seed)
    plates, truths = [], []
    for _ in range(count):
        view = random_view(images[int(rng.integers(len(images)))], VIEW, rng)
        plate, truth = detector_sample(view, color, rng)
        plates.append(plate)
        truths.append(truth)
    return np.stack(plates), np.stack(truths)


def pool(data: str, names: list[str], seed: int, count: int, workers: int):
    jobs = [(data, names, seed * 1000 + w, count // workers) for w in range(workers)]
    with ProcessPoolExecutor(workers) as executor:
        parts = list(executor.map(_samples, jobs))
    return np.concatenate([p for p, _ in parts]), np.concatenate([t for _, t in parts])


@torch.no_grad()
def scores(detector: torch.nn.Module, plates: np.ndarray, truths: np.ndarray) -> dict:
    x = torch.from_numpy(plates).permute(0, 3, 1, 2)
    y = torch.from_numpy(truths).permute(0, 3, 1, 2) > 0.5
    p = torch.sigmoid(detector(x)) > 0.5
    near = x >= NEAR_CLIP
    below = near & (x < 0.999)
    return {
        "near_channels": int(near.sum()),
        "accuracy_near": round(float((p == y)[near].float().mean()), 4),
        "recall_below_top_code": round(float(p[below & y].float().mean()), 4),
        "false_alarm_below_top_code": round(float(p[below & ~y].float().mean()), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--views", type=int, default=640)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ship", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []

    def log(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    started = time.time()
    split = load_split(args.data)
    plates, truths = pool(args.data, split["train"], 1, args.views, args.workers)
    held = pool(args.data, split["validation"], 2, max(args.views // 5, args.workers), args.workers)
    log(f"pool: {len(plates)} training views, {len(held[0])} validation views of {VIEW} px, "
        f"{time.time() - started:.0f} s")  # fmt: skip
    torch.manual_seed(0)
    torch.set_num_threads(args.workers)
    detector = ClipDetector()
    train_clip_detector(detector, plates, truths, steps=args.steps, log=log)
    result = scores(detector.eval(), *held)
    log(f"validation: {json.dumps(result)}")
    seconds = time.time() - started
    log(f"{seconds:.0f} s in all")
    (out / "clip-detector.log").write_text("\n".join(lines) + "\n")
    torch.save(detector.state_dict(), out / "clip-detector.pt")
    if args.ship:
        ship(detector, result, seconds, " ".join(sys.argv), out / "clip-detector.log")


def ship(detector: ClipDetector, result: dict, seconds: float, command: str, log: Path) -> None:
    """Put ``detector`` into the shipped highlight-unet weights, its U-Net unchanged."""
    from safetensors.torch import load_file

    path = BUNDLED_WEIGHTS / "highlight-unet.safetensors"
    card = read_card(path)
    state = load_file(path)
    net = HighlightUNet(**card["architecture"])
    unet = {k: v.float() for k, v in state.items() if not k.startswith("detector.")}
    missing, unexpected = net.load_state_dict(unet, strict=False)
    assert not unexpected and all(k.startswith("detector.") for k in missing), missing
    net.detector.load_state_dict(detector.state_dict())
    card["clip_detector"] = {
        "command": command,
        "data": f"{VIEW} px random views of the training split through the cameras of "
        "hdr_plugin.train.highlight_unet.DETECTOR_CODECS; validation-split views score it",
        "seconds": round(seconds),
        "device": "cpu (2 cores)",
        "log": "highlight-unet.detector.log",
        "validation": result,
    }
    card.pop("weights_hash", None)
    save_weights(net.to(next(iter(state.values())).dtype), path, card)
    (BUNDLED_WEIGHTS / "highlight-unet.detector.log").write_text(log.read_text())
    print(f"shipped: {path} ({file_hash(path)})")


if __name__ == "__main__":
    main()
