"""Training ``highlight-unet``: views at the proxy size, linearised by their true curve.

A step is a batch of training views, each degraded by a camera pipeline drawn from the
config's curves, bit depths and clipped fractions, and linearised with that camera's own
inverse curve, as OCIO linearises a plate whose colourspace is named. The loss is the
evaluation's metric: per view, the mean squared PU21 error (scene-linear Rec.2020,
reference white 203 cd/m²) over the pixels with a clipped channel; the batch loss is the
mean of their logs, i.e. minus the mean clipped-region PU21-PSNR / 10 up to a constant, so
each view counts by how much it can still improve, not by how bright it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from hdr_plugin.color import LINEAR_REC709, WORKING_SPACE, ColorContext
from hdr_plugin.crf import SAMPLES
from hdr_plugin.models.highlight_unet.clip import CLIP_LINEAR, NEAR_CLIP
from hdr_plugin.train.degrade import Pair, Pipeline, synthesize
from hdr_plugin.train.losses import log_clipped_pu21_error
from hdr_plugin.train.trainer import Trainer, stack


def rec2020_matrix(color: ColorContext) -> np.ndarray:
    """3x3 float32 matrix from display-linear Rec.709 to the working space (column vectors)."""
    basis = np.eye(3, dtype=np.float32)
    return np.ascontiguousarray(color.convert(basis, LINEAR_REC709, WORKING_SPACE).T)


def to_rec2020(linear: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) display-linear Rec.709 -> the working space by :func:`rec2020_matrix`."""
    # Elementwise, not a matmul: autocast would round a matmul's output to bf16.
    return (matrix[None, :, :, None, None] * linear[:, None]).sum(dim=2)


def decode(pair: Pair) -> np.ndarray:
    """A pair's plate linearised by its camera's true inverse curve (display-linear)."""
    grid = np.linspace(0.0, 1.0, SAMPLES, dtype=np.float32)
    return np.interp(pair.sdr, grid, pair.inverse_curve).astype(np.float32)


class HighlightUNetTrainer(Trainer):
    """:class:`Trainer` whose batches are linearised views and their Rec.2020 targets."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._to_rec2020 = torch.from_numpy(rec2020_matrix(self.color)).to(self.device)

    def batch_arrays(self, step: int) -> dict[str, np.ndarray]:
        pairs = self.sample_batch(step)
        return {"linear": stack([decode(p) for p in pairs]), "hdr": stack([p.hdr for p in pairs])}

    def to_batch(self, arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        linear = torch.from_numpy(arrays["linear"]).to(self.device)
        if self.config.precision == "bfloat16":
            linear = linear.contiguous(memory_format=torch.channels_last)
        return {
            "linear": linear,
            "hdr": torch.from_numpy(arrays["hdr"]).to(self.device),
            "clipped": (linear >= CLIP_LINEAR).any(dim=1, keepdim=True).float(),
            "to_rec2020": self._to_rec2020,
        }

    def loss(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        expanded = self.net(batch["linear"])
        prediction = to_rec2020(expanded, batch["to_rec2020"])
        return {"log_pu21_mse": log_clipped_pu21_error(prediction, batch["hdr"], batch["clipped"])}


#: What :func:`~hdr_plugin.train.trainer.make_trainer` builds for this family.
TRAINER = HighlightUNetTrainer


#: How the detector's training plates are delivered: (weight, codec, bits); ``None`` is a
#: lossless plate. Quality, CRF and profile are drawn per plate.
DETECTOR_CODECS = (
    (0.30, "jpeg", 8),
    (0.15, "h264", 8),
    (0.05, "h264", 10),
    (0.10, "h265", 8),
    (0.10, "h265", 10),
    (0.15, "prores", 10),
    (0.15, None, 8),
)


def detector_pipeline(rng: np.random.Generator) -> Pipeline:
    """A camera of the clip detector's training: a display curve and a codec of real deliveries."""
    weights = np.array([w for w, _, _ in DETECTOR_CODECS])
    _, kind, bits = DETECTOR_CODECS[int(rng.choice(len(weights), p=weights / weights.sum()))]
    setting = {
        "jpeg": lambda: str(int(rng.integers(60, 96))),
        "h264": lambda: str(int(rng.integers(12, 29))),
        "h265": lambda: str(int(rng.integers(12, 29))),
        "prores": lambda: str(int(rng.integers(0, 4))),
    }
    curve = str(rng.choice(["srgb", "bt1886", "gamma22"]))
    return Pipeline(
        curve=curve,
        bits=bits,
        codec=None if kind is None else f"{kind}:{setting[kind]()}",
        clip_range=(0.01, 0.12),
        jpeg=0.0,
    )


class DetectorSample(NamedTuple):
    """One view through a delivering camera (:func:`detector_sample`), all (H, W, 3) float32.

    Attributes:
        plate: display-linear Rec.709, decoded by the camera's true curve.
        truth: 1 where the plate stored losslessly has the channel at its top code.
        hdr: the scene, linear Rec.2020 (SDR clipping level 1.0).
        compressed: whether the camera had a lossy codec (else the plate is lossless).
    """

    plate: np.ndarray
    truth: np.ndarray
    hdr: np.ndarray
    compressed: bool


def detector_sample(
    view: np.ndarray, color: ColorContext, rng: np.random.Generator
) -> DetectorSample:
    """One view through a camera of real deliveries (:func:`detector_pipeline`)."""
    pipeline = detector_pipeline(rng)
    pair = synthesize(view, color, rng, pipeline)
    levels = 2 ** pair.info["bits"] - 1
    truth = (pair.stored >= (levels - 0.5) / levels).astype(np.float32)
    return DetectorSample(decode(pair), truth, pair.hdr, pipeline.codec is not None)


def _crop_picker(
    where: torch.Tensor, crop: int, rng: np.random.Generator
) -> Callable[[int], list[tuple[int, slice, slice]]]:
    """``pick(batch)``: (view, rows, columns) of ``batch`` random crops of ``crop`` px.

    Each is centred, as far as its view allows, on a random true pixel of ``where`` (N, H, W).
    """
    centres = [torch.nonzero(w) for w in where]
    usable = [i for i, c in enumerate(centres) if len(c)]
    height, width = where.shape[1:]

    def pick(batch: int) -> list[tuple[int, slice, slice]]:
        picks = []
        for _ in range(batch):
            index = usable[int(rng.integers(len(usable)))]
            row, col = (int(v) for v in centres[index][int(rng.integers(len(centres[index])))])
            top = int(np.clip(row - crop // 2, 0, height - crop))
            left = int(np.clip(col - crop // 2, 0, width - crop))
            picks.append((index, slice(top, top + crop), slice(left, left + crop)))
        return picks

    return pick


def _fit(
    parameters,
    batch_loss: Callable[[], torch.Tensor],
    *,
    steps: int,
    lr: float,
    name: str,
    log: Callable[[str], None],
) -> list[float]:
    """Adam on ``batch_loss()`` for ``steps``, its rate annealed by a cosine.

    Returns the mean loss per 100 steps, each also logged as ``name``.
    """
    optimiser = torch.optim.Adam(parameters, lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)
    losses, running = [], []
    for step in range(steps):
        loss = batch_loss()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        running.append(float(loss.detach()))
        if (step + 1) % 100 == 0:
            losses.append(float(np.mean(running)))
            running = []
            log(f"steps {step - 98}-{step + 1}: {name} {losses[-1]:.4f}")
    return losses


def train_clip_detector(
    detector: torch.nn.Module,
    plates: np.ndarray,
    truths: np.ndarray,
    *,
    steps: int,
    batch: int = 16,
    crop: int = 96,
    lr: float = 2e-3,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> list[float]:
    """Fit the detector's logits to the truth on near-clip channels (binary cross-entropy).

    ``plates`` and ``truths`` are (N, H, W, 3) float32: display-linear plates and where
    each channel clipped. Crops are drawn around near-clip pixels; the learning rate
    anneals by a cosine. Returns the loss per 100 steps.
    """
    x = torch.from_numpy(plates).permute(0, 3, 1, 2)
    y = torch.from_numpy(truths).permute(0, 3, 1, 2)
    pick = _crop_picker((x >= NEAR_CLIP).any(dim=1), crop, np.random.default_rng(seed))

    def batch_loss() -> torch.Tensor:
        picks = pick(batch)
        bx = torch.stack([x[i, :, r, c] for i, r, c in picks])
        by = torch.stack([y[i, :, r, c] for i, r, c in picks])
        weight = (bx >= NEAR_CLIP).float()
        loss = F.binary_cross_entropy_with_logits(detector(bx), by, weight=weight, reduction="sum")
        return loss / weight.sum().clamp(min=1.0)

    return _fit(detector.parameters(), batch_loss, steps=steps, lr=lr, name="bce", log=log)


def tune_clip_detector(
    net: torch.nn.Module,
    plates: np.ndarray,
    truths: np.ndarray,
    hdrs: np.ndarray,
    matrix: np.ndarray,
    *,
    steps: int,
    batch: int = 8,
    crop: int = 128,
    lr: float = 3e-4,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> list[float]:
    """Fine-tune ``net.detector`` through the whole reconstruction of compressed plates.

    The BCE of :func:`train_clip_detector` counts every wrong channel alike; what a wrong
    probability costs depends on the gain the U-Net then gives it. Here the U-Net (frozen)
    expands each crop with the detector's probabilities, and the loss is the
    evaluation's (:func:`log_clipped_pu21_error`, scene-linear Rec.2020) over the pixels
    that clipped in the scene or sit near the clip on the plate, so lifting a channel that
    never clipped costs as leaving one that did.

    ``plates``, ``truths`` and ``hdrs`` are (N, H, W, 3) float32 as in
    :class:`DetectorSample`, of compressed plates only; ``matrix`` is
    :func:`rec2020_matrix`'s. Returns the loss per 100 steps.
    """
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    for parameter in net.detector.parameters():
        parameter.requires_grad_(True)
    x = torch.from_numpy(plates).permute(0, 3, 1, 2)
    y = torch.from_numpy(hdrs).permute(0, 3, 1, 2)
    scene = torch.from_numpy(truths).permute(0, 3, 1, 2).amax(dim=1, keepdim=True) > 0.5
    region = (scene | (x >= NEAR_CLIP).any(dim=1, keepdim=True)).float()
    pick = _crop_picker(region[:, 0] > 0, crop, np.random.default_rng(seed))
    rec2020 = torch.from_numpy(np.ascontiguousarray(matrix, dtype=np.float32))
    compressed = torch.ones(batch, dtype=torch.bool)

    def batch_loss() -> torch.Tensor:
        picks = pick(batch)
        linear = torch.stack([x[i, :, r, c] for i, r, c in picks])
        linear = linear.contiguous(memory_format=torch.channels_last)
        probability = net.clip_probability(linear, linear >= CLIP_LINEAR, compressed)
        return log_clipped_pu21_error(
            to_rec2020(net.expand(linear, probability), rec2020),
            torch.stack([y[i, :, r, c] for i, r, c in picks]),
            torch.stack([region[i, :, r, c] for i, r, c in picks]),
        )

    parameters = net.detector.parameters()
    return _fit(parameters, batch_loss, steps=steps, lr=lr, name="log PU21 error", log=log)
