"""Model registry and the built-in model families.

Importing this package registers every built-in model. The learned families register
plain specs; torch is imported only when one of them is built.
"""

from hdr_plugin.models import analytic, hybrid, layered, singlehdr, unet  # noqa: F401
from hdr_plugin.models._registry import (
    ModelSpec,
    Parameter,
    create_model,
    get_spec,
    list_models,
    register_model,
)

#: Used when neither the user nor the shot config names a model.
#: The best-measured expanding operator on the validation split (README, "Choosing the
#: default"); no learned model yet beats the plain linearisation there.
DEFAULT_MODEL = "bt2446c-inverse"

__all__ = [
    "DEFAULT_MODEL",
    "ModelSpec",
    "Parameter",
    "create_model",
    "get_spec",
    "list_models",
    "register_model",
]
