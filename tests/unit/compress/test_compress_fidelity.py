"""Fidelity figures, targets, and the sensitivity fallback."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from perfkit.compress import Fidelity, fidelity_figures, quantize_static
from perfkit.compress.fidelity import nearest_neighbours, row_cosines, zero_rows
from perfkit.compress.models import predict
from perfkit.errors import UsageError


def test_identical_outputs_give_perfect_figures():
    x = np.random.default_rng(0).normal(size=(20, 6)).astype(np.float32)
    for task in ("embedding", "classification"):
        f = fidelity_figures(x, x.copy(), task=task)
        assert f["cosine"] == pytest.approx(1.0)
        assert f["agreement"] == 1.0 and f["max_abs_error"] == 0.0


def test_known_cosines_and_accuracy():
    ref = np.array([[1.0, 0.0], [0.0, 1.0]])
    cand = np.array([[0.0, 1.0], [0.0, 3.0]])
    f = fidelity_figures(ref, cand, task="classification", labels=np.array([0, 1]))
    assert f["cosine"] == pytest.approx(0.5) and f["cosine_min"] == pytest.approx(0.0)
    assert f["agreement"] == 0.5 and f["accuracy"] == 0.5
    assert f["max_abs_error"] == pytest.approx(2.0)


def test_retrieval_agreement_uses_nearest_other_row():
    emb = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    assert nearest_neighbours(emb).tolist() == [1, 0, 3, 2]
    swapped = emb[:, ::-1].copy()
    assert fidelity_figures(emb, swapped)["agreement"] == 1.0


def test_shape_mismatch_and_empty_are_errors():
    with pytest.raises(UsageError, match="shape"):
        fidelity_figures(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(UsageError, match="no samples"):
        fidelity_figures(np.zeros((0, 3)), np.zeros((0, 3)))


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, (5, 4), elements=st.floats(-10, 10)),
    arrays(np.float64, (5, 4), elements=st.floats(-10, 10)),
    st.floats(0.1, 100),
)
# Found by hypothesis (issue 11, item 9): a subnormal row vs a zero row, scaled by 0.5.
@example(
    a=np.vstack([[5e-324, 0.0, 0.0, 0.0], np.zeros((4, 4))]),
    b=np.zeros((5, 4)),
    scale=0.5,
)
def test_row_cosines_bounded_symmetric_scale_invariant(a, b, scale):
    c = row_cosines(a, b)
    assert np.all(c <= 1.0) and np.all(c >= -1.0)
    np.testing.assert_allclose(c, row_cosines(b, a), atol=1e-12)
    scaled = row_cosines(a * scale, b)
    # Scaling keeps the cosine unless it moves a row into or out of the subnormal range, which
    # makes it a zero row (or a non-zero one); then it gets the zero-row value.
    same = zero_rows(a) == zero_rows(a * scale)
    np.testing.assert_allclose(scaled[same], c[same], atol=1e-9)
    now_zero = ~same & zero_rows(a * scale)
    expect = np.where(zero_rows(b), 1.0, 0.0)
    np.testing.assert_array_equal(scaled[now_zero], expect[now_zero])


def test_fidelity_target_validation_and_misses():
    with pytest.raises(UsageError, match="names no bound"):
        Fidelity()
    with pytest.raises(UsageError, match="out of range"):
        Fidelity(cosine=1.5)
    t = Fidelity(cosine=0.99, agreement=0.9)
    figs = {"cosine": 0.95, "agreement": 0.95, "max_abs_error": 1.0}
    assert t.misses(figs) == ["cosine 0.9500 < 0.99"]
    assert Fidelity(cosine=0.9).met_by(figs)


def test_fallback_keeps_sensitive_layers_float_until_target_holds(bert, tokens):
    ref = predict(bert, tokens)
    plain = quantize_static(bert, tokens)
    plain_cos = fidelity_figures(ref, plain(tokens))["cosine"]
    # A target just above what plain static int8 reaches forces the fallback.
    goal = 1.0 - (1.0 - plain_cos) / 4
    q = quantize_static(bert, tokens, target=Fidelity(cosine=goal), held_out=tokens)
    fb = q.fallback
    assert fb.met and fb.kept_float
    assert set(fb.kept_float) <= set(q.float_layers)
    assert fidelity_figures(ref, q(tokens))["cosine"] >= goal
    assert len(fb.sensitivity) == 12 and fb.builds > 12
    most = max(fb.sensitivity, key=fb.sensitivity.get)
    assert most in fb.kept_float
    assert "stay float" in fb.reason
    assert fb.to_dict()["target"] == {"cosine": goal}


def test_target_already_met_keeps_everything_int8(digits_model, digits_data):
    from perfkit.compress import quantize_dynamic

    q = quantize_dynamic(
        digits_model, {"x": digits_data.val.x}, target=Fidelity(cosine=0.9), engine="torch"
    )
    assert q.fallback.met and q.fallback.kept_float == () and q.float_layers == ()


def test_target_must_be_fidelity(digits_model, digits_data):
    from perfkit.compress import quantize_dynamic

    with pytest.raises(UsageError, match="must be a Fidelity"):
        quantize_dynamic(digits_model, {"x": digits_data.val.x}, engine="torch", target=0.99)
