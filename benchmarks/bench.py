"""What a frame costs, per model, at 1080p and 4K: one table (``make bench``).

For every model that can render (analytic operators, learned models with their shipped
weights) and each frame size, a fresh process renders a short 8-bit sRGB PNG sequence
(made from the bundled sample plates by OIIO resize) through the code path of
``hdr-plugin render`` and reports seconds per frame split into read / colour / model /
write, frames per minute and the process's peak resident memory. After a warm-up frame
the timed frames run back to back. The render reads the next frame and writes the
previous one while it reconstructs the current one, so each stage column is that stage's
own time (summed in its thread, slowed by sharing the cores) and ``total`` (wall time per
frame, including the last write that nothing overlaps) is less than their sum.

Two ratios come from the same run:

* ``engine x``: plain eager inference (the shipped network, fp32, NCHW, whole frame, no
  tiling, ``torch.no_grad``) divided by our engine's time for the same network call
  (:meth:`TorchModel.run_tensor`); eager runs in its own process so that its memory is
  its own. Learned models only.
* ``total/model``: end-to-end frame time over the model stage's time (the overhead of
  I/O and colour management).

Models with whole-frame parts hold their statistics once per shot (one pass on the
middle frame, so that a shot cannot flicker); that set-up is its own column, not part of
the per-frame cost.

CUDA is used when present (then memory also lists peak GPU allocation). Results are
saved as JSON.

Usage: python benchmarks/bench.py [--models a,b] [--sizes 1080p,4K] [--frames 6]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "plates"
SIZES = {"1080p": (1920, 1080), "4K": (3840, 2160)}


def make_plates(folder: Path, size: str, count: int) -> str:
    """``count`` 8-bit sRGB PNG frames of ``size`` from the sample plates; returns the pattern."""
    import OpenImageIO as oiio

    width, height = SIZES[size]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        source = oiio.ImageBuf(str(SAMPLES / f"pan.{1001 + i % 24:04d}.png"))
        big = oiio.ImageBufAlgo.resize(source, roi=oiio.ROI(0, width, 0, height, 0, 1, 0, 3))
        big.set_write_format(oiio.UINT8)
        big.write(str(folder / f"plate.{1001 + i:04d}.png"))
    return str(folder / "plate.####.png")


def _peak() -> dict[str, float]:
    peak = {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    import torch

    if torch.cuda.is_available():
        peak["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return peak


def _first_frame_tensor(pattern: str, node):
    """The first plate frame as the node's model sees it: (1, 3, H, W) code values."""
    import torch

    from hdr_plugin.io import read_image

    image = read_image(pattern.replace("####", "1001"))
    source = node.resolve_input_colorspace(image.colorspace)
    encoded = node.color.convert(image.rgb, source, node.spec.input_encoding).clip(0, 1)
    return torch.from_numpy(encoded).permute(2, 0, 1)[None].contiguous()


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def run_engine(model: str, pattern: str, out: Path, frames: int) -> dict:
    """End-to-end render of ``frames`` frames (after one warm-up frame) with our engine."""
    from hdr_plugin.node import ReconstructNode, ReconstructSettings
    from hdr_plugin.render import RenderJob, render

    node = ReconstructNode(ReconstructSettings(model=model))
    render(RenderJob(pattern, str(out / "warm.####.exr"), frames="1001"), node, progress=False)
    node.timings.clear()
    first, last = 1002, 1001 + frames
    start = time.perf_counter()
    result = render(
        RenderJob(pattern, str(out / "hdr.####.exr"), frames=f"{first}-{last}"),
        node,
        progress=False,
    )
    wall = time.perf_counter() - start
    row = {k: v / frames for k, v in result.timings.items()}
    # Once per shot, a render holds the model's whole-frame statistics (one pass on the
    # middle frame); it is timed on its own and left out of the per-frame cost.
    row["shot_setup"] = 0.0
    if node.holds_statistics:
        from hdr_plugin.io import read_image

        setup = time.perf_counter()
        node.hold_statistics(read_image(pattern.replace("####", "1002")).rgb)
        row["shot_setup"] = time.perf_counter() - setup
    row["total"] = (wall - row["shot_setup"]) / frames
    run_tensor = getattr(node.model, "run_tensor", None)
    if run_tensor is not None:
        x = _first_frame_tensor(pattern, node)
        _sync()
        start = time.perf_counter()
        run_tensor(x)
        _sync()
        row["network"] = time.perf_counter() - start
        row["device"] = str(node.model.device)
    return row | _peak()


def run_eager(model: str, pattern: str) -> dict:
    """Plain eager inference of the shipped network: fp32, NCHW, whole frame, no_grad."""

    import torch

    from hdr_plugin.inference import pad_to_multiple, select_device
    from hdr_plugin.models import architecture, get_spec
    from hdr_plugin.models.engine.torch_model import load_network
    from hdr_plugin.node import ReconstructNode, ReconstructSettings

    net, _ = load_network(get_spec(model), architecture(model))
    device = select_device()
    net = net.float().to(device)
    node = ReconstructNode(ReconstructSettings(model=model, model_options={"device": "cpu"}))
    x = _first_frame_tensor(pattern, node).to(device)
    del node
    with torch.no_grad():
        net(pad_to_multiple(x, net.tile_multiple)[0])  # warm-up at full size, as the engine's
        _sync()
        start = time.perf_counter()
        net(pad_to_multiple(x, net.tile_multiple)[0])
        _sync()
    return {"network": time.perf_counter() - start, "device": str(device)} | _peak()


def measure(args: list[str], timeout: int) -> dict:
    """Run one worker in a fresh process; its last stdout line is the JSON result."""
    command = [sys.executable, __file__, "--worker", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout > {timeout} s"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:120]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fmt(value: float | None, spec: str, width: int) -> str:
    return (format(value, spec) if value is not None else "-").rjust(width)


def print_table(rows: list[dict], header: str) -> None:
    print(header)
    columns = ("read", "colour", "model", "write", "total")
    print(
        f"{'model':<18}{'size':>6}"
        + "".join(f"{c:>8}" for c in columns)
        + f"{'fpm':>7}{'setup':>7}{'peak MB':>9}{'GPU MB':>8}"
        + f"{'eager s':>9}{'engine s':>9}{'engine x':>9}{'tot/mod':>8}"
    )
    for r in rows:
        e = r["engine"]
        if "error" in e:
            print(f"{r['model']:<18}{r['size']:>6}  error: {e['error']}")
            continue
        eager = r.get("eager", {})
        speedup = eager["network"] / e["network"] if "network" in eager else None
        print(
            f"{r['model']:<18}{r['size']:>6}"
            + "".join(_fmt(e.get(c, 0.0), ".3f", 8) for c in columns)
            + _fmt(60 / e["total"], ".1f", 7)
            + _fmt(e.get("shot_setup"), ".2f", 7)
            + _fmt(e["peak_rss_mb"], ".0f", 9)
            + _fmt(e.get("peak_gpu_mb"), ".0f", 8)
            + _fmt(eager.get("network"), ".3f", 9)
            + _fmt(e.get("network"), ".3f", 9)
            + _fmt(speedup, ".2f", 9)
            + _fmt(e["total"] / e["model"], ".2f", 8)
        )
        if "error" in eager:
            print(f"{'':<24}eager: {eager['error']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--models", help="comma-separated (default: every model that can render)")
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--frames", type=int, default=6, help="timed frames per run")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per run")
    parser.add_argument("--json", type=Path, default=ROOT / "bench_results" / "bench.json")
    args = parser.parse_args()
    if args.worker:
        kind, model, pattern, *rest = args.worker
        if kind == "engine":
            result = run_engine(model, pattern, Path(rest[0]), int(rest[1]))
        else:
            result = run_eager(model, pattern)
        print(json.dumps(result))
        return 0

    import torch

    from hdr_plugin.models import DEFAULT_MODEL, has_weights, list_models, network_models

    specs = [s for s in list_models() if has_weights(s)]
    if args.models:
        wanted = args.models.split(",")
        specs = [s for s in specs if s.name in wanted]
    where = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    header = (
        f"{where}; {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}); "
        f"torch {torch.__version__}; {args.frames} timed frames after a warm-up; seconds per "
        "frame (stages overlap: total = wall time, less than their sum); fpm = frames/minute; "
        "setup = once per shot (held statistics), seconds; "
        "peak MB = peak resident memory of the render process "
        "(GPU MB: its peak CUDA allocation); "
        f"engine x = eager s / engine s (network only); tot/mod = total / model stage; "
        f"default model: {DEFAULT_MODEL}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            pattern = make_plates(Path(tmp) / size, size, args.frames + 1)
            for spec in specs:
                out = Path(tmp) / "out" / size / spec.name
                row = {"model": spec.name, "kind": spec.kind, "size": size}
                engine = ["engine", spec.name, pattern, str(out), str(args.frames)]
                row["engine"] = measure(engine, args.timeout)
                if spec.name in network_models():
                    row["eager"] = measure(["eager", spec.name, pattern], args.timeout)
                rows.append(row)
                print(f"measured {spec.name} at {size}", file=sys.stderr, flush=True)
    print_table(rows, header)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"header": header, "rows": rows}, indent=2))
    print(f"saved {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
