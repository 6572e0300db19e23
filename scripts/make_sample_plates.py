"""Make the bundled sample plate sequence: a slow camera pan across a real HDR panorama.

Source: ``venice_sunset_1k.hdr`` from ``../shared/data/hdr/`` (Poly Haven, CC0-1.0; see
that folder's MANIFEST.tsv). The panorama is reprojected to a 75° horizontal field of
view, panned 0.4° per frame over 24 frames (1001-1024), exposed once for the whole shot
so that about 3 % of pixels clip, encoded to sRGB through OCIO and quantised to 8-bit
PNG. The sun and its reflections clip, which is what reconstruction has to undo.

Usage: python scripts/make_sample_plates.py [--source PATH] [--out samples/plates]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

from hdr_plugin.color import LINEAR_REC709, ColorContext
from hdr_plugin.io import read_image

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "hdr" / "venice_sunset_1k.hdr"
WIDTH, HEIGHT = 480, 270
FIRST_FRAME, FRAME_COUNT = 1001, 24
FOV_DEG, START_YAW_DEG, YAW_STEP_DEG, PITCH_DEG = 75.0, 50.0, 0.4, 2.0
CLIPPED_FRACTION = 0.03


def perspective_view(pano: np.ndarray, yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """Sample an equirectangular (H, W, 3) panorama through a pinhole camera (bilinear)."""
    focal = 0.5 * WIDTH / np.tan(np.radians(FOV_DEG) / 2)
    xs = np.arange(WIDTH) - (WIDTH - 1) / 2
    ys = np.arange(HEIGHT) - (HEIGHT - 1) / 2
    x, y = np.meshgrid(xs, ys)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=ROOT / "samples" / "plates")
    args = parser.parse_args()

    color = ColorContext.resolve()
    pano = read_image(args.source).rgb
    views = [
        perspective_view(pano, START_YAW_DEG + i * YAW_STEP_DEG, PITCH_DEG)
        for i in range(FRAME_COUNT)
    ]
    # One exposure for the whole shot (per-frame exposure would flicker).
    middle = views[FRAME_COUNT // 2].max(axis=-1)
    exposure = 1.0 / np.quantile(middle, 1.0 - CLIPPED_FRACTION)

    args.out.mkdir(parents=True, exist_ok=True)
    for i, view in enumerate(views):
        encoded = color.convert(np.clip(view * exposure, 0, 1), LINEAR_REC709, "srgb")
        frame = FIRST_FRAME + i
        path = args.out / f"pan.{frame:04d}.png"
        spec = oiio.ImageSpec(WIDTH, HEIGHT, 3, oiio.UINT8)
        spec.attribute("oiio:ColorSpace", "srgb_rec709_scene")
        spec.attribute("ImageDescription", f"{args.source.name} pan, frame {frame}, CC0-1.0")
        out = oiio.ImageOutput.create(str(path))
        out.open(str(path), spec)
        out.write_image(np.round(encoded * 255).astype(np.uint8))
        out.close()
    clipped = float((views[FRAME_COUNT // 2] * exposure >= 1).any(axis=-1).mean())
    print(f"wrote {FRAME_COUNT} frames to {args.out} (x{exposure:.3f}, {clipped:.1%} clipped)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
