"""Encodings the learned models train in, as torch functions (differentiable).

Models that learn in PQ or log space convert inside their wrapper with these; callers only
ever see scene-linear Rec.2020 with SDR reference white at 1.0 (203 cd/m², ITU-R BT.2408).
Tested against OCIO's Rec.2100-PQ display encoding.
"""

from __future__ import annotations

import math

import torch

from hdr_plugin.constants import REFERENCE_WHITE_NITS

_M1 = 2610.0 / 16384.0
_M2 = 2523.0 / 4096.0 * 128.0
_C1 = 3424.0 / 4096.0
_C2 = 2413.0 / 4096.0 * 32.0
_C3 = 2392.0 / 4096.0 * 32.0


def eotf_inverse_ST2084(luminance: torch.Tensor) -> torch.Tensor:
    """SMPTE ST 2084 (PQ) inverse EOTF: luminance in cd/m² (0 to 10000) -> code value [0, 1]."""
    y = (luminance.clamp(min=0.0) / 10000.0) ** _M1
    return ((_C1 + _C2 * y) / (1.0 + _C3 * y)) ** _M2


def eotf_ST2084(code: torch.Tensor) -> torch.Tensor:
    """SMPTE ST 2084 (PQ) EOTF: code value [0, 1] -> luminance in cd/m²."""
    p = code.clamp(0.0, 1.0) ** (1.0 / _M2)
    return 10000.0 * ((p - _C1).clamp(min=0.0) / (_C2 - _C3 * p)) ** (1.0 / _M1)


def pq_encode(hdr: torch.Tensor) -> torch.Tensor:
    """Scene-linear (reference white 1.0) -> PQ code values, reference white at 203 cd/m²."""
    return eotf_inverse_ST2084(hdr * REFERENCE_WHITE_NITS)


def pq_decode(code: torch.Tensor) -> torch.Tensor:
    """PQ code values -> scene-linear with reference white 1.0."""
    return eotf_ST2084(code) / REFERENCE_WHITE_NITS


#: Fixed log normalisation of ``hybrid-mnv3``'s loss: log1p of the PQ ceiling in reference whites.
LOG_CEILING = math.log1p(10000.0 / REFERENCE_WHITE_NITS)


def log_encode(hdr: torch.Tensor) -> torch.Tensor:
    """Scene-linear (reference white 1.0) -> log1p(hdr) / LOG_CEILING (1.0 at 10000 cd/m²)."""
    return torch.log1p(hdr.clamp(min=0.0)) / LOG_CEILING
