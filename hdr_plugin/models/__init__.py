"""Model registry and the built-in model families.

Importing this package registers the built-in models; look them up with
:func:`get_spec`, :func:`list_models` and :func:`create_model`.
"""

from hdr_plugin.models import analytic as _analytic  # noqa: F401  (registers operators)
from hdr_plugin.models._registry import (
    ModelSpec,
    Parameter,
    create_model,
    get_spec,
    list_models,
    register_model,
)

#: Used when neither the user nor the shot config names a model.
DEFAULT_MODEL = "inverse-mobius"

__all__ = [
    "DEFAULT_MODEL",
    "ModelSpec",
    "Parameter",
    "create_model",
    "get_spec",
    "list_models",
    "register_model",
]
