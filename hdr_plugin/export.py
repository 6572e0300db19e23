"""Export a learned model as a single-input, single-output TorchScript module.

The exported module is what Nuke's Inference node loads through CatFileCreator:

* input: (N, 3, H, W) float32 RGB in the model's input encoding, values in [0, 1]
  (``sRGB Encoded Rec.709 (sRGB)`` code values for the image networks, ``Linear Rec.709
  (sRGB)`` for ``highlight-unet``; in Nuke, an OCIOColorSpace before Inference converts the
  plate to it, and the sidecar names it);
* output: (N, 3, H, W) float32 RGB, **scene-linear Rec.2020, SDR reference white = 1.0**
  (203 cd/m², ITU-R BT.2408); tag it ``Linear Rec.2020`` downstream;
* any H and W: the module pads to the network's multiple and crops back.

The network runs on the whole frame (no tiling). Networks with data-dependent control flow
(``whole_frame`` networks such as ``highlight-unet``, which run on a proxy of the frame) are
scripted rather than traced, so any frame size gives the Python model's result. The
Rec.2020 conversion matrix of models that work in Rec.709 is taken from the OCIO config,
not written by hand.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hdr_plugin.color import WORKING_SPACE
from hdr_plugin.errors import ModelError, OutputError
from hdr_plugin.io import atomic_write
from hdr_plugin.models import get_spec, learned_models, weights_path
from hdr_plugin.models.engine.gate import LinearGate
from hdr_plugin.models.engine.torch_model import TorchModel


class _Core(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ExportedModel(nn.Module):
    """Pad to ``multiple``, run the network, crop, gate, convert to Rec.2020.

    The gate (:class:`~hdr_plugin.models.engine.gate.LinearGate`) is the Python model's, so
    the exported module is exact below the clip as the Python model is.
    """

    def __init__(
        self,
        core: torch.jit.ScriptModule,
        multiple: int,
        matrix: torch.Tensor,
        gate: LinearGate | None,
    ):
        super().__init__()
        self.core = core
        self.multiple = multiple
        self.register_buffer("matrix", matrix)
        self.gated = gate is not None
        self.gate = gate if gate is not None else LinearGate.identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height = x.shape[2]
        width = x.shape[3]
        x = x.clamp(0.0, 1.0)
        pad_h = (self.multiple - height % self.multiple) % self.multiple
        pad_w = (self.multiple - width % self.multiple) % self.multiple
        y = self.core(F.pad(x, [0, pad_w, 0, pad_h], mode="replicate"))[:, :, :height, :width]
        if self.gated:
            y = self.gate(x, y)
        return torch.einsum("ij,njhw->nihw", self.matrix, y)


def _matrix_to_rec2020(model: TorchModel) -> torch.Tensor:
    """3x3 matrix M with rec2020 = M @ rgb, read off the OCIO processor."""
    basis = np.eye(3, dtype=np.float32)
    columns = model._color.convert(basis, model._output_space, WORKING_SPACE)
    return torch.from_numpy(np.ascontiguousarray(columns.T))


def export_torchscript(model: TorchModel, path: str | os.PathLike[str], *, size: int = 256) -> Path:
    """Trace ``model`` and write it, with a JSON sidecar of its conventions, atomically.

    Args:
        model: a built learned model (weights loaded).
        path: output ``.pt`` file.
        size: edge of the square example used for tracing (rounded to the multiple).

    Raises:
        ModelError: the model is not a learned model.
        OutputError: the file cannot be written.
    """
    if not isinstance(model, TorchModel):
        raise ModelError(
            f"{model.spec.name!r} is analytic or per-pixel, not an image network; "
            "only image networks export to TorchScript"
        )
    net = model.net.float().cpu().eval()
    multiple = net.tile_multiple
    size = max(multiple, -(-size // multiple) * multiple)
    example = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        if model.spec.whole_frame:
            core = torch.jit.script(_Core(net))
        else:
            core = torch.jit.trace(_Core(net), example, check_trace=False)
        gate = None if model.gate is None else copy.deepcopy(model.gate).cpu()
        exported = ExportedModel(core, multiple, _matrix_to_rec2020(model), gate)
        scripted = torch.jit.script(exported)
    final = Path(path)
    sidecar_path = final.with_suffix(".json")
    folders = {weights_path(get_spec(name)).parent.resolve() for name in learned_models()}
    for target, flag in ((final, "-o"), (sidecar_path, "the sidecar of -o")):
        if target.exists() and target.resolve().parent in folders:
            raise OutputError(
                f"{flag} {target} is a file of the weights folder {target.resolve().parent} "
                "(weights, cards, training logs): an export must not replace it; choose "
                "another name"
            )
    if sidecar_path.exists() and not _is_sidecar(sidecar_path):
        raise OutputError(
            f"the sidecar of -o, {sidecar_path}, exists and is not an export's sidecar; "
            "it would be replaced: choose another name"
        )
    with atomic_write(final) as temporary:
        torch.jit.save(scripted, str(temporary))
    color = model._color
    input_space = color.canonical(model.spec.input_encoding)
    output_space = color.canonical(WORKING_SPACE)
    sidecar = {
        "model": model.spec.name,
        "weights_hash": model.weights_hash,
        "input": f"NCHW float32 RGB, {input_space} values in [0, 1]",
        "input_colorspace": input_space,
        "input_interop_id": model.spec.input_encoding,
        "output": f"NCHW float32 RGB, {output_space}, SDR reference white = 1.0 (203 cd/m2)",
        "output_colorspace": output_space,
        "output_interop_id": WORKING_SPACE,
        "ocio_config": color.config_path,
        "any_size": True,
        "pads_to_multiple": multiple,
    }
    with atomic_write(sidecar_path) as temporary:
        temporary.write_text(json.dumps(sidecar, indent=2) + "\n")
    return final


def _is_sidecar(path: Path) -> bool:
    """Whether ``path`` is the JSON an export wrote beside its TorchScript."""
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(record, dict) and {"model", "weights_hash", "pads_to_multiple"} <= set(record)
