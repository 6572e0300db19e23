"""Batch throughput on the sample sequence: serial vs --workers 2 vs Dask LocalCluster(2).

Renders the 24 bundled sample frames (480x270) as one shot, once per executor, into fresh
folders, with the default model and with a learned one; prints frames per minute
(including process or cluster start-up, as a user sees it).

Usage: python benchmarks/bench_batch.py [--models bt2446c-inverse,unet-native]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from hdr_plugin.batch import execute, plan
from hdr_plugin.shots import parse_shots

ROOT = Path(__file__).resolve().parents[1]
EXECUTORS = {
    "serial": {},
    "workers=2": {"workers": 2},
    "dask LocalCluster(2)": {"local_cluster": 2},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="bt2446c-inverse,unet-native")
    parser.add_argument("--json", type=Path, default=ROOT / "bench_results" / "batch.json")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models.split(","):
            for name, options in EXECUTORS.items():
                out = Path(tmp) / model / name.replace(" ", "_")
                text = (
                    f'[[shot]]\nname = "pan"\nplate = "{ROOT}/samples/plates/pan.####.png"\n'
                    f'output = "{out}/pan.####.exr"\nmodel = "{model}"\n'
                )
                tasks = plan(parse_shots(text, Path(tmp) / "shots.toml").shots)
                start = time.perf_counter()
                results = execute(tasks, progress=False, **options)
                seconds = time.perf_counter() - start
                assert not [r.error for r in results if r.error]
                rows.append(
                    {"model": model, "executor": name, "frames": len(tasks), "seconds": seconds}
                )
    print(f"{'model':<18}{'executor':<22}{'frames':>7}{'seconds':>9}{'frames/min':>12}")
    for r in rows:
        rate = 60 * r["frames"] / r["seconds"]
        print(
            f"{r['model']:<18}{r['executor']:<22}{r['frames']:>7}{r['seconds']:>9.2f}{rate:>12.0f}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
