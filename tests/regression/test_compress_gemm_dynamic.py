"""Regression: ORT dynamic quantization silently left Linear layers exported as Gemm in fp32.

ONNX Runtime's dynamic quantizer has no integer Gemm; a classifier came back "quantized" with
the same size and outputs identical to fp32. perfkit rewrites Gemm as MatMul + Add first and
reports only the layers the quantizer really converted.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")


def test_linear_layers_are_really_int8():
    import torch

    from perfkit.compress import export_onnx, quantize_dynamic
    from perfkit.compress.models import MLPClassifier

    torch.manual_seed(0)
    model = MLPClassifier(64, (64, 64), 10).eval()
    x = {"x": np.random.default_rng(0).random((16, 64), dtype=np.float32)}
    q = quantize_dynamic(model, x)
    assert len(q.quantized_layers) == 3 and q.float_layers == ()
    assert q.size_bytes() < 0.4 * export_onnx(model, x).size_bytes()
    assert np.abs(q(x) - model(torch.as_tensor(x["x"])).detach().numpy()).max() > 0
