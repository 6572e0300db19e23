"""Validate that the shot's model can render and record its weights hash."""

import pyblish.api

from hdr_plugin.models import file_hash, get_spec, has_weights, weights_path


class ValidateModel(pyblish.api.InstancePlugin):
    """The model is registered and, if learned, has weights; their hash is recorded.

    Reads ``instance.data``: ``shot``. Writes ``instance.data``: ``model``, ``weightsHash``.
    """

    order = pyblish.api.ValidatorOrder
    families = ["hdr"]
    label = "Validate model"

    def process(self, instance):
        spec = get_spec(instance.data["shot"].settings.model)
        if not has_weights(spec):
            raise ValueError(f"model {spec.name!r} has no weights ({weights_path(spec)} missing)")
        instance.data["model"] = spec.name
        instance.data["weightsHash"] = (
            file_hash(weights_path(spec)) if spec.weights else "none (analytic)"
        )
