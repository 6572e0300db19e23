"""Training data: real HDR images, split by scene family, turned into (SDR, HDR) pairs.

Synthetic pairs follow the camera pipeline that reconstruction reverses
(:mod:`hdr_plugin.train.degrade`); native pairs pair an SDR plate sequence with its HDR
grade frame by frame. Every colour conversion goes through OCIO.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hdr_plugin.color import LINEAR_REC709, SRGB_REC709, WORKING_SPACE, ColorContext
from hdr_plugin.constants import LUMA_REC2020
from hdr_plugin.errors import ConfigError, PlateError
from hdr_plugin.io import read_image
from hdr_plugin.sequence import expand_input

HDR_SUFFIXES = (".exr", ".hdr")
SPLIT_FILE = Path(__file__).with_name("split.json")
#: Scene families sorted by name: every fifth from the third is the test split (never used
#: to choose anything), every tenth from the fifth is validation, the rest is training.
TEST_EVERY, TEST_OFFSET = 5, 2
VALIDATION_EVERY, VALIDATION_OFFSET = 10, 4
SPLITS = ("train", "validation", "test")


def scene_family(path: str | Path) -> str:
    """``brown_photostudio_01_1k.hdr`` -> ``brown_photostudio``; photos are their own family."""
    stem = re.sub(r"_\d+k$", "", Path(path).stem)
    return re.sub(r"_\d+$", "", stem)


def make_split(
    folder: str | Path, previous: dict[str, list[str]] | None = None
) -> dict[str, list[str]]:
    """Train / validation / test file names of an HDR folder, split by scene family.

    With ``previous`` (an earlier split of the same data), every family it names keeps its
    part, so a test scene never moves into training; the families new to the folder are
    split by the same rule among themselves.
    """
    files = sorted(p.name for p in Path(folder).iterdir() if p.suffix.lower() in HDR_SUFFIXES)
    kept = {scene_family(f): name for name in SPLITS for f in (previous or {}).get(name, [])}
    families = sorted({scene_family(f) for f in files} - set(kept))
    test = set(families[TEST_OFFSET::TEST_EVERY])
    validation = set(families[VALIDATION_OFFSET::VALIDATION_EVERY]) - test
    if not validation and not kept and len(families) - len(test) > 1:
        validation = {[f for f in families if f not in test][-1]}  # small folders: the last
    part = kept | {
        f: "test" if f in test else "validation" if f in validation else "train" for f in families
    }
    rule = (
        f"scene families sorted by name; every {TEST_EVERY}th from index {TEST_OFFSET} "
        f"is test, every {VALIDATION_EVERY}th from index {VALIDATION_OFFSET} validation"
    )
    if kept:
        rule = f"families of the previous split keep their part; new families: {rule}"
    return {
        "rule": rule,
        "test_families": sorted(f for f, name in part.items() if name == "test"),
        "validation_families": sorted(f for f, name in part.items() if name == "validation"),
        **{name: [f for f in files if part[scene_family(f)] == name] for name in SPLITS},
    }


def load_split(folder: str | Path) -> dict[str, list[str]]:
    """The committed split for the shared data set, else one made for ``folder``.

    A copy of the shared data counts as the shared data when it holds every training and
    validation image under the same stem (``scripts/pack_training_data.py`` writes EXRs,
    and leaves the test images behind); the split then names the copy's files.
    """
    if not Path(folder).is_dir():
        raise ConfigError(f"HDR data folder {folder} not found")
    if SPLIT_FILE.is_file():
        split = json.loads(SPLIT_FILE.read_text())
        present = {
            p.stem: p.name for p in Path(folder).iterdir() if p.suffix.lower() in HDR_SUFFIXES
        }
        if all(Path(f).stem in present for f in split["train"] + split["validation"]):
            return split | {
                name: [present[Path(f).stem] for f in split[name] if Path(f).stem in present]
                for name in SPLITS
            }
    return make_split(folder)


def _source_space(image_colorspace: str | None, chromaticities: tuple | None) -> str:
    """OCIO colourspace of an HDR file: AP0 when its chromaticities say so, else Rec.709."""
    if chromaticities is not None and abs(chromaticities[0] - 0.7347) < 1e-3:
        return "ACES2065-1"
    if image_colorspace and image_colorspace.lower() not in {"linear", "scene_linear"}:
        return image_colorspace
    return LINEAR_REC709


def load_hdr(path: str | Path, color: ColorContext) -> np.ndarray:
    """Read an HDR photograph as (H, W, 3) float32 scene-linear Rec.2020 (relative scale).

    Honours the file's ``chromaticities`` attribute (AP0 files are converted from
    ACES2065-1); Radiance ``.hdr`` and untagged EXRs are taken as linear Rec.709.
    """
    import OpenImageIO as oiio

    image = read_image(path)
    spec = oiio.ImageInput.open(str(path))
    chroma = spec.spec().getattribute("chromaticities") if spec is not None else None
    if spec is not None:
        spec.close()
    source = _source_space(image.colorspace, chroma)
    rgb = np.nan_to_num(image.rgb, nan=0.0, posinf=0.0, neginf=0.0)
    hdr = color.convert(np.maximum(rgb, 0.0), color.canonical(source), WORKING_SPACE)
    return np.maximum(hdr, 0.0).astype(np.float32)


def is_panorama(image: np.ndarray) -> bool:
    """Equirectangular panoramas are exactly twice as wide as high."""
    return image.shape[1] == 2 * image.shape[0]


def perspective_view(
    pano: np.ndarray, yaw_deg: float, pitch_deg: float, fov_deg: float, size: tuple[int, int]
) -> np.ndarray:
    """Sample an equirectangular (H, W, 3) panorama through a pinhole camera (bilinear).

    Args:
        pano: panorama, longitude along x.
        yaw_deg: camera heading.
        pitch_deg: camera elevation.
        fov_deg: horizontal field of view.
        size: output (height, width).
    """
    height, width = size
    focal = 0.5 * width / np.tan(np.radians(fov_deg) / 2)
    x, y = np.meshgrid(np.arange(width) - (width - 1) / 2, np.arange(height) - (height - 1) / 2)
    rays = np.stack([x, -y, np.full_like(x, focal)], axis=-1)
    rays /= np.linalg.norm(rays, axis=-1, keepdims=True)
    pitch, yaw = np.radians(pitch_deg), np.radians(yaw_deg)
    rot_x = np.array(
        [[1, 0, 0], [0, np.cos(pitch), np.sin(pitch)], [0, -np.sin(pitch), np.cos(pitch)]]
    )
    rot_y = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    rays = rays @ (rot_y @ rot_x).T
    lon = np.arctan2(rays[..., 0], rays[..., 2])
    lat = np.arcsin(np.clip(rays[..., 1], -1, 1))
    ph, pw = pano.shape[:2]
    u = (lon / (2 * np.pi) + 0.5) * pw - 0.5
    v = (0.5 - lat / np.pi) * ph - 0.5
    u0, v0 = np.floor(u).astype(int), np.floor(v).astype(int)
    fu, fv = (u - u0)[..., None], (v - v0)[..., None]
    v0c, v1c = np.clip(v0, 0, ph - 1), np.clip(v0 + 1, 0, ph - 1)
    u0w, u1w = u0 % pw, (u0 + 1) % pw
    top = pano[v0c, u0w] * (1 - fu) + pano[v0c, u1w] * fu
    bottom = pano[v1c, u0w] * (1 - fu) + pano[v1c, u1w] * fu
    return (top * (1 - fv) + bottom * fv).astype(np.float32)


def random_view(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random ``size`` x ``size`` view: a perspective view of a panorama, else a crop."""
    if is_panorama(image):
        return perspective_view(
            image,
            yaw_deg=rng.uniform(-180, 180),
            pitch_deg=rng.uniform(-15, 35),
            fov_deg=rng.uniform(50, 90),
            size=(size, size),
        )
    height, width = image.shape[:2]
    if min(height, width) < size:
        raise PlateError(f"image {width}x{height} is smaller than the {size}px crop")
    y = rng.integers(0, height - size + 1)
    x = rng.integers(0, width - size + 1)
    view = image[y : y + size, x : x + size]
    return view[:, ::-1].copy() if rng.random() < 0.5 else view.copy()


@dataclass
class NativePair:
    """One frame of a native pair: an SDR plate frame and its HDR grade."""

    frame: int | None
    sdr: np.ndarray
    hdr: np.ndarray


def native_pairs(
    sdr_pattern: str,
    hdr_pattern: str,
    color: ColorContext,
    *,
    sdr_colorspace: str = SRGB_REC709,
    hdr_colorspace: str = WORKING_SPACE,
    min_correlation: float = 0.8,
) -> Iterator[NativePair]:
    """Frames of an SDR plate sequence and its HDR grade, matched by frame number.

    Each pair is checked for alignment: the correlation between the SDR's and the HDR's
    log-luminance gradients must reach ``min_correlation``.

    Raises:
        PlateError: frames missing on either side, different sizes, or misaligned frames.
    """
    sdr_files = {f.frame: f.path for f in expand_input(sdr_pattern)}
    hdr_files = {f.frame: f.path for f in expand_input(hdr_pattern)}
    missing = sorted(set(sdr_files) ^ set(hdr_files), key=lambda f: -1 if f is None else f)
    if missing:
        raise PlateError(f"{sdr_pattern} and {hdr_pattern} do not have the same frames: {missing}")
    for frame in sorted(sdr_files, key=lambda f: -1 if f is None else f):
        sdr = color.convert(read_image(sdr_files[frame]).rgb, sdr_colorspace, SRGB_REC709)
        hdr = color.convert(read_image(hdr_files[frame]).rgb, hdr_colorspace, WORKING_SPACE)
        if sdr.shape != hdr.shape:
            raise PlateError(f"frame {frame}: SDR {sdr.shape} and HDR {hdr.shape} differ in size")
        correlation = alignment(sdr, hdr, color)
        if correlation < min_correlation:
            raise PlateError(
                f"frame {frame}: SDR {sdr_files[frame]} and HDR {hdr_files[frame]} look "
                f"misaligned (gradient correlation {correlation:.2f} < {min_correlation})"
            )
        yield NativePair(frame, np.clip(sdr, 0, 1), np.maximum(hdr, 0))


def alignment(sdr: np.ndarray, hdr: np.ndarray, color: ColorContext) -> float:
    """Correlation of log-luminance gradients of an SDR frame and an HDR frame (1 = aligned)."""
    linear = color.convert(sdr, SRGB_REC709, WORKING_SPACE)
    weights = LUMA_REC2020
    a = np.log(linear @ weights + 1e-3)
    b = np.log(np.minimum(hdr @ weights, (linear @ weights).max() + 1e-3) + 1e-3)
    ga = np.concatenate([np.diff(a, axis=0).ravel(), np.diff(a, axis=1).ravel()])
    gb = np.concatenate([np.diff(b, axis=0).ravel(), np.diff(b, axis=1).ravel()])
    if ga.std() == 0 or gb.std() == 0:
        return 0.0
    return float(np.corrcoef(ga, gb)[0, 1])


def list_hdr_files(folder: str | Path, names: list[str] | None = None) -> list[Path]:
    """HDR files of ``folder`` (optionally only ``names``), sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"HDR data folder {folder} not found")
    if names is not None:
        return [folder / name for name in names]
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in HDR_SUFFIXES)


def evaluation_views(image: np.ndarray, size: int = 384) -> list[np.ndarray]:
    """Fixed views of an HDR image: 4 headings of a panorama, else the central crop."""
    if is_panorama(image):
        return [perspective_view(image, yaw, 5.0, 75.0, (size, size)) for yaw in (0, 90, 180, 270)]
    height, width = image.shape[:2]
    edge = min(size, height, width) // 32 * 32
    y, x = (height - edge) // 2, (width - edge) // 2
    return [image[y : y + edge, x : x + edge]]
