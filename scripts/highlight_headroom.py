"""How much clipped-region PU21-PSNR any highlight expansion could gain over ``linear``.

On the evaluation views (``hdr-plugin evaluate``'s validation split, both camera
pipelines) the plain OCIO linearisation is compared with two oracles that know the
reference HDR and change only clipped channels (SDR code value >= 254/255):

* best constant: the single boost per image, from a grid, that maximises that image's
  clipped-region PU21-PSNR -- what a model that only guesses "how bright is this shot's
  highlight" could reach at best;
* smooth field: the reference's own log ratio to the clip, blurred (sigma 4 px) -- what a
  model that localises highlights but not their texture could reach.

Usage: python scripts/highlight_headroom.py --data FOLDER_OF_HDR_IMAGES
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.ndimage import gaussian_filter

from hdr_plugin.color import ColorContext
from hdr_plugin.node import ReconstructNode, ReconstructSettings
from hdr_plugin.train.data import list_hdr_files, load_hdr, load_split
from hdr_plugin.train.degrade import EVALUATION_PIPELINES, synthesize
from hdr_plugin.train.evaluate import evaluation_views
from hdr_plugin.train.metrics import score

BOOSTS = (1.0, 1.05, 1.1, 1.2, 1.35, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 16.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    args = parser.parse_args()
    color = ColorContext.resolve()
    node = ReconstructNode(ReconstructSettings(model="linear"), color)
    files = list_hdr_files(args.data, load_split(args.data)["validation"])
    rows: dict[str, list[tuple[float, ...]]] = {p: [] for p in EVALUATION_PIPELINES}
    for index, path in enumerate(files):
        for view_index, view in enumerate(evaluation_views(load_hdr(path, color))):
            for name, pipeline in EVALUATION_PIPELINES.items():
                pair = synthesize(view, color, np.random.default_rng([index, view_index]), pipeline)
                linear = node.process_frame(pair.sdr, input_colorspace="srgb").rgb
                clipped = pair.sdr >= 254.0 / 255.0

                def clipped_psnr(boost: np.ndarray | float, lin=linear, c=clipped, p=pair):
                    return score(np.where(c, lin * boost, lin), p.hdr, p.sdr)["pu21_psnr_clipped"]

                best = max(clipped_psnr(k) for k in BOOSTS)
                ratio = np.where(clipped, np.maximum(pair.hdr, 1e-6) / np.maximum(linear, 1e-6), 1)
                field = np.exp(gaussian_filter(np.log(ratio), (4, 4, 0)))
                rows[name].append((clipped_psnr(1.0), best, clipped_psnr(field)))
    print("| camera | linear clipped PU21-PSNR | best constant boost | smooth field |")
    print("|---|---|---|---|")
    for name, values in rows.items():
        mean = np.nanmean(np.array(values), axis=0)
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in mean) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
