"""Weights: safetensors round trip, model cards, refused pickles, named shape errors."""

import json
import os
import pickle

import pytest
import torch
from torch import nn

from hdr_plugin.errors import ModelError
from hdr_plugin.models.engine.weights import (
    apply_state_dict,
    file_hash,
    load_state_dict,
    read_card,
    save_weights,
)


def tiny(width: int = 4) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, width, 3), nn.ReLU(), nn.Conv2d(width, 3, 1))


def test_round_trip_with_card(tmp_path):
    model = tiny()
    path = tmp_path / "w.safetensors"
    digest = save_weights(model, path, {"architecture": {"width": 4}})
    card = json.loads((tmp_path / "w.json").read_text())
    assert card["weights_hash"] == digest == file_hash(path)
    assert read_card(path)["architecture"] == {"width": 4}
    other = tiny()
    for p in other.parameters():
        nn.init.zeros_(p)
    apply_state_dict(other, load_state_dict(path), source=str(path))
    for a, b in zip(model.parameters(), other.parameters(), strict=True):
        torch.testing.assert_close(a, b)


def test_pickle_weights_are_refused(tmp_path):
    path = tmp_path / "w.pt"
    torch.save(tiny().state_dict(), path)
    with pytest.raises(ModelError, match="is a pickle.*safetensors"):
        load_state_dict(path)


def test_pickle_renamed_as_safetensors_is_refused(tmp_path):
    path = tmp_path / "sneaky.safetensors"
    torch.save(tiny().state_dict(), path)
    with pytest.raises(ModelError, match="is a pickle"):
        load_state_dict(path)


def test_user_state_dict_loads_only_tensors(tmp_path):
    good = tmp_path / "backbone.pth"
    torch.save(tiny().state_dict(), good)
    assert set(load_state_dict(good, allow_torch_state_dict=True)) == set(tiny().state_dict())

    class Exploit:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps({"weight": Exploit()}, protocol=2))
    with pytest.raises(ModelError, match="refused"):
        load_state_dict(evil, allow_torch_state_dict=True)
    assert not (tmp_path / "pwned").exists()


def test_shape_mismatch_names_the_layer(tmp_path):
    path = tmp_path / "w.safetensors"
    save_weights(tiny(width=4), path, {})
    with pytest.raises(
        ModelError, match=r"layer '0.weight' has shape \(4, 3, 3, 3\).*\(8, 3, 3, 3\)"
    ):
        apply_state_dict(tiny(width=8), load_state_dict(path), source=str(path))


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_state_dict(tmp_path / "none.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(ModelError, match="not a readable safetensors"):
        load_state_dict(bad)
