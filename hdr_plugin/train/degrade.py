"""The camera pipeline that turns a scene-linear HDR image into an SDR plate.

exposure (so that a chosen fraction of pixels clips) -> Rec.2020 -> Rec.709 gamut mapping
(OCIO conversion, then clipping of negative components) -> optional sensor noise ->
clipping at 1 -> camera curve (from :func:`hdr_plugin.crf.camera_curves`) ->
8- or 10-bit quantisation -> optional JPEG compression (through OIIO).

The HDR target is the same scene, exposed the same way, in scene-linear Rec.2020 where
the SDR clipping level is 1.0 -- the units of the model contract.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from hdr_plugin.color import (
    BT1886_REC709,
    LINEAR_REC709,
    SRGB_REC709,
    WORKING_SPACE,
    ColorContext,
)
from hdr_plugin.constants import CLIP_CODE
from hdr_plugin.crf import SAMPLES, camera_curves, invert_curve, random_curve
from hdr_plugin.io import read_image
from hdr_plugin.masks import max_rgb


def _curves(color: ColorContext) -> tuple[list[str], np.ndarray]:
    return _stacked_curves(color.config_path)


@lru_cache(maxsize=4)
def _stacked_curves(config_path: str) -> tuple[list[str], np.ndarray]:
    curves = camera_curves(ColorContext(config_path))
    return list(curves), np.stack(list(curves.values()))


@dataclass(frozen=True)
class Pipeline:
    """One camera pipeline; ``None`` fields are drawn at random per sample.

    Attributes:
        curve: name of a camera curve (:func:`~hdr_plugin.crf.curve_names`), or ``None``
            for random.
        family: draw a random curve of this family (:func:`~hdr_plugin.crf.random_curve`)
            instead of a named one.
        view: render through this OCIO ``"DISPLAY/VIEW"`` instead of a 1D curve (a show's
            view transform); the exposure clips ``clipped_fraction`` at the view's white.
        config: the OCIO config of ``view`` (a show's config), else the caller's.
        named_view: a user names such plates by their view (``--input-view``), not as
            sRGB.
        clipped_fraction: fraction of pixels whose max channel clips, or ``None`` for
            uniform in ``clip_range``.
        clip_range: range of the random clipped fraction.
        bits: 8 or 10, or ``None`` for random.
        noise: probability of adding shot/read noise.
        jpeg: probability of JPEG compression (8-bit only).
        codec: how the camera delivers its plates, always: ``jpeg:Q`` (OIIO, quality Q,
            4:2:0 chroma; ``jpeg:Q:4:4:4`` full chroma; 8-bit), or a video codec through
            ffmpeg, BT.709 matrix and limited range, decoded back as ffmpeg and hosts decode
            it: ``h264:CRF`` (libx264) and ``h265:CRF`` (libx265), 4:2:0 at the camera's
            ``bits``; ``prores:PROFILE`` (prores_ks, 4:2:2, 10-bit).
        plate_colorspace: the OCIO colourspace a user names for this camera's plates
            (an interop ID; sRGB when its curve has no name).
    """

    curve: str | None = None
    family: str | None = None
    view: str | None = None
    config: str | None = None
    named_view: bool = False
    clipped_fraction: float | None = None
    clip_range: tuple[float, float] = (0.005, 0.25)
    bits: int | None = None
    noise: float = 0.3
    jpeg: float = 0.2
    codec: str | None = None
    plate_colorspace: str = SRGB_REC709


#: The cameras evaluation reports: sRGB with 2 % and 8 % of pixels clipped, a 10-bit
#: gamma 2.4 (BT.1886) camera, and three tone-mapped renders whose curve has no OCIO name
#: (a user names them sRGB): a Hable filmic shoulder, a Möbius shoulder (random white point
#: and knee per view) then sRGB, and the ACES 2.0 SDR view transform.
def _camera(**fields) -> Pipeline:
    """An evaluation camera: its fields fixed, no noise and no JPEG."""
    return Pipeline(noise=0.0, jpeg=0.0, **fields)


EVALUATION_PIPELINES = {
    "srgb-2": _camera(curve="srgb", clipped_fraction=0.02, bits=8),
    "srgb-8": _camera(curve="srgb", clipped_fraction=0.08, bits=8),
    "gamma24": _camera(
        curve="bt1886", clipped_fraction=0.05, bits=10, plate_colorspace=BT1886_REC709
    ),
    "filmic": _camera(curve="hable W=8", clipped_fraction=0.05, bits=8),
    "mobius": _camera(family="mobius", clipped_fraction=0.05, bits=8),
    "aces-view": _camera(
        view="sRGB - Display/ACES 2.0 - SDR 100 nits (Rec.709)", clipped_fraction=0.02, bits=8
    ),
    # The view most shows delivered through, in OCIO's ACES 1.3 studio config; the plate is
    # named by the view (--input-view) under that config.
    "aces1-view": _camera(
        view="sRGB - Display/ACES 1.0 - SDR Video",
        config="ocio://studio-config-v1.0.0_aces-v1.3_ocio-v2.1",
        named_view=True,
        clipped_fraction=0.02,
        bits=8,
    ),
}
#: Cameras that deliver as real ones do (sRGB, 4 % of pixels clipped): the same plates
#: stored losslessly (8-bit), as a camera JPEG (quality 85, 4:2:0), as an H.264 frame (CRF
#: 18, 4:2:0, 8-bit), as an H.265 frame (CRF 22, 4:2:0, 10-bit) and as ProRes 422 HQ
#: (10-bit). ``evaluate`` measures them beside the model cards' cameras.
DELIVERY_PIPELINES = {
    "srgb-4": _camera(curve="srgb", clipped_fraction=0.04, bits=8),
    "jpeg-85": _camera(curve="srgb", clipped_fraction=0.04, bits=8, codec="jpeg:85"),
    "h264-18": _camera(curve="srgb", clipped_fraction=0.04, bits=8, codec="h264:18"),
    "h265-22": _camera(curve="srgb", clipped_fraction=0.04, bits=10, codec="h265:22"),
    "prores-hq": _camera(curve="srgb", clipped_fraction=0.04, bits=10, codec="prores:3"),
}
#: Every camera ``evaluate`` knows.
CAMERAS = {**EVALUATION_PIPELINES, **DELIVERY_PIPELINES}
#: The curve family of each evaluation camera; tone-mapped ones are held out of the
#: estimator's training (:data:`hdr_plugin.crf.TEST_FAMILIES`).
CAMERA_FAMILIES = {
    "srgb-2": "display",
    "srgb-8": "display",
    "gamma24": "display",
    "filmic": "hable",
    "mobius": "mobius",
    "aces-view": "aces-view",
    "aces1-view": "aces-1-view",
    **dict.fromkeys(DELIVERY_PIPELINES, "display"),
}


@dataclass
class Pair:
    """A synthetic training pair and what the pipeline did (for per-stage losses).

    Attributes:
        sdr: (H, W, 3) float32 display-encoded Rec.709 code values (quantised).
        hdr: (H, W, 3) float32 scene-linear Rec.2020, SDR clipping level 1.0.
        hdr709: the exposed scene in display-linear Rec.709 (negatives clipped), unclipped.
        sdr_continuous: the SDR before quantisation and JPEG.
        linear_clipped: display-linear Rec.709 after clipping, before the curve.
        inverse_curve: (1024,) the true inverse camera curve.
        exposure: the scale applied to the source.
    """

    sdr: np.ndarray
    hdr: np.ndarray
    hdr709: np.ndarray
    sdr_continuous: np.ndarray
    linear_clipped: np.ndarray
    inverse_curve: np.ndarray
    exposure: float
    info: dict = field(default_factory=dict)

    @property
    def stored(self) -> np.ndarray:
        """The plate stored losslessly: ``sdr`` before the camera's codec, if it has one."""
        levels = 2 ** self.info["bits"] - 1
        return (np.round(self.sdr_continuous * levels) / levels).astype(np.float32)


def sensor_noise(linear: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Display-linear values with random shot and read noise (sigma^2 = shot x + read^2)."""
    shot = rng.uniform(0.0, 0.01)
    read = rng.uniform(0.0, 0.002)
    sigma = np.sqrt(shot * np.minimum(linear, 1.0) + read**2)
    return np.maximum(linear + sigma * rng.standard_normal(linear.shape), 0.0)


def exposure_for_clipping(hdr: np.ndarray, fraction: float) -> float:
    """Scale at which ``fraction`` of pixels of ``hdr`` have their max channel at or above 1."""
    level = float(np.quantile(max_rgb(hdr), 1.0 - fraction))
    return 1.0 / max(level, 1e-6)


def _jpeg(image: np.ndarray, quality: int, chroma: str = "4:2:0") -> np.ndarray:
    import OpenImageIO as oiio

    handle, path = tempfile.mkstemp(suffix=".jpg")
    os.close(handle)
    try:
        buf = oiio.ImageBuf(np.ascontiguousarray((image * 255).round().astype(np.uint8)))
        buf.specmod().attribute("Compression", f"jpeg:{quality}")
        buf.specmod().attribute("jpeg:subsampling", chroma)
        buf.write(path)
        return read_image(path).rgb.astype(np.float32)
    finally:
        os.unlink(path)


#: ffmpeg's encoder arguments per video codec of :attr:`Pipeline.codec` (BT.709 matrix,
#: limited range, as cameras and editors deliver).
_VIDEO = {
    "h264": (["-c:v", "libx264", "-crf"], {8: "yuv420p", 10: "yuv420p10le"}),
    "h265": (["-c:v", "libx265", "-x265-params", "log-level=error", "-crf"],
             {8: "yuv420p", 10: "yuv420p10le"}),
    "prores": (["-c:v", "prores_ks", "-profile:v"], {10: "yuv422p10le"}),
}  # fmt: skip


def _video(image: np.ndarray, codec: str, setting: str, bits: int) -> np.ndarray:
    """An RGB frame through an ffmpeg encoder and back, as ffmpeg and hosts decode it.

    ``setting`` is the CRF (h264, h265) or the ProRes profile (prores_ks, 0-3); ``bits``
    the encoder's bit depth (8 or 10). The frame is converted to Y'CbCr with the BT.709
    matrix in limited range, chroma subsampled as the codec does, and decoded back to RGB
    rounded to ``bits``.
    """
    import OpenImageIO as oiio

    arguments, formats = _VIDEO[codec]
    if bits not in formats:
        raise ValueError(f"{codec} is delivered at {' or '.join(map(str, formats))} bits")
    height, width = image.shape[:2]
    even = np.pad(image, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    with tempfile.TemporaryDirectory(prefix=f"hdr-{codec}-") as folder:
        source, movie, back = (os.path.join(folder, n) for n in ("f.png", "f.mov", "b.png"))
        # The plate's own bit depth: an 8-bit source goes through ffmpeg as 8-bit RGB.
        depth = (255, np.uint8) if bits == 8 else (65535, np.uint16)
        buf = oiio.ImageBuf(np.ascontiguousarray((even * depth[0]).round().astype(depth[1])))
        buf.write(source)
        for command in (
            ["-i", source, "-vf", "scale=out_color_matrix=bt709:out_range=tv",
             *arguments, setting, "-pix_fmt", formats[bits],
             "-colorspace", "bt709", "-color_range", "tv", movie],
            ["-i", movie, "-vf", "scale=in_color_matrix=bt709:in_range=tv",
             "-pix_fmt", "rgb48be", back],
        ):  # fmt: skip
            subprocess.run(["ffmpeg", "-v", "error", "-y", *command], check=True)
        decoded = read_image(back).rgb.astype(np.float32)
    levels = 2**bits - 1
    return np.round(decoded[:height, :width] * levels) / levels


def deliver(sdr: np.ndarray, codec: str, bits: int) -> np.ndarray:
    """A plate as a camera's codec delivers it (:attr:`Pipeline.codec`)."""
    kind, _, setting = codec.partition(":")
    if kind == "jpeg":
        quality, _, chroma = setting.partition(":")
        return _jpeg(sdr, int(quality), chroma or "4:2:0")
    if kind in _VIDEO:
        return _video(sdr, kind, setting, bits).astype(np.float32)
    raise ValueError(
        f"unknown codec {codec!r}; codecs: jpeg:Q[:4:4:4], h264:CRF, h265:CRF, prores:PROFILE"
    )


def _quantise(
    continuous: np.ndarray, pipeline: Pipeline, rng: np.random.Generator
) -> tuple[np.ndarray, int, int | None]:
    bits = pipeline.bits or int(rng.choice([8, 10]))
    levels = 2**bits - 1
    sdr = (np.round(continuous * levels) / levels).astype(np.float32)
    quality = None
    if pipeline.codec is not None:
        sdr = deliver(sdr, pipeline.codec, bits)
    elif bits == 8 and rng.random() < pipeline.jpeg:
        quality = int(rng.integers(70, 96))
        sdr = _jpeg(sdr, quality)
    return sdr, bits, quality


def _through_view(
    hdr: np.ndarray,
    color: ColorContext,
    rng: np.random.Generator,
    pipeline: Pipeline,
    fraction: float,
) -> Pair:
    """The camera pipeline of a plate rendered through a display/view transform."""
    if pipeline.config is not None:
        color = ColorContext(pipeline.config)
    render = lambda scale: np.clip(  # noqa: E731
        color.convert_view(hdr * np.float32(scale), WORKING_SPACE, pipeline.view), 0.0, 1.0
    )
    # Exposure by bisection (in log) so that ``fraction`` of pixels reach the view's white.
    peak = float(np.quantile(max_rgb(np.maximum(hdr, 0.0)), 0.5)) or 1.0
    low, high = np.log(1e-3 / peak), np.log(1e5 / peak)
    for _ in range(30):
        middle = 0.5 * (low + high)
        clipped = float(np.mean(max_rgb(render(np.exp(middle))) >= CLIP_CODE))
        low, high = (middle, high) if clipped < fraction else (low, middle)
    exposure = float(np.exp(high))
    continuous = render(exposure).astype(np.float32)
    sdr, bits, quality = _quantise(continuous, pipeline, rng)
    target = (hdr * exposure).astype(np.float32)
    hdr709 = np.maximum(color.convert(target, WORKING_SPACE, LINEAR_REC709), 0.0)
    return Pair(
        sdr=sdr,
        hdr=target,
        hdr709=hdr709,
        sdr_continuous=continuous,
        linear_clipped=np.clip(hdr709, 0.0, 1.0),
        inverse_curve=np.full(SAMPLES, np.nan, np.float32),  # a view is not a 1D curve
        exposure=exposure,
        info={"curve": pipeline.view, "family": "view", "clipped_fraction": fraction,
              "bits": bits, "jpeg": quality},
    )  # fmt: skip


def synthesize(
    hdr: np.ndarray, color: ColorContext, rng: np.random.Generator, pipeline: Pipeline = Pipeline()
) -> Pair:
    """Run the camera pipeline on ``hdr`` ((H, W, 3) scene-linear Rec.2020, any scale)."""
    names, curves = _curves(color)
    fraction = pipeline.clipped_fraction
    if fraction is None:
        fraction = float(rng.uniform(*pipeline.clip_range))
    if pipeline.view is not None:
        return _through_view(hdr, color, rng, pipeline, fraction)
    # Clipping happens on the camera's Rec.709 channels, so expose on those.
    linear709 = np.maximum(color.convert(hdr, WORKING_SPACE, LINEAR_REC709), 0.0)
    exposure = exposure_for_clipping(linear709, fraction)
    target = (hdr * exposure).astype(np.float32)
    linear = linear709 * np.float32(exposure)
    hdr709 = linear.astype(np.float32)
    if rng.random() < pipeline.noise:
        linear = sensor_noise(linear, rng)
    clipped = np.clip(linear, 0.0, 1.0).astype(np.float32)

    if pipeline.family is not None:
        curve, name = random_curve(pipeline.family, rng, color), pipeline.family
    else:
        index = names.index(pipeline.curve) if pipeline.curve else int(rng.integers(len(names)))
        curve, name = curves[index], names[index]
    grid = np.linspace(0.0, 1.0, SAMPLES)
    continuous = np.interp(clipped, grid, curve).astype(np.float32)
    sdr, bits, quality = _quantise(continuous, pipeline, rng)
    return Pair(
        sdr=sdr,
        hdr=target,
        hdr709=hdr709,
        sdr_continuous=continuous,
        linear_clipped=clipped,
        inverse_curve=invert_curve(curve).astype(np.float32),
        exposure=exposure,
        info={
            "curve": name,
            "family": pipeline.family,
            "clipped_fraction": fraction,
            "bits": bits,
            "jpeg": quality,
        },
    )
