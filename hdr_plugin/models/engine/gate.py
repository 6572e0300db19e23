"""The gate that keeps an image network exact below the clip: HDRCNN's blend, positive only.

``out = M (lin + α · max(M⁻¹ net - lin, 0))``, per channel of the plate: ``lin`` is the
plate's OCIO linearisation (display-linear Rec.709), ``net`` what the network predicts (in
its output space, ``M`` the Rec.709 -> output primaries matrix), and ``α_c = clamp((code_c
- τ) / (1 - τ), 0, 1)`` a soft mask of each channel's clip, τ = :data:`GATE_THRESHOLD`. A
channel below the clip is the plain linearisation whatever the network says; a clipped
channel can only gain light (a clipped highlight is never darker than its clip).

The papers blend by HDRCNN's mask of the *brightest* channel with τ = 0.95 (Eilertsen et
al., SIGGRAPH Asia 2017). That lets a network change the unclipped channels of a highlight
and the band between τ and the clip, which the plate recorded exactly; on the validation
split (sRGB 2 %, the same 1500-step weights) the per-channel gate raised clipped PU21-PSNR
from 34.50 to 35.89 dB (hybrid-mnv3), 32.48 to 35.07 (singlehdr) and 34.89 to 35.33
(layered); linear 35.65. The networks keep their own masks inside (the
node's ``mask_threshold``); the gate only decides which values may change.

A residual network (``predicts = "log_gain"``: the U-Net and the hybrid) predicts a log
gain per channel instead, applied as ``lin · (1 + α (exp(softplus(g)) - 1))``
(:meth:`LinearGate.expand`).

The linearisation is a 1D LUT sampled from the OCIO processor (4096 steps, linearly
interpolated: within 1e-5 of OCIO's own result) followed by OCIO's primaries matrix, so
the gate runs in torch, on the GPU and inside an exported TorchScript module.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hdr_plugin.color import LINEAR_REC709, WORKING_SPACE, ColorContext
from hdr_plugin.models.engine.registry import ModelSpec

LUT_SIZE = 4096
#: τ of the per-channel clip mask, just below :data:`hdr_plugin.constants.CLIP_CODE` (8-bit
#: code 254): codes 254 and 255 of an 8-bit plate get α 0.2 and 1, 10-bit codes 1019-1023
#: α 0.1-1.
GATE_THRESHOLD = 0.995


def start_at_the_linearisation(head: nn.Conv2d) -> None:
    """Initialise a log-gain head so that training starts at gain exp(softplus(-4)) = 1.02."""
    # Uniform, not normal: ``normal_`` on the meta device (where a loaded model's card is
    # checked against its weights) imports torch._dynamo, seconds of CPU per process.
    nn.init.uniform_(head.weight, -1e-3, 1e-3)
    nn.init.constant_(head.bias, -4.0)


class LinearGate(nn.Module):
    """Blend a network's HDR prediction over the exact linearisation of its input.

    Args:
        lut: (:data:`LUT_SIZE`,) display-linear Rec.709 value of each code value step.
        matrix: (3, 3) Rec.709 -> the network's output primaries.
        threshold: τ of the per-channel clip mask, a code value in [0, 1).
        log_gain: the network predicts a log gain (:meth:`expand`), not an HDR image.
    """

    def __init__(
        self, lut: torch.Tensor, matrix: torch.Tensor, threshold: float, log_gain: bool = False
    ) -> None:
        super().__init__()
        self.register_buffer("lut", lut.float(), persistent=False)
        self.register_buffer("matrix", matrix.float(), persistent=False)
        self.register_buffer("inverse", torch.linalg.inv(matrix.double()).float(), persistent=False)
        self.threshold = float(threshold)
        self.log_gain = log_gain

    @classmethod
    def from_ocio(
        cls,
        color: ColorContext,
        encoding: str,
        output_space: str,
        threshold: float = GATE_THRESHOLD,
        log_gain: bool = False,
    ) -> LinearGate:
        """The gate for inputs in ``encoding`` and outputs in ``output_space`` (OCIO names)."""
        ramp = np.repeat(np.linspace(0.0, 1.0, LUT_SIZE, dtype=np.float32)[:, None], 3, axis=1)
        lut = color.convert(ramp, encoding, LINEAR_REC709)[:, 1]
        matrix = color.convert(np.eye(3, dtype=np.float32), LINEAR_REC709, output_space).T
        lut_tensor = torch.from_numpy(np.ascontiguousarray(lut))
        return cls(lut_tensor, torch.from_numpy(matrix), threshold, log_gain)

    @classmethod
    def for_spec(cls, color: ColorContext, spec: ModelSpec) -> LinearGate:
        """The gate of a model: its input encoding, output space and what it predicts."""
        return cls.from_ocio(
            color,
            spec.input_encoding,
            spec.output_space or WORKING_SPACE,
            log_gain=spec.predicts == "log_gain",
        )

    @classmethod
    def identity(cls) -> LinearGate:
        """A placeholder gate (TorchScript needs a module of one type in either case)."""
        return cls(torch.linspace(0.0, 1.0, 2), torch.eye(3), GATE_THRESHOLD)

    def linearise(self, code: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) code values in [0, 1] -> display-linear Rec.709."""
        position = code.float().clamp(0.0, 1.0) * (self.lut.shape[0] - 1)
        low = position.floor().clamp(max=self.lut.shape[0] - 2)
        frac = position - low
        index = low.long()
        return self.lut[index] * (1.0 - frac) + self.lut[index + 1] * frac

    def alpha(self, code: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) soft mask of each channel's clip."""
        return ((code.float() - self.threshold) / (1.0 - self.threshold)).clamp(0.0, 1.0)

    def expand(self, code: torch.Tensor, log_gain: torch.Tensor) -> torch.Tensor:
        """A residual network's output: ``lin · (1 + α (exp(softplus(log_gain)) - 1))``.

        For networks that predict a log gain over the linearisation (``predicts =
        "log_gain"``): never darker than ``lin``, and exactly ``lin`` below the mask.
        """
        linear = self.linearise(code)
        gain = torch.expm1(F.softplus(log_gain.float()))
        return _mix(self.matrix, linear * (1.0 + self.alpha(code) * gain))

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
        residual = _mix(self.inverse, hdr.float()) - linear
        if positive:
            residual = residual.clamp(min=0.0)
        return _mix(self.matrix, linear + self.alpha(code) * residual)


def _mix(matrix: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
    """(3, 3) ``matrix`` applied to every pixel of (N, 3, H, W) ``rgb``.

    Elementwise, not a matmul: autocast would round a matmul's output to bf16.
    """
    return (matrix[None, :, :, None, None] * rgb[:, None]).sum(dim=2)
