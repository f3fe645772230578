"""Each distillation loss term on tiny tensors with known values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from perfkit.compress.distillation import (
    ce_term,
    cosine_term,
    hidden_term,
    kl_term,
    similarity_kl_term,
)
from perfkit.errors import UsageError


def test_kl_of_equal_distributions_is_zero():
    logits = torch.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
    assert kl_term(logits, logits.clone(), 2.0).item() == pytest.approx(0.0, abs=1e-7)


def test_kl_matches_hand_computed_value_and_t_squared_scaling():
    s = torch.tensor([[0.0, 0.0]])
    t = torch.tensor([[math.log(3.0), 0.0]])  # teacher softmax at T=1: (0.75, 0.25)
    expected = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    assert kl_term(s, t, 1.0).item() == pytest.approx(expected, rel=1e-6)
    # At T=2 the teacher softens to softmax(log(3)/2, 0) and the term is scaled by T^2 = 4.
    p = np.exp([math.log(3.0) / 2, 0.0])
    p /= p.sum()
    soft = float((p * np.log(p / 0.5)).sum())
    assert kl_term(s, t, 2.0).item() == pytest.approx(4.0 * soft, rel=1e-6)


def test_kl_is_batch_mean():
    s = torch.tensor([[0.0, 0.0]])
    t = torch.tensor([[1.0, 0.0]])
    one = kl_term(s, t, 1.0).item()
    assert kl_term(s.repeat(5, 1), t.repeat(5, 1), 1.0).item() == pytest.approx(one, rel=1e-6)


@pytest.mark.parametrize("temperature", [0.0, -1.0])
def test_temperature_must_be_positive(temperature):
    x = torch.zeros(1, 3)
    with pytest.raises(UsageError, match="temperature must be > 0"):
        kl_term(x, x, temperature)
    with pytest.raises(UsageError, match="temperature"):
        similarity_kl_term(x, x, temperature)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-5, 5), min_size=3, max_size=3),
    st.lists(st.floats(-5, 5), min_size=3, max_size=3),
    st.floats(0.5, 8.0),
)
def test_kl_is_non_negative(a, b, temperature):
    value = kl_term(torch.tensor([a]), torch.tensor([b]), temperature).item()
    assert value >= -1e-6


def test_hidden_term_known_values_and_mask():
    assert hidden_term(torch.ones(2, 3, 4), torch.zeros(2, 3, 4)).item() == pytest.approx(1.0)
    s = torch.zeros(1, 2, 2)
    t = torch.tensor([[[0.0, 0.0], [10.0, 10.0]]])
    mask = torch.tensor([[1, 0]])
    assert hidden_term(s, t, mask=mask).item() == pytest.approx(0.0)
    assert hidden_term(s, t).item() == pytest.approx(50.0)


def test_hidden_term_projects_and_rejects_mismatched_widths():
    proj = torch.nn.Linear(2, 4, bias=False)
    torch.nn.init.zeros_(proj.weight)
    assert hidden_term(torch.ones(3, 2), torch.zeros(3, 4), proj).item() == pytest.approx(0.0)
    with pytest.raises(UsageError, match="differ"):
        hidden_term(torch.ones(3, 2), torch.zeros(3, 4))


def test_ce_term_of_uniform_logits_is_log_classes():
    assert ce_term(torch.zeros(4, 10), torch.arange(4)).item() == pytest.approx(math.log(10))


def test_cosine_term_values():
    a = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    assert cosine_term(a, 3 * a).item() == pytest.approx(0.0, abs=1e-7)
    assert cosine_term(a, -a).item() == pytest.approx(2.0)


def test_similarity_kl_zero_for_same_geometry_positive_otherwise():
    emb = torch.randn(6, 8, generator=torch.Generator().manual_seed(0))
    assert similarity_kl_term(emb, 2.0 * emb, 0.1).item() == pytest.approx(0.0, abs=1e-6)
    other = torch.randn(6, 8, generator=torch.Generator().manual_seed(1))
    assert similarity_kl_term(other, emb, 0.1).item() > 1e-3
