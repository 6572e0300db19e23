"""Model registry and the built-in model families.

Importing this package registers every built-in model. The learned families register
plain specs; torch is imported only when one of them is built.
"""

from hdr_plugin.models import (  # noqa: F401
    analytic,
    highlight,
    highlight_unet,
    hybrid,
    layered,
    singlehdr,
    unet,
)
from hdr_plugin.models._registry import (
    ModelSpec,
    Parameter,
    create_model,
    get_spec,
    list_models,
    register_model,
)

#: Used when neither the user nor the shot config names a model: the only model that beats
#: the plain linearisation on the validation split, on the whole image and in the clipped
#: region, for both camera pipelines (README, "Choosing the default"), at about the cost of
#: an analytic operator.
DEFAULT_MODEL = "highlight-expand"

__all__ = [
    "DEFAULT_MODEL",
    "ModelSpec",
    "Parameter",
    "create_model",
    "get_spec",
    "list_models",
    "register_model",
]
