"""Regression: the legacy ONNX exporter restored train mode on submodules of an eval model.

torch.onnx.export(..., dynamo=False) switched every module to eval for tracing and then set the
top module's *original* flag recursively; a model wrapped after ``.eval()`` came back with
dropout switched on, so later torch outputs became random. export_onnx restores each module.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("transformers")


def test_export_leaves_every_module_in_its_mode():
    from perfkit.compress import export_onnx
    from perfkit.compress.models import predict, tiny_bert

    model = tiny_bert(num_layers=2, hidden=32)
    x = {"input_ids": np.arange(20).reshape(2, 10) + 5, "attention_mask": np.ones((2, 10), int)}
    before = predict(model, x)
    export_onnx(model, x)
    assert not any(m.training for m in model.modules())
    np.testing.assert_array_equal(predict(model, x), before)
