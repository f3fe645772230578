"""export_onnx: same outputs, BERT fusion, files, and bad files."""

from __future__ import annotations

import numpy as np
import pytest

from perfkit.compress import export_onnx
from perfkit.compress._ort import OrtModel
from perfkit.compress.models import predict
from perfkit.errors import InputFileError, UsageError


def test_fused_bert_matches_torch(bert, tokens):
    onnx_model = export_onnx(bert, tokens)
    assert any(n.startswith("fused: Attention=4") for n in onnx_model.notes)
    np.testing.assert_allclose(onnx_model(tokens), predict(bert, tokens), atol=1e-4)
    # Dynamic batch and sequence axes: another shape runs too.
    other = {k: v[:3, :7] for k, v in tokens.items()}
    np.testing.assert_allclose(onnx_model(other), predict(bert, other), atol=1e-4)


def test_export_without_fusion_and_save(digits_model, digits_data, tmp_path):
    x = {"x": digits_data.test.x[:16]}
    m = export_onnx(digits_model, x, tmp_path / "m.onnx", optimize=False)
    back = OrtModel.load(tmp_path / "m.onnx")
    np.testing.assert_array_equal(back(x), m(x))
    np.testing.assert_allclose(m(x), predict(digits_model, x), atol=1e-5)
    assert back.method == "fp32" and back.task == "classification"


def test_missing_inputs_and_non_module(digits_model):
    with pytest.raises(UsageError, match="lack"):
        export_onnx(digits_model, {"pixels": np.zeros((2, 64), np.float32)})
    with pytest.raises(UsageError, match="needs a torch.nn.Module"):
        export_onnx("model.pt", {})


def test_missing_and_corrupt_onnx_files(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        OrtModel.load(tmp_path / "nope.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage that is not protobuf")
    with pytest.raises(InputFileError, match="not a valid ONNX model"):
        OrtModel.load(bad)


def test_missing_input_at_call_time(bert, tokens):
    m = export_onnx(bert, tokens)
    with pytest.raises(UsageError, match="inputs lack"):
        m({"input_ids": tokens["input_ids"]})
