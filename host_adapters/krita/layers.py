"""Krita layers as arrays and back, and one reconstruction of a layer (no Krita, no Qt).

Krita hands pixels over as raw bytes (``Node.pixelData``) in the layer's colour model and
depth: integer RGBA is stored **B, G, R, A** (Krita's BGR traits), float RGBA as R, G, B,
A; grey layers as Y, A. Alpha is straight (not premultiplied). Everything here works on
those bytes and NumPy arrays, so it is tested without Krita; :mod:`.plugin` only moves
bytes between Krita and these functions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hdr_plugin.color import LINEAR_REC709, SRGB_REC709, WORKING_SPACE, ColorContext
from hdr_plugin.errors import ConfigError, PlateError
from hdr_plugin.io import write_exr
from hdr_plugin.masks import matte_from_pixels
from hdr_plugin.node import ReconstructNode, ReconstructSettings
from hdr_plugin.render import frame_attributes

#: Profile of the documents the plugin creates: scene-linear Rec.2020 (Krita's bundled
#: V4 profile with a linear TRC), which is what :data:`OUTPUT_COLORSPACE` holds.
OUTPUT_PROFILE = "Rec2020-elle-V4-g10.icc"
OUTPUT_COLORSPACE = WORKING_SPACE

#: Krita's bundled profiles whose primaries and transfer are an OCIO colourspace exactly
#: (interop IDs, found in the active config by :meth:`ColorContext.canonical`).
#: A layer in another profile is decoded as the input colourspace knob says (default sRGB).
PROFILE_COLORSPACES = {
    "sRGB-elle-V2-srgbtrc.icc": SRGB_REC709,
    "sRGB built-in": SRGB_REC709,
    "sRGB-elle-V2-g10.icc": LINEAR_REC709,
    "krita-2.5, lcms sRGB built-in with linear gamma TRC": LINEAR_REC709,
    "Rec2020-elle-V4-g10.icc": WORKING_SPACE,
    "ACEScg-elle-V4-g10.icc": "lin_ap1_scene",
    # grey: primaries do not matter, only the transfer
    "Gray-D50-elle-V2-srgbtrc.icc": SRGB_REC709,
    "Gray-D50-elle-V4-srgbtrc.icc": SRGB_REC709,
    "Gray-D50-elle-V2-g10.icc": LINEAR_REC709,
    "Gray-D50-elle-V4-g10.icc": LINEAR_REC709,
}

#: Krita colour depth -> (NumPy dtype, scale to [0, 1]).
_DEPTHS = {
    "U8": (np.dtype("<u1"), 1 / 255),
    "U16": (np.dtype("<u2"), 1 / 65535),
    "F16": (np.dtype("<f2"), 1.0),
    "F32": (np.dtype("<f4"), 1.0),
}


def profile_colorspace(profile: str) -> str | None:
    """The OCIO colourspace of a Krita profile, or ``None`` when none is known exactly."""
    return PROFILE_COLORSPACES.get(profile)


def layer_pixels(data: bytes, width: int, height: int, model: str, depth: str) -> np.ndarray:
    """Raw layer bytes as (H, W, 4) float32 straight RGBA, integers scaled to [0, 1].

    Args:
        data: ``Node.pixelData(0, 0, width, height)``.
        width: layer (document) width, pixels.
        height: layer (document) height, pixels.
        model: Krita colour model (``RGBA`` or ``GRAYA``).
        depth: Krita colour depth (``U8``, ``U16``, ``F16``, ``F32``).

    Raises:
        PlateError: another colour model (CMYK, Lab, XYZ) or depth, or a byte count that
            does not match the size.
    """
    if depth not in _DEPTHS:
        raise PlateError(f"Krita colour depth {depth!r}; use 8/16-bit integer or 16/32-bit float")
    channels = {"RGBA": 4, "GRAYA": 2}.get(model)
    if channels is None:
        raise PlateError(
            f"a {model} layer; convert the image to RGB/Alpha or Grayscale/Alpha first "
            "(Image > Convert Image Color Space)"
        )
    dtype, scale = _DEPTHS[depth]
    expected = width * height * channels * dtype.itemsize
    if len(data) != expected:
        raise PlateError(
            f"layer data of {len(data)} bytes for {width}x{height} {model} {depth} "
            f"({expected} expected)"
        )
    values = np.frombuffer(data, dtype=dtype).reshape(height, width, channels)
    values = values.astype(np.float32) * np.float32(scale)
    if model == "GRAYA":
        return np.concatenate([np.repeat(values[..., :1], 3, -1), values[..., 1:]], axis=-1)
    if depth in ("U8", "U16"):  # Krita's integer RGB is stored B, G, R, A
        return values[..., [2, 1, 0, 3]]
    return values


def document_bytes(rgba: np.ndarray) -> bytes:
    """(H, W, 4) float32 RGBA as the bytes of an ``RGBA``/``F32`` layer."""
    if rgba.ndim != 3 or rgba.shape[-1] != 4:
        raise ValueError(f"expected (H, W, 4) RGBA, got {rgba.shape}")
    return np.ascontiguousarray(rgba, dtype="<f4").tobytes()


def grey_layer(values: np.ndarray) -> np.ndarray:
    """(H, W) values as opaque grey RGBA (a mask shown as a layer)."""
    return np.concatenate(
        [np.repeat(values[..., None], 3, -1), np.ones_like(values)[..., None]], -1
    )


def selection_matte(data: bytes, width: int, height: int) -> np.ndarray:
    """A selection's ``pixelData`` (one byte per pixel) as an (H, W) matte in [0, 1]."""
    if len(data) != width * height:
        raise PlateError(f"selection data of {len(data)} bytes for a {width}x{height} image")
    return np.frombuffer(data, dtype=np.uint8).reshape(height, width).astype(np.float32) / 255


def layer_matte(rgba: np.ndarray, channel: str, *, name: str = "") -> np.ndarray:
    """(H, W) matte from channel ``A``, ``R``, ``G``, ``B`` or ``Y`` of an RGBA layer."""
    return matte_from_pixels(rgba, ("R", "G", "B", "A"), channel, source=f"layer {name!r}")


@dataclass
class Reconstruction:
    """A layer reconstructed: what the new document receives.

    Attributes:
        rgba: (H, W, 4) float32, scene-linear Rec.2020 (1.0 = SDR white x ``white_level``)
            with the layer's alpha.
        highlight_mask: (H, W) float32 soft highlight mask of the layer.
        input_colorspace: the colourspace the layer was decoded from.
        node: the node that made it (its provenance goes into an EXR).
    """

    rgba: np.ndarray
    highlight_mask: np.ndarray
    input_colorspace: str
    node: ReconstructNode


def reconstruct_layer(
    rgba: np.ndarray,
    settings: ReconstructSettings,
    color: ColorContext,
    *,
    profile: str = "",
    matte: np.ndarray | None = None,
) -> Reconstruction:
    """Reconstruct one layer as the CLI reconstructs one frame (tiles, OCIO, mix, matte).

    Args:
        rgba: (H, W, 4) float32 straight RGBA from :func:`layer_pixels`.
        settings: the node's knobs; the output colourspace is the document's,
            :data:`OUTPUT_COLORSPACE`.
        color: the OCIO config.
        profile: the layer's ICC profile name; tells the input encoding where
            :data:`PROFILE_COLORSPACES` knows it and the knobs name none.
        matte: (H, W) weights in [0, 1] limiting where the model applies.

    Raises:
        HdrPluginError: a knob, the model or the layer is wrong (one line).
    """
    settings = settings.replace(output_colorspace=OUTPUT_COLORSPACE)
    if matte is not None and matte.shape != rgba.shape[:2]:
        raise ConfigError(
            f"matte is {matte.shape[1]}x{matte.shape[0]}, the layer is "
            f"{rgba.shape[1]}x{rgba.shape[0]}"
        )
    node = ReconstructNode(settings, color)
    result = node.process_frame(
        np.ascontiguousarray(rgba[..., :3]), matte, input_colorspace=profile_colorspace(profile)
    )
    out = np.concatenate([result.rgb, rgba[..., 3:]], axis=-1)
    return Reconstruction(out, result.highlight_mask, result.input_colorspace, node)


def export_exr(
    path: str | os.PathLike[str],
    result: Reconstruction,
    *,
    source: str = "",
    with_mask: bool = False,
) -> Path:
    """Write a reconstruction as the CLI writes a frame: core writer, chromaticities, provenance.

    Args:
        path: the EXR to write.
        result: what :func:`reconstruct_layer` made.
        source: the document's file (recorded with its hash), or empty for an unsaved one.
        with_mask: add the ``mask.highlight`` channel.
    """
    alpha = np.clip(result.rgba[..., 3:], 0.0, 1.0)
    layers, channels = [result.rgba[..., :3] * alpha, alpha], ["R", "G", "B", "A"]
    if with_mask:
        layers.append(result.highlight_mask[..., None])
        channels.append("mask.highlight")
    if source and os.path.isfile(source):
        attributes: dict[str, Any] = frame_attributes(result.node, source, None)
    else:
        attributes = result.node.provenance()
    attributes["hdr_plugin:inputColorspace"] = result.input_colorspace
    attributes["hdr_plugin:host"] = "Krita"
    return write_exr(path, np.concatenate(layers, axis=-1), channels, attributes)
