"""Quantization-aware training: fake-quant fine-tuning exported to int8 (issue 15, item 4)."""

from __future__ import annotations

import numpy as np
import pytest

from perfkit.errors import UsageError

torch = pytest.importorskip("torch")


def _accuracy(out: np.ndarray, y: np.ndarray) -> float:
    return float((np.asarray(out).argmax(1) == y).mean())


@pytest.fixture(scope="module")
def classifier():
    """The project's digits classifier (``train_digits_classifier``: about 98% test accuracy)."""
    from perfkit.compress.models import train_digits_classifier

    return train_digits_classifier()


def test_qat_int8_accuracy_within_half_a_point_of_fp32_on_digits(classifier, digits_data):
    from perfkit.compress.models import predict
    from perfkit.compress.qat import quantize_qat

    d = digits_data
    fp32 = _accuracy(predict(classifier, {"x": d.test.x}), d.test.y)
    q = quantize_qat(classifier, {"x": d.train.x}, d.train.y)
    assert q.method == "qat-static-int8" and q.quantized_layers  # real int8 layers
    qat = _accuracy(q({"x": d.test.x}), d.test.y)
    assert fp32 - qat <= 0.005, (fp32, qat)
    assert q.qat_history.last_loss < q.qat_history.first_loss


def test_prepare_and_strip_round_trip_and_fake_quant_rounds():
    from perfkit.compress.models import MLPClassifier
    from perfkit.compress.qat import QATWrapper, fake_quant_weight, prepare_qat, strip_qat

    torch.manual_seed(0)
    m = MLPClassifier(8, (8, 8), 3)
    q = prepare_qat(m)
    assert sum(isinstance(x, QATWrapper) for x in q.modules()) == 3
    back = strip_qat(q)
    for a, b in zip(m.state_dict().values(), back.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    w = torch.randn(4, 16)
    fq = fake_quant_weight(w)
    # At most 256 levels per row, each within half a step of the original.
    step = 2 * w.abs().amax(1, keepdim=True) / 255
    assert ((fq - w).abs() <= step / 2 + 1e-6).all()
    assert all(len(torch.unique(r)) <= 256 for r in fq)


def test_torch_engine_and_report_side_by_side(digits_model, digits_data):
    from perfkit.compress.qat import qat_report

    d = digits_data
    rep = qat_report(
        digits_model, {"x": d.train.x[:256]}, {"x": d.test.x}, d.train.y[:256], d.test.y,
        engine="torch", epochs=1, batch_sizes=(4,), repeat=1,
    )  # fmt: skip
    assert [m.name for m in rep.models] == ["fp32", "ptq", "qat"]
    assert rep["qat"].method == "qat-dynamic-int8"
    assert all(m.fidelity["accuracy"] is not None for m in rep.models)


def test_bad_qat_inputs_are_usage_errors(digits_model):
    from perfkit.compress.qat import quantize_qat

    x = np.zeros((8, 64), np.float32)
    with pytest.raises(UsageError, match="lacks inputs"):
        quantize_qat(digits_model, {"y": x})
    with pytest.raises(UsageError, match="NaN"):
        quantize_qat(digits_model, {"x": np.full((8, 64), np.nan, np.float32)})
    with pytest.raises(UsageError, match="positive"):
        quantize_qat(digits_model, {"x": x}, epochs=0)
    with pytest.raises(UsageError, match="no Linear"):
        quantize_qat(torch.nn.ReLU(), {"input": x})
    with pytest.raises(UsageError, match="unknown options.*epoch"):
        quantize_qat(digits_model, {"x": x}, epoch=3)  # a typo of epochs


def test_qat_copies_a_model_that_holds_a_captured_activation():
    # A forward hook that stored its output on a module left a non-leaf tensor there: deepcopy
    # refuses it, QAT must not (seen when a session-wide model went through distill first).
    from perfkit.compress.models import MLPClassifier
    from perfkit.compress.qat import prepare_qat, strip_qat

    class Capture:  # a hook object holding the output of the last forward, graph and all
        value = None

        def hook(self, module, args, output):
            self.value = output

    m = MLPClassifier(4, (4, 4), 2)
    m.layers[0].captured = torch.relu(m.stem(torch.ones(1, 4)))
    cap = Capture()
    m.layers[0].register_forward_hook(cap.hook)
    q = prepare_qat(m)
    q(torch.ones(2, 4)).sum().backward()  # the copied hook now holds a non-leaf tensor
    back = strip_qat(q)
    assert torch.equal(back.stem.weight, m.stem.weight)


def test_activation_range_tracking_running_min_max_or_moving_average():
    """``momentum=None`` tracks the running min/max the export's minmax calibration computes
    (issue 15: the default moving average of per-batch ranges is narrower than that)."""
    from perfkit.compress.qat import ActivationFakeQuant

    fq = ActivationFakeQuant(momentum=None)
    fq.observing = True
    fq(torch.tensor([-1.0, 2.0]))
    fq(torch.tensor([-0.5, 5.0]))
    fq(torch.tensor([0.0, 1.0]))
    assert (float(fq.lo), float(fq.hi)) == (-1.0, 5.0)
    fq.observing = False
    x = torch.linspace(-1.0, 5.0, 101)
    step = 6.0 / 255.0
    assert float((fq(x) - x).abs().max()) <= step / 2 + 1e-6  # inside the range: rounding only
    assert float(fq(torch.tensor([9.0]))) == pytest.approx(5.0, abs=step)  # outside: clipped

    ema = ActivationFakeQuant()
    ema.observing = True
    ema(torch.tensor([-1.0, 2.0]))
    ema(torch.tensor([-0.5, 5.0]))
    assert float(ema.lo) == pytest.approx(-0.95) and float(ema.hi) == pytest.approx(2.3)


def test_qat_with_running_ranges_wraps_every_layer_with_them(classifier, digits_data):
    from perfkit.compress.qat import ActivationFakeQuant, finetune_qat

    student, hist = finetune_qat(
        classifier, {"x": digits_data.train.x[:64]}, epochs=1, act_momentum=None
    )
    acts = [m for m in student.modules() if isinstance(m, ActivationFakeQuant)]
    assert acts and all(m.momentum is None and bool(m.seen) for m in acts)
    assert hist.steps == 1
    with pytest.raises(UsageError, match="act_momentum"):
        finetune_qat(classifier, {"x": digits_data.train.x[:8]}, act_momentum=0.0)
