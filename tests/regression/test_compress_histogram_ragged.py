"""Regression: percentile/entropy calibration crashed on a ragged last calibration batch.

ORT's histogram calibrators stack each batch's activations into one array; a last batch of
another size raised "inhomogeneous shape" from deep inside ONNX Runtime. perfkit now feeds
equal-shaped batches only, and types fused contrib-op outputs so histograms are collected at all.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("method", ["percentile", "entropy"])
def test_ragged_calibration(method):
    import torch

    from perfkit.compress import quantize_static
    from perfkit.compress.models import MLPClassifier

    torch.manual_seed(0)
    model = MLPClassifier(16, (16, 16), 4).eval()
    x = np.random.default_rng(0).random((37, 16), dtype=np.float32)  # 16 + 16 + 5
    q = quantize_static(model, {"x": x}, method=method)
    assert q({"x": x}).shape == (37, 4)
    assert len(q.quantized_layers) == 3
