"""Collect one instance per shot of the shot config."""

import pyblish.api

from hdr_plugin.color import ColorContext
from hdr_plugin.errors import HdrPluginError


class CollectShots(pyblish.api.ContextPlugin):
    """Create an ``hdr`` instance per shot.

    Reads ``context.data``: ``shotsFile``, ``ocioConfig``, ``shotNames``.
    Writes ``instance.data``: ``shot`` (Shot), ``tasks`` (frame tasks) or ``planError``
    (why the frames could not be listed; reported by ValidatePlates), ``color``.
    """

    order = pyblish.api.CollectorOrder
    label = "Collect shots"

    def process(self, context):
        from hdr_plugin.batch import plan
        from hdr_plugin.shots import load_shots

        color = ColorContext.resolve(context.data.get("ocioConfig"))
        config = load_shots(context.data["shotsFile"], color)
        for shot in config.select(context.data.get("shotNames")):
            instance = context.create_instance(shot.name, family="hdr")
            instance.data.update(shot=shot, color=color, tasks=[], planError=None)
            try:
                instance.data["tasks"] = plan([shot], ocio_config=color.config_path)
            except HdrPluginError as exc:
                instance.data["planError"] = str(exc)
