"""Model save/load: plain state dicts only, clear errors for bad files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from perfkit.compress.models import (
    MLPClassifier,
    input_names,
    load_model,
    load_state_dict,
    predict,
    save_model,
)
from perfkit.errors import InputFileError, UsageError


def test_round_trip_bert_and_mlp(bert, tokens, tmp_path):
    save_model(bert, tmp_path / "b")
    back = load_model(tmp_path / "b")
    np.testing.assert_array_equal(predict(back, tokens), predict(bert, tokens))
    mlp = MLPClassifier(64, (8, 8), 3)
    save_model(mlp, tmp_path / "m")
    assert json.loads((tmp_path / "m" / "config.json").read_text())["arch"] == "mlp"
    # A bare model.pt beside its config.json loads too.
    assert isinstance(load_model(tmp_path / "m" / "model.pt"), MLPClassifier)


def test_pickled_module_is_refused(tmp_path):
    mlp = MLPClassifier(64, (8,), 3)
    save_model(mlp, tmp_path / "m")
    torch.save(mlp, tmp_path / "m" / "model.pt")  # a whole pickled object, not a state dict
    with pytest.raises(InputFileError, match="pickled Python objects"):
        load_model(tmp_path / "m")


def test_corrupt_missing_and_mismatched_files(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        load_model(tmp_path / "nothing")
    save_model(MLPClassifier(64, (8,), 3), tmp_path / "m")
    (tmp_path / "m" / "model.pt").write_bytes(b"not a zip file")
    with pytest.raises(InputFileError, match="not a plain tensor state dict"):
        load_model(tmp_path / "m")
    torch.save(MLPClassifier(64, (16,), 3).state_dict(), tmp_path / "m" / "model.pt")
    with pytest.raises(InputFileError, match="does not match the architecture"):
        load_model(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text("{oops")
    with pytest.raises(InputFileError, match="not valid JSON"):
        load_model(tmp_path / "m")
    (tmp_path / "e").mkdir()
    with pytest.raises(InputFileError, match="no config.json"):
        load_model(tmp_path / "e")
    torch.save({"a": 1}, tmp_path / "odd.pt")
    with pytest.raises(InputFileError, match="state dict of tensors"):
        load_state_dict(tmp_path / "odd.pt")


def test_unknown_module_cannot_be_saved(tmp_path):
    with pytest.raises(UsageError, match="does not know how to rebuild"):
        save_model(torch.nn.Linear(2, 2), tmp_path / "x")
    assert not (tmp_path / "x" / "model.pt").exists()


def test_predict_names_missing_inputs():
    m = MLPClassifier(4, (4,), 2)
    assert input_names(m) == ("x",)
    with pytest.raises(UsageError, match=r"lack \['x'\]"):
        predict(m, {"y": np.zeros((1, 4), np.float32)})
