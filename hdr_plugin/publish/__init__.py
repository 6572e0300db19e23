"""Publishing HDR renders through pyblish-base.

Plugins, one per file, in pyblish order: :class:`CollectShots` (an instance per shot),
:class:`ValidatePlates`, :class:`ValidateModel`, :class:`ExtractHDR` (render) and
:class:`IntegratePublish` (versioned folder + JSON manifest). A failed validation stops
the publish before anything is rendered.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hdr_plugin.errors import HdrPluginError
from hdr_plugin.publish.collect_shots import CollectShots
from hdr_plugin.publish.extract_hdr import ExtractHDR
from hdr_plugin.publish.integrate_publish import IntegratePublish
from hdr_plugin.publish.validate_model import ValidateModel
from hdr_plugin.publish.validate_plates import ValidatePlates

PLUGINS = (CollectShots, ValidatePlates, ValidateModel, ExtractHDR, IntegratePublish)


def publish(
    shots_file: str | Path,
    publish_root: str | Path,
    *,
    ocio_config: str | None = None,
    shots: list[str] | None = None,
    workers: int = 1,
    progress: bool = False,
):
    """Run the publish; returns the pyblish context.

    Raises:
        HdrPluginError: any plugin failed; the message lists ``Plugin (shot): error`` for
            each failure, validation failures first.
    """
    import pyblish.api
    import pyblish.util

    context = pyblish.api.Context()
    context.data.update(
        shotsFile=str(shots_file),
        publishRoot=str(publish_root),
        ocioConfig=ocio_config,
        shotNames=shots,
        workers=workers,
        progress=progress,
    )
    pyblish_log = logging.getLogger("pyblish")
    level = pyblish_log.level
    pyblish_log.setLevel(logging.CRITICAL)  # failures are reported below, one per line
    try:
        pyblish.util.publish(context=context, plugins=list(PLUGINS))
    finally:
        pyblish_log.setLevel(level)
    failures = [
        # an Instance is a list (falsy when empty): compare with None
        f"{r['plugin'].__name__} ({'context' if r['instance'] is None else r['instance'].name}): "
        f"{r['error']}"
        for r in context.data.get("results", [])
        if r["error"] is not None
    ]
    if failures:
        raise HdrPluginError("publish stopped: " + "; ".join(failures))
    return context


__all__ = ["PLUGINS", "publish"]
