"""Make the bundled sample plate sequence: a slow camera pan across a real HDR panorama.

Source: ``venice_sunset_1k.hdr`` of the HDR training data (Poly Haven, CC0-1.0; see the
data set's MANIFEST.tsv). The panorama is reprojected to a 75° horizontal field of
view, panned 0.4° per frame over 24 frames (1001-1024), exposed once for the whole shot
so that about 3 % of pixels clip, encoded to sRGB through OCIO and quantised to 8-bit
PNG. The sun and its reflections clip, which is what reconstruction has to undo.

Also writes ``samples/mattes/sun.png``: a soft matte around the sun of the middle frame,
one still matte for the whole shot (the shot config ``samples/shots.toml`` uses it).

Usage: python scripts/make_sample_plates.py --source venice_sunset_1k.hdr [--out samples/plates]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

from hdr_plugin.color import LINEAR_REC709, ColorContext
from hdr_plugin.io import read_image
from hdr_plugin.train.data import perspective_view

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 480, 270
FIRST_FRAME, FRAME_COUNT = 1001, 24
FOV_DEG, START_YAW_DEG, YAW_STEP_DEG, PITCH_DEG = 75.0, 50.0, 0.4, 2.0
CLIPPED_FRACTION = 0.03


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="venice_sunset_1k.hdr")
    parser.add_argument("--out", type=Path, default=ROOT / "samples" / "plates")
    args = parser.parse_args()

    color = ColorContext.resolve()
    pano = read_image(args.source).rgb
    views = [
        perspective_view(
            pano, START_YAW_DEG + i * YAW_STEP_DEG, PITCH_DEG, FOV_DEG, (HEIGHT, WIDTH)
        )
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
    write_matte(views[FRAME_COUNT // 2] * exposure, args.out.parent / "mattes" / "sun.png")
    clipped = float((views[FRAME_COUNT // 2] * exposure >= 1).any(axis=-1).mean())
    print(f"wrote {FRAME_COUNT} frames to {args.out} (x{exposure:.3f}, {clipped:.1%} clipped)")
    return 0


def write_matte(exposed: np.ndarray, path: Path) -> None:
    """An 8-bit grey matte: 1 over the clipped sun and its glow, falling off smoothly."""
    from scipy.ndimage import gaussian_filter

    clipped = (exposed.max(axis=-1) >= 1.0).astype(np.float32)
    matte = np.clip(gaussian_filter(clipped, 12.0) * 6.0, 0.0, 1.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    spec = oiio.ImageSpec(matte.shape[1], matte.shape[0], 1, oiio.UINT8)
    out = oiio.ImageOutput.create(str(path))
    out.open(str(path), spec)
    out.write_image(np.round(matte[..., None] * 255).astype(np.uint8))
    out.close()


if __name__ == "__main__":
    raise SystemExit(main())
