"""GPU only: seconds per 1080p frame per shipped network for fp32/bf16 x NCHW/channels_last.

Median of 5 runs after 2 warm-ups at the same size (cuDNN picks kernels per shape).
Usage: python benchmarks/gpu_layouts.py
"""

from __future__ import annotations

import statistics
import time

import torch

from hdr_plugin.models import architecture, get_spec, has_weights, network_models
from hdr_plugin.models.engine.torch_model import load_network


def build(name: str) -> torch.nn.Module:
    return load_network(get_spec(name), architecture(name))[0]


def time_run(net, x) -> float:
    times = []
    for i in range(7):
        torch.cuda.synchronize()
        start = time.perf_counter()
        net(x)
        torch.cuda.synchronize()
        if i >= 2:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    torch.backends.cudnn.benchmark = True
    print(
        f"{'model':<13}{'fp32 NCHW':>10}{'fp32 CL':>9}{'bf16 NCHW':>10}{'bf16 CL':>9}"
        "  (s per 1080p frame)"
    )
    for name in [n for n in network_models() if has_weights(get_spec(n))]:
        cells = []
        for dtype in (torch.float32, torch.bfloat16):
            for layout in (torch.contiguous_format, torch.channels_last):
                net = build(name).float().cuda().to(dtype).to(memory_format=layout)
                x = torch.rand(1, 3, 1088, 1920, device="cuda", dtype=dtype).contiguous(
                    memory_format=layout
                )
                with torch.inference_mode():
                    cells.append(time_run(net, x))
        print(f"{name:<13}" + "".join(f"{c:>10.4f}" for c in cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
