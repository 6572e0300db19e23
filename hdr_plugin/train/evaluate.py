"""Evaluate models on the test split under fixed camera pipelines.

For every test image (scene families never used to train or choose anything) a fixed set
of views (four perspective views of a panorama, the centre of a photograph) is degraded by
each evaluation pipeline (:data:`EVALUATION_PIPELINES`: sRGB with 2 % and 8 % clipped, 10-bit
gamma 2.4, Hable filmic) with a seed per image, reconstructed by each model through
:class:`hdr_plugin.node.ReconstructNode` with the plate colourspace a user would name
(sRGB for the filmic camera, whose curve has no name), and scored by
:func:`hdr_plugin.train.metrics.score`. A model named ``NAME@auto`` runs with
``--input-colorspace auto`` instead (the camera curve estimated from the plate).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from hdr_plugin.color import LINEAR_REC709, WORKING_SPACE, ColorContext
from hdr_plugin.errors import ConfigError
from hdr_plugin.node import AUTO, ReconstructNode, ReconstructSettings
from hdr_plugin.train.data import evaluation_views, list_hdr_files, load_hdr, load_split
from hdr_plugin.train.degrade import EVALUATION_PIPELINES, synthesize
from hdr_plugin.train.metrics import has_flip, score

METRICS = ("pu21_psnr", "pu21_psnr_clipped", "log_psnr", "pu21_ssim")
#: Scored as well when ``flip-evaluator`` is installed.
FLIP = "hdr_flip"


def evaluate(
    models: Iterable[str],
    *,
    data: str | Path,
    color: ColorContext | None = None,
    pipelines: Iterable[str] = tuple(EVALUATION_PIPELINES),
    split: str = "test",
    limit: int | None = None,
    view_size: int = 384,
) -> dict[str, dict[str, dict[str, float]]]:
    """Mean metrics per model and pipeline: ``result[model][pipeline][metric]``."""
    color = color or ColorContext.resolve()
    pipelines = list(pipelines)
    for name in pipelines:
        if name not in EVALUATION_PIPELINES:
            raise ConfigError(
                f"evaluate: unknown pipeline {name!r}; pipelines: {', '.join(EVALUATION_PIPELINES)}"
            )
    files = list_hdr_files(data, load_split(data)[split])[:limit]
    nodes = {name: _node(name, color) for name in models}
    scores: dict[str, dict[str, list[dict[str, float]]]] = {
        name: {p: [] for p in pipelines} for name in nodes
    }

    def to_rec709(rgb: np.ndarray) -> np.ndarray:
        return color.convert(rgb, WORKING_SPACE, LINEAR_REC709)

    for index, path in enumerate(files):
        for view_index, view in enumerate(evaluation_views(load_hdr(path, color), view_size)):
            for pipeline in pipelines:
                rng = np.random.default_rng([index, view_index])
                pair = synthesize(view, color, rng, EVALUATION_PIPELINES[pipeline])
                for name, node in nodes.items():
                    prediction = node.process_frame(
                        pair.sdr, input_colorspace=EVALUATION_PIPELINES[pipeline].plate_colorspace
                    ).rgb
                    scores[name][pipeline].append(
                        score(prediction, pair.hdr, pair.sdr, to_rec709=to_rec709)
                    )
    return {
        name: {
            pipeline: {
                metric: float(np.nanmean([s[metric] for s in values]))
                for metric in (*METRICS, *([FLIP] if has_flip() else []))
            }
            | {"images": len(values)}
            for pipeline, values in per_pipeline.items()
        }
        for name, per_pipeline in scores.items()
    }


def _node(name: str, color: ColorContext) -> ReconstructNode:
    model, _, variant = name.partition("@")
    if variant not in ("", AUTO):
        raise ConfigError(f"evaluate: model {name!r}; append nothing or @{AUTO}")
    return ReconstructNode(
        ReconstructSettings(model=model, input_colorspace=variant or None), color
    )


def format_table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """Markdown: one table per pipeline, a row per model, differences from ``linear``.

    Columns: PU21-PSNR of the whole image and of the clipped region, log-PSNR, PU21-SSIM,
    HDR-FLIP (when scored), and, when ``linear`` was evaluated, each model's PU21-PSNR gain
    over it (whole / clipped) in dB.
    """
    pipelines = list(next(iter(results.values())))
    flip = FLIP in next(iter(results.values()))[pipelines[0]]
    baseline = results.get("linear")
    names = ["PU21-PSNR", "clipped PU21-PSNR", "log-PSNR", "PU21-SSIM", *(["HDR-FLIP"] * flip)]
    if baseline is not None:
        names.append("vs linear (whole / clipped)")
    tables = []
    for pipeline in pipelines:
        lines = [f"{pipeline} ({results[next(iter(results))][pipeline]['images']} views)", ""]
        lines += ["| model | " + " | ".join(f"{pipeline} {n}" for n in names) + " |"]
        lines.append("|---" * (1 + len(names)) + "|")
        for name, per_pipeline in results.items():
            r = per_pipeline[pipeline]
            cells = [f"{r[m]:.2f}" if not math.isnan(r[m]) else "-" for m in METRICS[:3]]
            cells.append(f"{r['pu21_ssim']:.4f}")
            if flip:
                cells.append(f"{r[FLIP]:.4f}")
            if baseline is not None:
                b = baseline[pipeline]
                whole, clipped = (r[m] - b[m] for m in ("pu21_psnr", "pu21_psnr_clipped"))
                cells.append(f"{whole:+.2f} / {clipped:+.2f}")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        tables.append("\n".join(lines))
    return "\n\n".join(tables)
