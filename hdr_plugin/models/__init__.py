"""Model registry, the built-in model families and the public names of the model engine.

Importing this package registers every built-in model: one :class:`ModelSpec` each,
read by everything else. The learned families register plain specs; torch is imported only
when one of them is built. Each family is one folder: its spec in ``__init__.py``, a
learned family's network in ``arch.py`` (named by the spec's ``architecture``). Trainers
live above the models, in ``hdr_plugin.train.<family>`` (see ``docs/adding-a-model.md``).
"""

# Registration order is the order `hdr-plugin models` and the panel list them in.
from hdr_plugin.models import (  # noqa: F401  (imported to register)
    analytic,
    camera_curve,
    highlight_unet,
    hybrid,
    layered,
    singlehdr,
    unet,
)
from hdr_plugin.models.engine.networks import NEURAL_PARAMETERS, architecture, build_learned
from hdr_plugin.models.engine.registry import (
    ModelSpec,
    Parameter,
    create_model,
    get_spec,
    learned_models,
    list_models,
    network_models,
    register_model,
)
from hdr_plugin.models.engine.weights import (
    BUNDLED_WEIGHTS,
    WEIGHTS_ENV,
    file_hash,
    has_weights,
    read_card,
    weights_dir,
    weights_path,
    write_card,
)

#: Used when neither the user nor the shot config names a model: the model that gains most
#: over the plain linearisation on the test split's display cameras (docs/evaluation.md),
#: at about the cost of an analytic operator (docs/benchmarks.md).
DEFAULT_MODEL = "highlight-unet"

__all__ = [
    "BUNDLED_WEIGHTS",
    "DEFAULT_MODEL",
    "NEURAL_PARAMETERS",
    "WEIGHTS_ENV",
    "ModelSpec",
    "Parameter",
    "architecture",
    "build_learned",
    "create_model",
    "file_hash",
    "get_spec",
    "has_weights",
    "learned_models",
    "list_models",
    "network_models",
    "read_card",
    "register_model",
    "weights_dir",
    "weights_path",
    "write_card",
]
