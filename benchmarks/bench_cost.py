"""What reconstruction costs over a plain conversion: two CPU-time ratios (``make bench``).

On 8 frames of 1080p 8-bit sRGB PNG (made from the bundled sample plates by OIIO resize),
in fresh processes, CPU time (user + system, every thread) of:

* ``oiiotool --colorconvert srgb lin_rec2020`` writing half-float zip EXRs: the cost of
  converting the plates and nothing more;
* ``hdr-plugin render`` with the default model, writing the same EXRs;
* the same render with ``--input-colorspace auto`` (one camera-curve estimate per shot).

It prints the default's CPU time over oiiotool's (target: at most 1.5) and what ``auto``
adds per shot (target: at most 1 s). Each command runs ``--repeat`` times, in turns (so that
a slow spell of a shared machine hits all three alike); the lowest CPU time counts, as the
least disturbed by other work on the machine.

Usage: python benchmarks/bench_cost.py [--frames 8] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import make_plates

BIN = Path(sys.executable).parent


def cpu_seconds(command: list[str]) -> float:
    """User + system CPU time of ``command`` and its threads (it must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def best(commands: dict[str, list[str]], repeat: int) -> dict[str, float]:
    """Lowest CPU time of each command over ``repeat`` rounds, the commands taking turns."""
    times: dict[str, float] = {}
    for _ in range(repeat):
        for name, command in commands.items():
            times[name] = min(times.get(name, float("inf")), cpu_seconds(command))
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    oiiotool = shutil.which("oiiotool", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if oiiotool is None:
        print("oiiotool not found (it comes with the OpenImageIO wheel)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="hdr-cost-") as folder:
        pattern = make_plates(Path(folder) / "plates", "1080p", args.frames)
        last = 1000 + args.frames
        out = Path(folder) / "out"
        out.mkdir()
        render = [str(BIN / "hdr-plugin"), "render", pattern, "--no-progress"]
        times = best(
            {
                "plain": [
                    oiiotool, "--frames", f"1001-{last}", pattern.replace("####", "#"),
                    "--colorconvert", "srgb", "lin_rec2020", "-d", "half",
                    "--compression", "zip", "-o", str(out / "oiio.#.exr"),
                ],
                "default": [*render, "-o", str(out / "hu.####.exr")],
                "auto": [
                    *render, "-o", str(out / "auto.####.exr"), "--input-colorspace", "auto"
                ],
            },
            args.repeat,
        )  # fmt: skip
    plain, default, auto = times["plain"], times["default"], times["auto"]
    print(f"{args.frames} frames of 1080p, CPU seconds (user + system, all threads):")
    print(f"  oiiotool --colorconvert srgb lin_rec2020   {plain:7.2f}")
    print(f"  hdr-plugin render (default model)          {default:7.2f}")
    print(f"  hdr-plugin render --input-colorspace auto  {auto:7.2f}")
    print(f"default / oiiotool: {default / plain:.2f}x (target <= 1.5x)")
    print(f"auto adds per shot: {auto - default:+.2f} s CPU (target <= 1 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
