"""Learned models at their default (full) sizes: parameters, GMACs, speed and memory.

For each model: parameters; GMACs of one 1080p frame (convolutions and linear layers,
counted with forward hooks); seconds per 1080p frame; peak resident memory of a 4K
frame. Each timing runs in its own process (so peak memory is that run's), once as plain
eager whole-frame NCHW fp32 inference and once through our engine (TorchModel:
channels_last, inference_mode, tiles above the memory budget with whole-frame statistics
from a downscaled frame). Weights are random: this measures cost, not quality.

Usage: python benchmarks/bench_models.py [--models unet-native,...] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURES = {
    "unet-native": ("hdr_plugin.models.unet_arch", "UNetNative"),
    "hybrid-mnv3": ("hdr_plugin.models.hybrid_arch", "HybridMNV3"),
    "singlehdr": ("hdr_plugin.models.singlehdr_arch", "SingleHDR"),
    "layered": ("hdr_plugin.models.layered_arch", "Layered"),
}
SIZES = {"1080p": (1080, 1920), "4K": (2160, 3840)}


def build(name: str) -> nn.Module:
    module, cls = ARCHITECTURES[name]
    torch.manual_seed(0)
    return getattr(__import__(module, fromlist=[cls]), cls)().eval()


def gmacs_1080p(net: nn.Module) -> float:
    """Multiply-accumulates of one 1080p frame, from a quarter-size pass scaled by 16."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            total += output.numel() * module.in_channels // module.groups * k
        elif isinstance(module, nn.Linear):
            total += output.numel() * module.in_features

    handles = [
        m.register_forward_hook(hook)
        for m in net.modules()
        if isinstance(m, (nn.Conv2d, nn.Linear))
    ]
    with torch.inference_mode():
        net(torch.rand(1, 3, 288, 480))  # 1080p / 4, padded to every model's multiple
    for handle in handles:
        handle.remove()
    return total * (1080 * 1920) / (288 * 480) / 1e9


def worker(name: str, size: str, mode: str) -> dict:
    """One timed run in this process; returns seconds and peak memory (GPU memory on CUDA)."""
    from hdr_plugin.inference import pad_to_multiple, select_device

    torch.set_num_threads(os.cpu_count() or 1)
    device = select_device()
    height, width = SIZES[size]
    net = build(name)
    frame = torch.rand(1, 3, height, width)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    if mode == "eager":
        net = net.to(device)
        frame = frame.to(device)
        with torch.no_grad():
            padded, _ = pad_to_multiple(frame, net.tile_multiple)
            net(padded if device.type == "cuda" else padded[..., :64, :64])  # warm-up
            sync()
            start = time.perf_counter()
            padded, _ = pad_to_multiple(frame, net.tile_multiple)
            net(padded)
            sync()
    else:
        from hdr_plugin.color import ColorContext
        from hdr_plugin.models import get_spec
        from hdr_plugin.models._torch import TorchModel

        spec = get_spec(name)
        model = TorchModel(spec, ColorContext.resolve(), net, weights_hash=None)
        model.run_tensor(frame if device.type == "cuda" else frame[..., :64, :64])  # warm-up
        sync()
        start = time.perf_counter()
        model.run_tensor(frame)
        sync()
    seconds = time.perf_counter() - start
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_mb": peak, "device": str(device)}


def measure(name: str, size: str, mode: str, timeout: int) -> dict:
    command = [sys.executable, __file__, "--worker", name, size, mode]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout > {timeout} s"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:80]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=3, metavar=("MODEL", "SIZE", "MODE"))
    parser.add_argument("--models", default=",".join(ARCHITECTURES))
    parser.add_argument("--timeout", type=int, default=900)
    parser.add_argument("--json", type=Path, default=ROOT / "bench_results" / "models.json")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return 0

    rows = []
    for name in args.models.split(","):
        net = build(name)
        row = {
            "model": name,
            "params_m": sum(p.numel() for p in net.parameters()) / 1e6,
            "gmacs_1080p": gmacs_1080p(net),
        }
        for size in SIZES:
            for mode in ("eager", "engine"):
                row[f"{size}_{mode}"] = measure(name, size, mode, args.timeout)
        rows.append(row)
        print(f"measured {name}", file=sys.stderr, flush=True)

    def cell(result: dict, key: str, fmt: str) -> str:
        return format(result[key], fmt) if key in result else result.get("error", "?")[:10]

    where = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    print(
        f"{where}, {os.cpu_count()} cores, torch {torch.__version__}, random weights; eager = "
        "fp32 NCHW whole frame; engine = channels_last, bf16 autocast on GPU, tiles above "
        "2.1 MP on CPU (GPU: above free memory / 2 kB); warm-up at full size on GPU; "
        "memory = peak RSS on CPU, peak allocated on GPU"
    )
    print(
        f"{'model':<13}{'params M':>9}{'GMACs':>8}{'1080p s eager':>13}{'engine':>8}"
        f"{'4K s eager':>12}{'engine':>8}{'4K MB eager':>13}{'engine':>8}"
    )
    columns = [
        ("1080p_eager", "seconds", "13.3f"),
        ("1080p_engine", "seconds", "8.3f"),
        ("4K_eager", "seconds", "12.3f"),
        ("4K_engine", "seconds", "8.3f"),
        ("4K_eager", "peak_mb", "13.0f"),
        ("4K_engine", "peak_mb", "8.0f"),
    ]
    for r in rows:
        cells = "".join(
            cell(r[key], field, fmt).rjust(int(fmt.split(".")[0])) for key, field, fmt in columns
        )
        print(f"{r['model']:<13}{r['params_m']:9.2f}{r['gmacs_1080p']:8.0f}{cells}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2))
    print(f"saved {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
