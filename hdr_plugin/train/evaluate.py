"""Evaluate models on the test split under fixed camera pipelines.

For every test image (scene families never used to train or choose anything) a fixed set
of views (four perspective views of a panorama, the centre of a photograph) is degraded by
each camera (:data:`EVALUATION_PIPELINES`, the model cards' cameras: sRGB with 2 % and 8 %
clipped, 10-bit gamma 2.4, tone-mapped curves and views; :data:`DELIVERY_PIPELINES`: the
same plates losslessly, as a camera JPEG and as an H.264 frame) with a seed per image,
reconstructed by each model through :class:`hdr_plugin.node.ReconstructNode` with the
plate colourspace a user would name (sRGB for the filmic camera, whose curve has no name;
for a camera of a show's view, the view itself under the show's config, as
``--input-view``), and scored by :func:`hdr_plugin.train.metrics.score`. A model named
``NAME@auto`` runs with ``--input-colorspace auto`` instead (the camera curve estimated
from the plate), except on a camera named by its view.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from hdr_plugin.color import LINEAR_REC709, WORKING_SPACE, ColorContext
from hdr_plugin.errors import ConfigError
from hdr_plugin.models import DEFAULT_MODEL
from hdr_plugin.node import AUTO, ReconstructNode, ReconstructSettings
from hdr_plugin.train.data import evaluation_views, list_hdr_files, load_hdr, load_split
from hdr_plugin.train.degrade import CAMERA_FAMILIES, CAMERAS, EVALUATION_PIPELINES, synthesize
from hdr_plugin.train.metrics import has_flip, score
from hdr_plugin.train.peers import LIBPLACEBO, libplacebo_inverse, libplacebo_missing

METRICS = (
    "pu21_psnr",
    "pu21_psnr_clipped",
    "log_psnr",
    "pu21_ssim",
    "boundary_step",
    "speckle_share",
    "speckle_roughness",
)
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
    peers: bool = True,
) -> dict[str, dict[str, dict[str, float]]]:
    """Mean metrics per model and pipeline: ``result[model][pipeline][metric]``.

    ``models`` are registry names, ``NAME@auto`` (the plate's camera curve estimated) or
    :data:`~hdr_plugin.train.peers.LIBPLACEBO`; with ``peers``, libplacebo is added when
    ffmpeg with libplacebo is installed, so the peer is measured on the same plates.

    Raises:
        ConfigError: an unknown pipeline or model, or libplacebo asked for but missing.
    """
    color = color or ColorContext.resolve()
    pipelines = list(pipelines)
    for name in pipelines:
        if name not in CAMERAS:
            raise ConfigError(
                f"evaluate: unknown pipeline {name!r}; pipelines: {', '.join(CAMERAS)}"
            )
    files = list_hdr_files(data, load_split(data)[split])[:limit]
    models = list(models)
    if peers and LIBPLACEBO not in models and libplacebo_missing() is None:
        models.append(LIBPLACEBO)
    nodes = {name: _predictor(name, color) for name in models}
    viewed = {
        (name, p): _predictor(name, ColorContext(camera.config or color.config_path), camera.view)
        for p in pipelines
        if (camera := CAMERAS[p]).named_view
        for name in models
    }
    scores: dict[str, dict[str, list[dict[str, float]]]] = {
        name: {p: [] for p in pipelines} for name in nodes
    }

    def to_rec709(rgb: np.ndarray) -> np.ndarray:
        return color.convert(rgb, WORKING_SPACE, LINEAR_REC709)

    for index, path in enumerate(files):
        for view_index, view in enumerate(evaluation_views(load_hdr(path, color), view_size)):
            for pipeline in pipelines:
                rng = np.random.default_rng([index, view_index])
                pair = synthesize(view, color, rng, CAMERAS[pipeline])
                named = CAMERAS[pipeline].plate_colorspace
                for name, predict in nodes.items():
                    prediction = viewed.get((name, pipeline), predict)(pair.sdr, named)
                    scores[name][pipeline].append(
                        score(
                            prediction, pair.hdr, pair.sdr, to_rec709=to_rec709, stored=pair.stored
                        )
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


def _predictor(
    name: str, color: ColorContext, view: str | None = None
) -> Callable[[np.ndarray, str], np.ndarray]:
    """``predict(code, named_colourspace)`` -> scene-linear Rec.2020 for one model or peer.

    With ``view``, the plate is named by that view of ``color``'s config (``--input-view``)
    and ``named_colourspace`` is not used (but by the peer, which knows no views).
    """
    if name == LIBPLACEBO:
        missing = libplacebo_missing()
        if missing:
            raise ConfigError(f"evaluate: the {LIBPLACEBO} peer cannot run: {missing}")
        return libplacebo_inverse
    model, _, variant = name.partition("@")
    if variant not in ("", AUTO):
        raise ConfigError(f"evaluate: model {name!r}; append nothing or @{AUTO}")
    if view is not None:
        node = ReconstructNode(ReconstructSettings(model=model, input_view=view), color)
        return lambda code, named: node.process_frame(code).rgb
    node = ReconstructNode(
        ReconstructSettings(model=model, input_colorspace=variant or None), color
    )
    return lambda code, named: node.process_frame(code, input_colorspace=named).rgb


def held_shot(
    frames: list[np.ndarray],
    color: ColorContext,
    model: str = DEFAULT_MODEL,
    options: dict[str, Any] | None = None,
) -> list[np.ndarray]:
    """A shot's frames reconstructed as the render loops do: statistics held from its middle.

    ``frames`` are display-encoded sRGB plates in [0, 1]; the result is scene-linear
    Rec.2020, one array per frame.
    """
    node = ReconstructNode(ReconstructSettings(model=model, model_options=options or {}), color)
    node.hold_statistics(frames[len(frames) // 2])
    return [node.process(frame) for frame in frames]


def format_table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """Markdown: the per-camera summary, then one table per camera, a row per model.

    The summary has a column per camera (its curve family in the header) and, per model,
    the PU21-PSNR gain over ``linear`` (whole / clipped, dB). The camera tables hold
    PU21-PSNR of the whole image and of the clipped region, log-PSNR, PU21-SSIM, the clip
    boundary's step against the truth's (stops; above 0 is a harder edge than the scene's),
    the speckle measures (the share of truly clipped channels left at the clip, and the
    roughness of the clipped regions against the truth's, stops), HDR-FLIP (when scored),
    and the gain over ``linear``.
    """
    pipelines = list(next(iter(results.values())))
    flip = FLIP in next(iter(results.values()))[pipelines[0]]
    baseline = results.get("linear")
    tables = []
    if baseline is not None:
        header = [f"{p} ({CAMERA_FAMILIES.get(p, '?')})" for p in pipelines]
        lines = ["Gain over linear, PU21-PSNR whole / clipped (dB)", ""]
        lines += ["| model | " + " | ".join(header) + " |", "|---" * (1 + len(header)) + "|"]
        for name, per_pipeline in results.items():
            cells = [_gain(per_pipeline[p], baseline[p]) for p in pipelines]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        tables.append("\n".join(lines))
    names = ["PU21-PSNR", "clipped PU21-PSNR", "log-PSNR", "PU21-SSIM", "boundary step"]
    names += ["left at the clip", "clip roughness"]
    names += ["HDR-FLIP"] * flip + ["vs linear (whole / clipped)"] * (baseline is not None)
    for pipeline in pipelines:
        lines = [f"{pipeline} ({results[next(iter(results))][pipeline]['images']} views)", ""]
        lines += ["| model | " + " | ".join(f"{pipeline} {n}" for n in names) + " |"]
        lines.append("|---" * (1 + len(names)) + "|")
        for name, per_pipeline in results.items():
            r = per_pipeline[pipeline]
            cells = [f"{r[m]:.2f}" if not math.isnan(r[m]) else "-" for m in METRICS[:3]]
            cells.append(f"{r['pu21_ssim']:.4f}")
            cells.append(
                f"{r['boundary_step']:+.3f}" if not math.isnan(r["boundary_step"]) else "-"
            )
            share, rough = r.get("speckle_share", math.nan), r.get("speckle_roughness", math.nan)
            cells.append(f"{100 * share:.1f} %" if not math.isnan(share) else "-")
            cells.append(f"{rough:+.3f}" if not math.isnan(rough) else "-")
            if flip:
                cells.append(f"{r[FLIP]:.4f}")
            if baseline is not None:
                cells.append(_gain(r, baseline[pipeline]))
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        tables.append("\n".join(lines))
    return "\n\n".join(tables)


def _gain(result: dict[str, float], baseline: dict[str, float]) -> str:
    whole, clipped = (result[m] - baseline[m] for m in ("pu21_psnr", "pu21_psnr_clipped"))
    return f"{whole:+.2f} / {clipped:+.2f}"
