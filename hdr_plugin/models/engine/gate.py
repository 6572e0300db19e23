"""The gate that keeps an image network exact below the clip: HDRCNN's blend, positive only.

``out = lin + α · max(net - lin, 0)`` per channel, with ``lin`` the plate's OCIO
linearisation (in the network's output space), ``net`` what the network predicts, and
``α = clamp((max_c code - τ) / (1 - τ), 0, 1)`` the soft highlight mask of Eilertsen et
al. (SIGGRAPH Asia 2017). Below the mask's threshold τ the output is the plain
linearisation, whatever the network says; inside a highlight the network can only add
light (a clipped highlight is never darker than its clip), as the papers intend.

A residual network (``predicts = "log_gain"``: the U-Net and the hybrid) predicts a log
gain instead, applied as ``lin · (1 + α (exp(softplus(g)) - 1))`` (:meth:`LinearGate.expand`).

The linearisation is a 1D LUT sampled from the OCIO processor (4096 steps, linearly
interpolated: within 1e-5 of OCIO's own result) followed by OCIO's primaries matrix, so
the gate runs in torch, on the GPU and inside an exported TorchScript module.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hdr_plugin.color import LINEAR_REC709, ColorContext
from hdr_plugin.masks import DEFAULT_THRESHOLD

LUT_SIZE = 4096


def start_at_the_linearisation(head: nn.Conv2d) -> None:
    """Initialise a log-gain head so that training starts at gain exp(softplus(-4)) = 1.02."""
    nn.init.normal_(head.weight, std=1e-3)
    nn.init.constant_(head.bias, -4.0)


class LinearGate(nn.Module):
    """Blend a network's HDR prediction over the exact linearisation of its input.

    Args:
        lut: (:data:`LUT_SIZE`,) display-linear Rec.709 value of each code value step.
        matrix: (3, 3) Rec.709 -> the network's output primaries.
        threshold: τ of the soft highlight mask, a code value in [0, 1).
        log_gain: the network predicts a log gain (:meth:`expand`), not an HDR image.
    """

    def __init__(
        self, lut: torch.Tensor, matrix: torch.Tensor, threshold: float, log_gain: bool = False
    ) -> None:
        super().__init__()
        self.register_buffer("lut", lut.float(), persistent=False)
        self.register_buffer("matrix", matrix.float(), persistent=False)
        self.threshold = float(threshold)
        self.log_gain = log_gain

    @classmethod
    def from_ocio(
        cls,
        color: ColorContext,
        encoding: str,
        output_space: str,
        threshold: float = DEFAULT_THRESHOLD,
        log_gain: bool = False,
    ) -> LinearGate:
        """The gate for inputs in ``encoding`` and outputs in ``output_space`` (OCIO names)."""
        ramp = np.repeat(np.linspace(0.0, 1.0, LUT_SIZE, dtype=np.float32)[:, None], 3, axis=1)
        lut = color.convert(ramp, encoding, LINEAR_REC709)[:, 1]
        matrix = color.convert(np.eye(3, dtype=np.float32), LINEAR_REC709, output_space).T
        lut_tensor = torch.from_numpy(np.ascontiguousarray(lut))
        return cls(lut_tensor, torch.from_numpy(matrix), threshold, log_gain)

    @classmethod
    def for_network(
        cls, color: ColorContext, encoding: str, output_space: str, net: nn.Module
    ) -> LinearGate:
        """The gate of an image network: its mask threshold, and what it predicts."""
        return cls.from_ocio(
            color,
            encoding,
            output_space,
            getattr(net, "mask_threshold", DEFAULT_THRESHOLD),
            log_gain=getattr(net, "predicts", "hdr") == "log_gain",
        )

    @classmethod
    def identity(cls) -> LinearGate:
        """A placeholder gate (TorchScript needs a module of one type in either case)."""
        return cls(torch.linspace(0.0, 1.0, 2), torch.eye(3), DEFAULT_THRESHOLD)

    def linearise(self, code: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) code values in [0, 1] -> linear values in the output space."""
        position = code.float().clamp(0.0, 1.0) * (self.lut.shape[0] - 1)
        low = position.floor().clamp(max=self.lut.shape[0] - 2)
        frac = position - low
        index = low.long()
        linear709 = self.lut[index] * (1.0 - frac) + self.lut[index + 1] * frac
        # Elementwise, not a matmul: autocast would round a matmul's output to bf16.
        return (self.matrix[None, :, :, None, None] * linear709[:, None]).sum(dim=2)

    def alpha(self, code: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W) soft highlight mask of the code values."""
        peak = code.float().amax(dim=1, keepdim=True)
        return ((peak - self.threshold) / (1.0 - self.threshold)).clamp(0.0, 1.0)

    def expand(self, code: torch.Tensor, log_gain: torch.Tensor) -> torch.Tensor:
        """A residual network's output: ``lin · (1 + α (exp(softplus(log_gain)) - 1))``.

        For networks that predict a log gain over the linearisation (``predicts =
        "log_gain"``): never darker than ``lin``, and exactly ``lin`` below the mask.
        """
        linear = self.linearise(code)
        gain = torch.expm1(F.softplus(log_gain.float()))
        return linear * (1.0 + self.alpha(code) * gain)

    def forward(self, code: torch.Tensor, hdr: torch.Tensor, positive: bool = True) -> torch.Tensor:
        """The gated output: the network's ``hdr`` ((N, 3, H, W)) over ``code``'s linearisation.

        ``hdr`` is an image in the output space, or for a ``log_gain`` gate a log gain
        (:meth:`expand`). ``positive=False`` is HDRCNN's plain blend ``(1 - α) lin + α hdr``,
        which training uses so that a prediction below the linearisation still gets a
        gradient (a log gain is never below it).
        """
        if self.log_gain:
            return self.expand(code, hdr)
        linear = self.linearise(code)
        residual = hdr.float() - linear
        if positive:
            residual = residual.clamp(min=0.0)
        return linear + self.alpha(code) * residual
