"""Validate that a shot's plate frames exist, read, agree in size and hold finite pixels."""

import numpy as np
import pyblish.api

from hdr_plugin.errors import HdrPluginError
from hdr_plugin.io import read_image
from hdr_plugin.node import ReconstructNode

_MAX_LISTED = 5


class ValidatePlates(pyblish.api.InstancePlugin):
    """Every frame present and readable, colourspace known, one resolution, no NaN/Inf.

    Reads ``instance.data``: ``tasks``, ``planError``, ``shot``, ``color``.
    Writes ``instance.data``: ``resolution`` (width, height).
    """

    order = pyblish.api.ValidatorOrder
    families = ["hdr"]
    label = "Validate plates"

    def process(self, instance):
        if instance.data.get("planError"):
            raise ValueError(instance.data["planError"])
        node = ReconstructNode(instance.data["shot"].settings, instance.data["color"])
        problems, sizes = [], set()
        for task in instance.data["tasks"]:
            try:
                image = read_image(task.plate, frame=task.frame)
                node.resolve_input_colorspace(image.colorspace, source=task.plate)
            except HdrPluginError as exc:
                problems.append(str(exc))
                continue
            sizes.add(image.pixels.shape[1::-1])
            if not np.isfinite(image.pixels).all():
                problems.append(f"{task.plate} (frame {task.frame}): NaN or Inf pixels")
        if len(sizes) > 1:
            problems.append(f"frames differ in resolution: {sorted(sizes)}")
        if problems:
            more = f" (+{len(problems) - _MAX_LISTED} more)" if len(problems) > _MAX_LISTED else ""
            raise ValueError("; ".join(problems[:_MAX_LISTED]) + more)
        instance.data["resolution"] = sizes.pop() if sizes else None
