"""Estimating the camera curve of a plate whose colourspace nobody can name.

``--input-colorspace auto`` hands the plate's code values to a small classifier over the
documented family of camera curves (:func:`hdr_plugin.models.crf.camera_curves`), in the
spirit of SingleHDR's linearisation net (Liu et al., CVPR 2020), which regresses the
inverse curve from the image, its edges and its histogram. Here the image (on a proxy of
:data:`PROXY_EDGE` pixels) goes through a strided CNN and its per-channel code histograms
through an MLP; the joined features give one logit per family curve.

The decision is deliberately conservative, because a plate decoded with a slightly wrong
display curve loses far more below the clip than any highlight model can win above it (an
sRGB plate decoded as gamma 2.2 loses about 11 dB of PU21-PSNR): unless the classifier
puts more than :data:`TONE_MAPPED_CONFIDENCE` of its probability on the tone-mapped
curves (filmic, Reinhard, log and S-curves), the plate is taken as sRGB and decoded by
OCIO, exactly as without ``auto``. Otherwise the inverse curve is the probability-weighted
mean of the tone-mapped curves' inverses.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hdr_plugin.errors import ModelError
from hdr_plugin.models.crf import SAMPLES, camera_curves, invert_curve

#: Short edge of the proxy the classifier sees, pixels.
PROXY_EDGE = 192
HISTOGRAM_BINS = 64
#: Probability on the tone-mapped curves above which a plate is decoded by the estimate.
TONE_MAPPED_CONFIDENCE = 0.5
#: Curves the classifier maps to plain sRGB: display encodings (power laws and the named
#: OCIO encodings), which image statistics cannot tell apart reliably.
DISPLAY_PREFIXES = ("gamma", "srgb", "bt1886")
WEIGHTS_FILE = "camera-curve.safetensors"


@lru_cache(maxsize=1)
def curve_names() -> tuple[str, ...]:
    """The classes, in order: every curve of the documented family."""
    return tuple(camera_curves())


@lru_cache(maxsize=1)
def inverse_curves() -> np.ndarray:
    """(classes, :data:`~hdr_plugin.models.crf.SAMPLES`) inverse curves, code -> linear."""
    return np.stack([invert_curve(c) for c in camera_curves().values()]).astype(np.float32)


def is_display_curve(name: str) -> bool:
    """Whether a family curve is a display encoding (decoded as sRGB under ``auto``)."""
    return name.startswith(DISPLAY_PREFIXES)


def code_histograms(code: torch.Tensor, bins: int = HISTOGRAM_BINS) -> torch.Tensor:
    """(N, 3 * bins) per-channel histograms of code values in [0, 1], each summing to 1.

    Soft (linear) binning, so that it is differentiable and does not alias 8-bit codes.
    """
    n, c = code.shape[:2]
    x = code.clamp(0.0, 1.0).reshape(n, c, -1) * (bins - 1)
    low = x.floor().clamp(max=bins - 2)
    frac = x - low
    hist = torch.zeros(n, c, bins, dtype=code.dtype, device=code.device)
    hist.scatter_add_(2, low.long(), 1.0 - frac)
    hist.scatter_add_(2, low.long() + 1, frac)
    return (hist / x.shape[-1]).reshape(n, c * bins)


class CurveNet(nn.Module):
    """Display-encoded plate (N, 3, H, W) -> (N, classes) logits over the curve family.

    Args:
        classes: number of family curves.
        width: channels of the first convolution (doubling at each of four strides).
    """

    def __init__(self, classes: int = 58, width: int = 16) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for k in range(4):
            cout = width * 2**k
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.LeakyReLU(0.1)]
            layers += [nn.Conv2d(cout, cout, 3, padding=1), nn.LeakyReLU(0.1)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.histogram = nn.Sequential(nn.Linear(3 * HISTOGRAM_BINS, 128), nn.LeakyReLU(0.1))
        self.classify = nn.Sequential(
            nn.Linear(2 * cin + 128, 128), nn.LeakyReLU(0.1), nn.Linear(128, classes)
        )

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        features = self.features(code * 2.0 - 1.0)
        pooled = torch.cat([features.mean(dim=(2, 3)), features.amax(dim=(2, 3))], dim=1)
        return self.classify(torch.cat([pooled, self.histogram(code_histograms(code))], dim=1))


def proxy(code: np.ndarray) -> torch.Tensor:
    """(1, 3, h, w) proxy of an (H, W, 3) plate: short edge :data:`PROXY_EDGE` (area)."""
    x = torch.from_numpy(np.ascontiguousarray(code, dtype=np.float32)).permute(2, 0, 1)[None]
    scale = PROXY_EDGE / min(code.shape[:2])
    if scale < 1.0:
        size = (max(1, round(code.shape[0] * scale)), max(1, round(code.shape[1] * scale)))
        x = F.interpolate(x, size=size, mode="area")
    return x


@dataclass(frozen=True)
class CurveEstimate:
    """What ``auto`` decided for a plate.

    Attributes:
        name: ``srgb`` (decode with OCIO) or a description of the estimated curve.
        tone_mapped: the classifier's probability that the curve is tone-mapped.
        inverse: (:data:`~hdr_plugin.models.crf.SAMPLES`,) code -> display-linear, or
            ``None`` when the plate is decoded as sRGB by OCIO.
    """

    name: str
    tone_mapped: float
    inverse: np.ndarray | None = None

    def linearise(self, code: np.ndarray) -> np.ndarray:
        """(H, W, 3) code values in [0, 1] -> display-linear Rec.709 through the estimate."""
        if self.inverse is None:
            raise ValueError("an sRGB estimate is decoded by OCIO, not by a curve")
        grid = np.linspace(0.0, 1.0, SAMPLES, dtype=np.float32)
        return np.interp(np.clip(code, 0.0, 1.0), grid, self.inverse).astype(np.float32)


def decide(probabilities: np.ndarray) -> CurveEstimate:
    """Turn class probabilities (classes,) into a :class:`CurveEstimate`."""
    names = curve_names()
    tone = np.array([not is_display_curve(n) for n in names])
    tone_mapped = float(probabilities[tone].sum())
    if tone_mapped <= TONE_MAPPED_CONFIDENCE:
        return CurveEstimate("srgb", tone_mapped)
    weights = np.where(tone, probabilities, 0.0)
    weights = weights / weights.sum()
    inverse = (weights[:, None] * inverse_curves()).sum(axis=0).astype(np.float32)
    top = np.argsort(weights)[::-1][:3]
    name = "mixture of " + ", ".join(f"{names[i]} ({weights[i]:.2f})" for i in top)
    return CurveEstimate(name, tone_mapped, inverse)


class CameraCurveEstimator:
    """Loads the shipped :class:`CurveNet` and estimates the curve of display-encoded plates.

    Args:
        net: a trained :class:`CurveNet`.
        weights_hash: hash of its weights file, for provenance.
        device: torch device to run on.
    """

    def __init__(self, net: CurveNet, *, weights_hash: str | None, device: torch.device):
        self.net = net.float().to(device).eval()
        self.weights_hash = weights_hash
        self.device = device

    @torch.inference_mode()
    def probabilities(self, code: np.ndarray) -> np.ndarray:
        """(classes,) probabilities for an (H, W, 3) plate of code values in [0, 1]."""
        logits = self.net(proxy(np.clip(code, 0.0, 1.0)).to(self.device))
        return torch.softmax(logits.float(), dim=1)[0].cpu().numpy().astype(np.float64)

    def estimate(self, code: np.ndarray) -> CurveEstimate:
        """The decision for one plate (the render loop asks once per shot)."""
        return decide(self.probabilities(code))


@lru_cache(maxsize=1)
def load_estimator() -> CameraCurveEstimator:
    """The shipped estimator (``camera-curve.safetensors`` beside the models' weights).

    Raises:
        ModelError: the weights are missing (``auto`` then cannot be used).
    """
    from hdr_plugin.inference import select_device
    from hdr_plugin.models._neural import WEIGHTS_ENV, weights_dir
    from hdr_plugin.models._weights import apply_state_dict, file_hash, load_state_dict, read_card

    path = weights_dir() / WEIGHTS_FILE
    if not path.is_file():
        raise ModelError(
            f"--input-colorspace auto needs the camera-curve estimator ({path} is missing); "
            f"name the plate's colourspace instead, or point ${WEIGHTS_ENV} at a folder "
            "holding the weights"
        )
    card = read_card(path)
    net = CurveNet(**card.get("architecture", {}))
    apply_state_dict(net, load_state_dict(path), source=str(path))
    return CameraCurveEstimator(net, weights_hash=file_hash(path), device=select_device(None))
