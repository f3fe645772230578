"""quantize_dynamic / quantize_static on real engines: tolerance, stability, save/load, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from perfkit.compress import quantize_dynamic, quantize_static
from perfkit.compress.fidelity import fidelity_figures
from perfkit.compress.io import load_compressed
from perfkit.compress.models import predict
from perfkit.errors import UsageError

#: Stated tolerances against fp32 on the tiny random BERT (measured ~1e-5 and ~1e-4 cosine loss).
DYNAMIC_COSINE = 0.999
STATIC_COSINE = 0.98


@pytest.mark.parametrize("engine", ["onnxruntime", "torch"])
def test_dynamic_int8_within_tolerance_of_fp32(bert, tokens, engine):
    q = quantize_dynamic(bert, tokens, engine=engine)
    figs = fidelity_figures(predict(bert, tokens), q(tokens))
    assert figs["cosine_min"] >= DYNAMIC_COSINE
    assert figs["max_abs_error"] < 0.05
    assert q.quantized_layers and q.method == "dynamic-int8"


@pytest.mark.parametrize("method", ["minmax", "percentile", "entropy"])
def test_static_int8_every_calibration_method(bert, tokens, method):
    q = quantize_static(bert, tokens, method=method)
    figs = fidelity_figures(predict(bert, tokens), q(tokens))
    assert figs["cosine_min"] >= STATIC_COSINE
    assert q.method == f"static-int8-{method}"
    assert len(q.quantized_layers) == 12  # 4 layers x (attention out, FFN in, FFN out)


def test_static_calibration_with_ragged_last_batch(digits_model, digits_data):
    # 100 samples in batches of 16 leave a ragged batch of 4 (histogram calibrators need equal).
    q = quantize_static(digits_model, {"x": digits_data.train.x[:100]}, method="entropy")
    assert q({"x": digits_data.test.x}).shape == (len(digits_data.test.x), 10)


@pytest.mark.parametrize(
    "make",
    [
        lambda m, d: quantize_dynamic(m, {"x": d.val.x}),
        lambda m, d: quantize_dynamic(m, engine="torch"),
        lambda m, d: quantize_static(m, {"x": d.train.x}),
    ],
    ids=["ort-dynamic", "torch-dynamic", "ort-static"],
)
def test_predictions_as_stable_under_noise_as_fp32(digits_model, digits_data, make):
    q = make(digits_model, digits_data)
    x = digits_data.test.x
    noisy = x + np.random.default_rng(0).normal(0, 0.02, x.shape).astype(np.float32)
    fp_clean = predict(digits_model, {"x": x}).argmax(1)
    fp_noisy = predict(digits_model, {"x": noisy}).argmax(1)
    q_clean = q({"x": x}).argmax(1)
    q_noisy = q({"x": noisy}).argmax(1)
    stable_fp32 = (fp_clean == fp_noisy).mean()
    stable_int8 = (q_clean == q_noisy).mean()
    assert stable_int8 >= stable_fp32 - 0.02
    accuracy = (q_clean == digits_data.test.y).mean()
    assert accuracy >= (fp_clean == digits_data.test.y).mean() - 0.02


@pytest.mark.parametrize("engine", ["onnxruntime", "torch"])
def test_saved_then_loaded_gives_same_outputs(bert, tokens, engine, tmp_path):
    q = quantize_dynamic(bert, tokens, engine=engine)
    target = tmp_path / ("m.onnx" if engine == "onnxruntime" else "m")
    q.save(target)
    back = load_compressed(target)
    np.testing.assert_array_equal(back(tokens), q(tokens))
    assert back.quantized_layers == q.quantized_layers
    assert back.float_layers == q.float_layers


def test_int8_model_is_smaller(digits_model):
    from perfkit.compress.compare import as_runner

    q = quantize_dynamic(digits_model, engine="torch")
    assert q.size_bytes() < 0.35 * as_runner(digits_model).size_bytes()


def test_exclude_keeps_named_layers_float(bert, tokens):
    q_all = quantize_dynamic(bert, tokens, engine="torch")
    name = q_all.quantized_layers[0]
    q = quantize_dynamic(bert, tokens, engine="torch", exclude=[name])
    assert name in q.float_layers and name not in q.quantized_layers
    with pytest.raises(UsageError, match="unknown layers"):
        quantize_dynamic(bert, tokens, engine="torch", exclude=["no.such.layer"])


def test_calibration_errors(digits_model, digits_data):
    x = digits_data.train.x
    with pytest.raises(UsageError, match="empty"):
        quantize_static(digits_model, {"x": x[:0]})
    with pytest.raises(UsageError, match="empty"):
        quantize_static(digits_model, [])
    with pytest.raises(
        UsageError, match=r"cannot run on the calibration data \(x \(2, 32\) float32\)"
    ):
        quantize_static(digits_model, {"x": np.zeros((32, 32), np.float32)})
    with pytest.raises(UsageError, match="dtype"):
        quantize_static(digits_model, {"x": np.array(["a"] * 4)})
    with pytest.raises(UsageError, match="lacks inputs"):
        quantize_static(digits_model, {"pixels": x})
    with pytest.raises(UsageError, match="needs calibration data"):
        quantize_static(digits_model, None)


def test_calibration_dtype_must_match(bert, tokens):
    bad = {k: v.astype(np.float32) for k, v in tokens.items()}
    with pytest.raises(UsageError, match="dtype"):
        quantize_static(bert, [tokens, bad])


def test_engine_and_method_errors(digits_model, digits_data):
    with pytest.raises(UsageError, match="no static int8 path"):
        quantize_static(digits_model, {"x": digits_data.train.x}, engine="torch")
    with pytest.raises(UsageError, match="unknown quantization engine 'tvm'.*onnxruntime, torch"):
        quantize_dynamic(digits_model, engine="tvm")
    with pytest.raises(UsageError, match="unknown calibration method"):
        quantize_static(digits_model, {"x": digits_data.train.x}, method="mse")
    with pytest.raises(UsageError, match="needs example inputs"):
        quantize_dynamic(digits_model)


class _NoLinear(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.act = torch.nn.Tanh()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x) * 2


def test_unsupported_model_names_what_it_has():
    x = {"x": np.zeros((4, 8), np.float32)}
    with pytest.raises(UsageError, match="no nn.Linear layer.*Tanh"):
        quantize_dynamic(_NoLinear(), engine="torch")
    with pytest.raises(UsageError, match="nothing to quantize.*Tanh"):
        quantize_dynamic(_NoLinear(), x)
