"""Train highlight-unet's clip detector and write it into the shipped weights.

    python scripts/train_clip_detector.py --data ../shared/data/hdr --out runs/detector \
        [--views 640] [--steps 3000] [--tune-steps 0] [--init DETECTOR.pt] [--ship]

Plates: random views of the training split through the cameras of real deliveries
(``hdr_plugin.train.highlight_unet.DETECTOR_CODECS``: JPEG q60-95 4:2:0, H.264 and H.265
CRF 12-28 at 8 and 10 bits, ProRes 422 10-bit, lossless), decoded by their true curve.
The U-Net is not touched: the detector only says which channels clipped. ``--steps``
train a new detector by cross-entropy (or continue ``--init``); ``--tune-steps`` then tune
it through the frozen U-Net on the reconstruction loss of compressed plates (without
``--steps``, starting from the shipped detector). Validation views score the result.
With ``--ship`` the detector replaces the one in
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
from safetensors.torch import load_file

from hdr_plugin.color import ColorContext
from hdr_plugin.models import create_model
from hdr_plugin.models.engine.weights import BUNDLED_WEIGHTS, file_hash, read_card, save_weights
from hdr_plugin.models.highlight_unet.arch import HighlightUNet
from hdr_plugin.models.highlight_unet.clip import CLIP_LINEAR, NEAR_CLIP, ClipDetector
from hdr_plugin.train.data import list_hdr_files, load_hdr, load_split, random_view
from hdr_plugin.train.highlight_unet import (
    detector_sample,
    rec2020_matrix,
    to_rec2020,
    train_clip_detector,
    tune_clip_detector,
)
from hdr_plugin.train.losses import pu21

VIEW = 192


def _samples(job: tuple[str, list[str], int, int]) -> list[np.ndarray]:
    data, names, seed, count = job
    torch.set_num_threads(1)
    color = ColorContext.resolve()
    images = [load_hdr(path, color) for path in list_hdr_files(data, names)]
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(count):
        view = random_view(images[int(rng.integers(len(images)))], VIEW, rng)
        samples.append(detector_sample(view, color, rng))
    return [np.stack(field) for field in zip(*samples, strict=True)]


def pool(data: str, names: list[str], seed: int, count: int, workers: int) -> list[np.ndarray]:
    """[plates, truths, hdrs, compressed] of ``count`` views (see ``DetectorSample``)."""
    jobs = [(data, names, seed * 1000 + w, count // workers) for w in range(workers)]
    with ProcessPoolExecutor(workers) as executor:
        parts = list(executor.map(_samples, jobs))
    return [np.concatenate(field) for field in zip(*parts, strict=True)]


@torch.no_grad()
def scores(detector: torch.nn.Module, plates: np.ndarray, truths: np.ndarray, *_) -> dict:
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


@torch.no_grad()
def reconstruction_gain(net: HighlightUNet, held: list[np.ndarray], matrix: np.ndarray) -> float:
    """Mean PU21-PSNR gain (dB) of ``net`` over the plate on the held compressed views.

    Over the pixels that clipped in the scene or are near the clip on the plate;
    ``matrix`` is ``rec2020_matrix``'s.
    """
    plates, truths, hdrs = (a[held[3]] for a in held[:3])
    rec2020 = torch.from_numpy(matrix)
    gains = []
    for plate, truth, hdr in zip(plates, truths, hdrs, strict=True):
        x = torch.from_numpy(plate).permute(2, 0, 1)[None]
        region = (truth.max(axis=2) > 0.5) | (plate >= NEAR_CLIP).any(axis=2)
        if not region.any():
            continue
        target = pu21(torch.from_numpy(hdr).permute(2, 0, 1)[None])
        errors = []
        probability = net.clip_probability(x, x >= CLIP_LINEAR, torch.ones(1, dtype=torch.bool))
        for image in (x, net.expand(x, probability)):
            error = (pu21(to_rec2020(image, rec2020)) - target).pow(2).mean(dim=1)[0].numpy()
            errors.append(float(error[region].mean()))
        gains.append(10 * np.log10(errors[0] / errors[1]))
    return round(float(np.mean(gains)), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--views", type=int, default=640)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--init", help="start from this detector state (a clip-detector.pt)")
    parser.add_argument(
        "--tune-steps",
        type=int,
        default=0,
        help="then steps through the frozen U-Net on the reconstruction loss",
    )
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
    plates, truths, hdrs, compressed = pool(args.data, split["train"], 1, args.views, args.workers)
    held = pool(args.data, split["validation"], 2, max(args.views // 5, args.workers), args.workers)
    log(f"pool: {len(plates)} training views, {len(held[0])} validation views of {VIEW} px, "
        f"{time.time() - started:.0f} s")  # fmt: skip
    torch.manual_seed(0)
    torch.set_num_threads(args.workers)
    color = ColorContext.resolve()
    net = create_model("highlight-unet", color, {"device": "cpu", "precision": "float32"}).net
    if args.init:
        net.detector.load_state_dict(torch.load(args.init))
    elif args.steps:  # cross-entropy trains a new detector; tuning alone, the shipped one
        torch.manual_seed(0)
        net.detector = ClipDetector()
    detector = net.detector
    matrix = rec2020_matrix(color)
    if args.steps:
        train_clip_detector(detector, plates, truths, steps=args.steps, log=log)
    log(f"validation reconstruction gain: {reconstruction_gain(net, held, matrix)} dB")
    if args.tune_steps:
        tune_clip_detector(
            net, plates[compressed], truths[compressed], hdrs[compressed], matrix,
            steps=args.tune_steps, log=log,
        )  # fmt: skip
        log(f"validation reconstruction gain: {reconstruction_gain(net, held, matrix)} dB")
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
