"""Device choice, padding, and tiled inference that equals whole-frame inference."""

import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from hdr_plugin.inference import (
    cpu_has_native_bf16,
    inference_dtype,
    pad_to_multiple,
    run_tiled,
    select_device,
    tile_grid,
)


def conv_stack(layers: int = 3, seed: int = 0) -> nn.Module:
    """A fully convolutional net with receptive field 2 * layers + 1."""
    torch.manual_seed(seed)
    modules = []
    channels = 3
    for i in range(layers):
        out = 3 if i == layers - 1 else 8
        modules += [nn.Conv2d(channels, out, 3, padding=1), nn.LeakyReLU(0.1)]
        channels = out
    return nn.Sequential(*modules[:-1]).eval()


def test_cpu_fallback_and_precision():
    if not torch.cuda.is_available():
        assert select_device().type in {"cpu", "mps"}
    assert select_device("cpu") == torch.device("cpu")
    cpu = torch.device("cpu")
    assert inference_dtype(cpu, "float32") == torch.float32
    assert inference_dtype(cpu, "bfloat16") == torch.bfloat16
    # auto: bf16 only where the CPU has native bf16 units, never emulated
    assert inference_dtype(cpu) == (torch.bfloat16 if cpu_has_native_bf16() else torch.float32)


def test_padding_to_multiple_and_back():
    x = torch.rand(1, 3, 37, 50)
    padded, (h, w) = pad_to_multiple(x, 16)
    assert padded.shape[-2:] == (48, 64)
    assert (h, w) == (37, 50)
    torch.testing.assert_close(padded[..., :37, :50], x)


def test_tiles_cover_the_frame_on_the_multiple():
    grid = tile_grid(96, 160, tile=64, overlap=16, multiple=8)
    covered = torch.zeros(96, 160)
    for t in grid:
        assert t.y0 % 8 == 0 and t.x0 % 8 == 0
        covered[t.y0 : t.y1, t.x0 : t.x1] = 1
    assert covered.all()
    assert len(grid) > 1


@pytest.mark.parametrize(("layers", "tile"), [(3, 32), (5, 48)])
def test_tiled_equals_whole_frame(layers, tile):
    net = conv_stack(layers)
    x = torch.rand(1, 3, 96, 136)
    with torch.inference_mode():
        whole = net(x)
        tiled = run_tiled(
            lambda t, _: net(t), x, tile=tile, receptive_field=2 * layers + 1, multiple=8
        )
    difference = (whole - tiled).abs().max().item()
    assert difference < 1e-5, difference


def test_single_tile_frame_runs_once():
    calls = []

    def fn(t, window):
        calls.append(window)
        return t * 2

    x = torch.rand(1, 3, 32, 32)
    torch.testing.assert_close(run_tiled(fn, x, tile=64, receptive_field=7), x * 2)
    assert len(calls) == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/cpuinfo")
def test_bf16_counts_as_native_only_with_avx512_bf16_or_amx_units():
    # oneDNN runs bf16 on any AVX512 CPU, emulated at about a third of fp32's speed.
    flags = set(Path("/proc/cpuinfo").read_text().split())
    assert cpu_has_native_bf16() == bool({"avx512_bf16", "amx_tile"} & flags)
