"""Write ``tests/fixtures/sunset_crop.{png,exr}``: a clipped real plate and its HDR truth.

A 160 px view towards the sun of ``sunset.hdr`` (a *test*-split family of the shared HDR data:
CC0, Poly Haven via pmndrs/assets), exposed so that 4 % of pixels clip, encoded by the
evaluation's sRGB camera (8-bit), with the scene-linear Rec.2020 reference beside it
(half EXR). Tests use it as "a clipped real crop"; no model ever trains on this family.

    python scripts/make_test_crop.py --data FOLDER_OF_HDR_IMAGES
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hdr_plugin.color import ColorContext
from hdr_plugin.io import write_exr
from hdr_plugin.train.data import load_hdr, perspective_view
from hdr_plugin.train.degrade import Pipeline, synthesize

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder holding sunset.hdr")
    args = parser.parse_args()
    color = ColorContext.resolve()
    view = perspective_view(
        load_hdr(Path(args.data) / "sunset.hdr", color), 36.0, 3.0, 60.0, (160, 160)
    )
    camera = Pipeline(curve="srgb", clipped_fraction=0.03, bits=8, noise=0.0, jpeg=0.0)
    pair = synthesize(view, color, np.random.default_rng(0), camera)
    import OpenImageIO as oiio

    OUT.mkdir(parents=True, exist_ok=True)
    png = oiio.ImageBuf(np.ascontiguousarray((pair.sdr * 255).round().astype(np.uint8)))
    png.specmod().attribute("oiio:ColorSpace", "sRGB Encoded Rec.709 (sRGB)")
    png.write(str(OUT / "sunset_crop.png"))
    write_exr(
        OUT / "sunset_crop.exr", pair.hdr, ["R", "G", "B"], {"oiio:ColorSpace": "Linear Rec.2020"}
    )
    clipped = float((pair.sdr.max(axis=-1) >= 254 / 255).mean())
    print(f"wrote {OUT}/sunset_crop.png and .exr ({100 * clipped:.1f} % clipped)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
