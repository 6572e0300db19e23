"""Render the shot's frames."""

import pyblish.api


class ExtractHDR(pyblish.api.InstancePlugin):
    """Render every frame task (resuming complete ones).

    Reads ``instance.data``: ``tasks``; ``context.data``: ``workers``, ``progress``.
    Writes ``instance.data``: ``outputs`` (frame, path) in frame order.
    """

    order = pyblish.api.ExtractorOrder
    families = ["hdr"]
    label = "Extract HDR"

    def process(self, instance):
        from hdr_plugin.batch import execute

        context = instance.context
        results = execute(
            instance.data["tasks"],
            workers=context.data.get("workers", 1),
            progress=context.data.get("progress", False),
        )
        failed = [r.error for r in results if r.error]
        if failed:
            raise RuntimeError(f"{len(failed)} frame(s) failed: {failed[0]}")
        instance.data["outputs"] = [(r.task.frame, r.output) for r in results]
