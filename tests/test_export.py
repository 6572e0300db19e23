"""TorchScript export: loads with torch.jit.load, matches eager output at any size."""

import json

import numpy as np
import pytest
import torch

from hdr_plugin.cli import main
from hdr_plugin.errors import ModelError
from hdr_plugin.export import export_torchscript
from hdr_plugin.models import create_model
from tests.conftest import gradient_plate
from tests.test_neural import TINY, weights  # noqa: F401  (fixture)


@pytest.mark.parametrize("name", list(TINY))
def test_export_loads_and_matches_eager(name, color, weights, tmp_path):  # noqa: F811
    model = create_model(name, color, {"device": "cpu", "precision": "float32"})
    path = export_torchscript(model, tmp_path / "exported" / f"{name}.pt", size=64)
    loaded = torch.jit.load(str(path))
    for height, width in [(64, 64), (70, 100)]:  # the traced size and another one
        plate = gradient_plate(height, width, seed=1)
        eager = model(plate)
        x = torch.from_numpy(plate).permute(2, 0, 1)[None]
        with torch.no_grad():
            exported = loaded(x)[0].permute(1, 2, 0).numpy()
        assert exported.shape == eager.shape
        np.testing.assert_allclose(exported, eager, rtol=1e-3, atol=1e-3 * max(1, eager.max()))
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["model"] == name and "Linear Rec.2020" in card["output"]


def test_analytic_models_do_not_export(color, tmp_path):
    with pytest.raises(ModelError, match="analytic"):
        export_torchscript(create_model("linear", color), tmp_path / "x.pt")


def test_export_cli(capsys, weights, tmp_path):  # noqa: F811
    out = tmp_path / "nuke" / "unet.pt"
    argv = ["export", "unet-native", "--format", "torchscript", "-o", str(out), "--size", "64"]
    assert main(argv) == 0
    assert out.is_file() and "wrote" in capsys.readouterr().out


def test_export_without_weights_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("HDR_PLUGIN_WEIGHTS", str(tmp_path))
    assert main(["export", "singlehdr", "-o", str(tmp_path / "s.pt")]) == 1
    assert "no trained weights" in capsys.readouterr().err
    assert not (tmp_path / "s.pt").exists()
