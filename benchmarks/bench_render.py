"""End-to-end frame cost of the analytic operators at 1080p (read + colour + model + write).

Makes a 1080p 8-bit sRGB PNG sequence from the bundled sample plates (OIIO resize),
renders it with each model through the same code path as ``hdr-plugin render``, and
prints seconds per frame split by stage. Results are also written as JSON.

Usage: python benchmarks/bench_render.py [--frames 8] [--json bench_results/render.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import OpenImageIO as oiio

from hdr_plugin.color import ColorContext
from hdr_plugin.models import list_models
from hdr_plugin.node import ReconstructNode, ReconstructSettings
from hdr_plugin.render import RenderJob, render

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "plates"


def make_1080p_plates(folder: Path, count: int) -> str:
    for i in range(count):
        source = oiio.ImageBuf(str(SAMPLES / f"pan.{1001 + i % 24:04d}.png"))
        big = oiio.ImageBufAlgo.resize(source, roi=oiio.ROI(0, 1920, 0, 1080, 0, 1, 0, 3))
        big.set_write_format(oiio.UINT8)
        big.write(str(folder / f"plate.{1001 + i:04d}.png"))
    return str(folder / "plate.####.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--json", type=Path, default=ROOT / "bench_results" / "render.json")
    args = parser.parse_args()

    color = ColorContext.resolve()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        pattern = make_1080p_plates(tmp_path, args.frames)
        for spec in list_models():
            if spec.kind != "analytic":
                continue
            node = ReconstructNode(ReconstructSettings(model=spec.name), color)
            job = RenderJob(pattern, str(tmp_path / spec.name / "hdr.####.exr"))
            render(job, node, progress=False)  # warm-up: processors, caches, page faults
            node.timings.clear()
            start = time.perf_counter()
            result = render(job, node, progress=False)
            total = (time.perf_counter() - start) / args.frames
            per_frame = {k: v / args.frames for k, v in result.timings.items()}
            rows.append({"name": spec.name, "total": total, **per_frame})

    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stages = ("read", "colour", "model", "write", "total")
    print(f"1080p, {args.frames} frames, {os.cpu_count()} CPUs, {platform.machine()}")
    print(f"{'model':<18}" + "".join(f"{s:>8}" for s in stages) + f"{'fpm':>7}")
    for row in rows:
        cells = "".join(f"{row.get(s, 0.0):8.3f}" for s in stages)
        print(f"{row['name']:<18}{cells}{60 / row['total']:7.0f}")
    print(f"peak resident memory: {peak_rss_mb:.0f} MB (seconds per frame; fpm = frames/minute)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"frames": args.frames, "rows": rows}, indent=2))
    print(f"saved {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
