"""Pack the shared HDR photographs into a compact copy for a remote training machine.

Each training and validation file of the HDR data folder (the test split stays behind) is
read with its chromaticities honoured, converted to scene-linear Rec.2020 through OCIO
(hdr_plugin.train.data.load_hdr), and written as a half-float DWAA EXR tagged
lin_rec2020_scene under the same stem (49 files, 29 MB instead of 86 MB).
``hdr_plugin.train.data.load_split`` takes the copy for the shared data, so a run on it
trains and validates on the committed split.

Usage: python scripts/pack_training_data.py --source FOLDER_OF_HDR_IMAGES [--out .traindata]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

from hdr_plugin.color import ColorContext
from hdr_plugin.train.data import list_hdr_files, load_hdr, load_split


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path(".traindata"))
    args = parser.parse_args()
    color = ColorContext.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    split = load_split(args.source)
    for path in list_hdr_files(args.source, split["train"] + split["validation"]):
        hdr = np.minimum(load_hdr(path, color), 65000.0)
        target = args.out / f"{path.stem}.exr"
        spec = oiio.ImageSpec(hdr.shape[1], hdr.shape[0], 3, oiio.HALF)
        spec.attribute("compression", "dwaa:45")
        spec.attribute("oiio:ColorSpace", "lin_rec2020_scene")
        output = oiio.ImageOutput.create(str(target))
        output.open(str(target), spec)
        output.write_image(hdr)
        output.close()
    copy = load_split(args.out)
    same = all(
        [Path(f).stem for f in copy[name]] == [Path(f).stem for f in split[name]]
        for name in ("train", "validation")
    )
    print(f"packed {args.source} into {args.out}; same split: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
