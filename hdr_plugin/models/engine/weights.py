"""Weights on disk: where they are, safetensors plus a JSON model card, never a pickle.

A ``.pt``/``.pth`` file is a pickle and can run code when loaded. Shipped and trained
weights are safetensors; the only pickles accepted are third-party state dicts a user
already has (e.g. an ImageNet backbone), and only through ``torch.load(weights_only=True)``,
which refuses anything but tensors and plain containers.

Finding weights needs no torch (listing models stays light); loading them imports it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hdr_plugin.errors import ModelError
from hdr_plugin.io import atomic_write

if TYPE_CHECKING:
    import torch
    from torch import nn

    from hdr_plugin.models.engine.registry import ModelSpec

PICKLE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".pkl")
WEIGHTS_ENV = "HDR_PLUGIN_WEIGHTS"
BUNDLED_WEIGHTS = Path(__file__).resolve().parents[2] / "weights"


def weights_dir() -> Path:
    """Folder of ``<model>.safetensors`` files: ``$HDR_PLUGIN_WEIGHTS``, else the bundled one."""
    env = os.environ.get(WEIGHTS_ENV)
    return Path(env) if env else BUNDLED_WEIGHTS


def weights_path(spec: ModelSpec) -> Path:
    """Where the weights of ``spec`` are looked for."""
    if spec.weights is None:
        raise ModelError(f"model {spec.name!r} has no weights file (it is analytic)")
    return weights_dir() / spec.weights


def has_weights(spec: ModelSpec) -> bool:
    """Whether a model can render: analytic, or its weights file exists."""
    return spec.weights is None or weights_path(spec).is_file()


def file_hash(path: str | os.PathLike[str]) -> str:
    """``sha256:<hex>`` of a file, recorded in EXR provenance and model cards."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def card_path(weights: str | os.PathLike[str]) -> Path:
    """The model card that sits beside a weights file (``x.safetensors`` -> ``x.json``)."""
    return Path(weights).with_suffix(".json")


def write_card(weights: str | os.PathLike[str], card: Mapping[str, Any]) -> str:
    """Write ``card`` beside ``weights``, stamped with the weights' hash; returns the hash."""
    digest = file_hash(weights)
    with atomic_write(card_path(weights)) as temporary:
        temporary.write_text(json.dumps({**card, "weights_hash": digest}, indent=2) + "\n")
    return digest


def save_weights(module: nn.Module, path: str | os.PathLike[str], card: Mapping[str, Any]) -> str:
    """Write ``module``'s state dict as safetensors and ``card`` as JSON beside it.

    Returns:
        The weights hash, also stored in the card as ``weights_hash``.
    """
    from safetensors.torch import save_file

    path = Path(path)
    state = {
        name: tensor.detach().cpu().contiguous() for name, tensor in module.state_dict().items()
    }
    with atomic_write(path) as temporary:
        save_file(state, str(temporary))
    return write_card(path, card)


def read_card(weights: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON model card beside ``weights`` ({} when there is none)."""
    path = card_path(weights)
    if not path.is_file():
        return {}
    try:
        card = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ModelError(f"model card {path} is not valid JSON: {exc}") from exc
    if not isinstance(card, dict) or not isinstance(card.get("architecture", {}), dict):
        raise ModelError(
            f"model card {path} must be a JSON object whose 'architecture' is an object"
        )
    return card


def load_state_dict(
    path: str | os.PathLike[str], *, allow_torch_state_dict: bool = False
) -> dict[str, torch.Tensor]:
    """Load tensors from a safetensors file (or, when allowed, a tensors-only torch file).

    Args:
        path: ``.safetensors`` file; or a ``.pt``/``.pth`` state dict when
            ``allow_torch_state_dict`` is set (e.g. a user's ImageNet backbone).
        allow_torch_state_dict: accept torch files through ``weights_only=True``.

    Raises:
        ModelError: missing file, a pickle where safetensors is required, a pickle that
            holds more than tensors, or a corrupt file.
    """
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"weights file {path} not found")
    if path.suffix.lower() in PICKLE_SUFFIXES or _looks_like_pickle(path):
        if not allow_torch_state_dict:
            raise ModelError(
                f"{path} is a pickle (torch.save) file; hdr_plugin loads weights only from "
                "safetensors. Convert it with safetensors.torch.save_file(state_dict, ...)"
            )
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises UnpicklingError and others for unsafe content
            raise ModelError(f"{path}: refused, not a plain tensor state dict ({exc})") from exc
        if not isinstance(state, Mapping) or not all(
            isinstance(v, torch.Tensor) for v in state.values()
        ):
            raise ModelError(f"{path}: expected a state dict of tensors")
        return _finite(dict(state), path)
    try:
        state = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{path}: not a readable safetensors file ({exc})") from exc
    return _finite(state, path)


def _finite(state: dict, path: Path) -> dict:
    """``state``, unless a floating-point tensor holds NaN or infinity (a diverged run)."""
    import torch

    for name, tensor in state.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ModelError(
                f"{path}: tensor {name!r} holds non-finite values (NaN or infinity); these "
                "weights come from a diverged run and would render garbage"
            )
    return state


def _looks_like_pickle(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(2)
    # Raw pickles start with PROTO (0x80); torch.save's zip container starts with "PK".
    return head[:1] == b"\x80" or head == b"PK"


def apply_state_dict(module: nn.Module, state: Mapping[str, torch.Tensor], *, source: str) -> None:
    """Load ``state`` into ``module`` strictly, naming the first layer that does not fit.

    Raises:
        ModelError: a missing or unexpected key, or a shape mismatch, with the layer name
            and both shapes.
    """
    check_state_dict(module, state, source=source)
    module.load_state_dict(dict(state), strict=True)


def check_state_dict(module: nn.Module, state: Mapping[str, torch.Tensor], *, source: str) -> None:
    """Check that ``state`` has exactly ``module``'s layers, in its shapes (no copying).

    Raises:
        ModelError: as :func:`apply_state_dict`.
    """
    expected = module.state_dict()
    for name, tensor in expected.items():
        if name not in state:
            raise ModelError(f"{source}: no weights for layer {name!r} {tuple(tensor.shape)}")
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise ModelError(
                f"{source}: layer {name!r} has shape {tuple(state[name].shape)} in the file "
                f"but {tuple(tensor.shape)} in the model (wrong width or depth?)"
            )
    unexpected = sorted(set(state) - set(expected))
    if unexpected:
        raise ModelError(f"{source}: unexpected layer {unexpected[0]!r} (file is another model?)")
