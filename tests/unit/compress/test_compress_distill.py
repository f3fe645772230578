"""distill(): the loss falls, a student can overfit one batch, runs are deterministic."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from perfkit.compress import distill, student_from_teacher
from perfkit.compress.distillation import kl_term
from perfkit.compress.models import MLPClassifier, predict
from perfkit.errors import UsageError


def _batch(digits_data, n=32):
    return {"x": digits_data.train.x[:n]}


def test_loss_falls_after_one_optimizer_step(digits_model, digits_data):
    torch.manual_seed(0)
    student = MLPClassifier(64, (16,), 10)
    x = torch.as_tensor(digits_data.train.x[:32])
    with torch.no_grad():
        t = digits_model(x)
    before = kl_term(student(x), t, 2.0).item()
    distill(digits_model, student, {"x": x.numpy()}, steps=1, lr=1e-2, beta_hidden=0.0)
    student.eval()
    with torch.no_grad():
        after = kl_term(student(x), t, 2.0).item()
    assert after < before


def test_student_overfits_one_batch(digits_model, digits_data):
    torch.manual_seed(0)
    student = MLPClassifier(64, (32,), 10)
    data = _batch(digits_data, 16)
    result = distill(
        digits_model, student, data, steps=300, lr=1e-2, batch_size=16, beta_hidden=0.0
    )
    assert result.losses[-1] < 0.02 * result.losses[0]
    t = predict(digits_model, data).argmax(1)
    s = predict(result.student, data).argmax(1)
    assert (t == s).all()


def test_deterministic_under_seed(digits_model, digits_data):
    data = _batch(digits_data, 64)
    logs = []
    for _ in range(2):
        torch.manual_seed(123)  # a different global state must not matter: distill reseeds
        student = MLPClassifier(64, (16, 16), 10)
        torch.manual_seed(0)
        student.load_state_dict(MLPClassifier(64, (16, 16), 10).state_dict())
        logs.append(distill(digits_model, student, data, steps=5, lr=1e-3, seed=7).log)
    assert logs[0] == logs[1]


def test_hidden_projection_added_when_widths_differ(digits_model, digits_data):
    student = MLPClassifier(64, (16, 16), 10)
    res = distill(digits_model, student, _batch(digits_data), steps=2, beta_hidden=1.0)
    assert res.projection is not None and res.projection.in_features == 16
    assert res.projection.out_features == 48
    assert {"kl", "hidden"} <= set(res.log[0])


def test_ce_term_used_with_labels(digits_model, digits_data):
    student = copy.deepcopy(digits_model)
    data = {"x": digits_data.train.x[:64], "labels": digits_data.train.y[:64]}
    res = distill(digits_model, student, data, steps=2, gamma_ce=1.0)
    assert "ce" in res.log[0] and res.log[0]["ce"] > 0


def test_embedding_models_use_similarity_and_cosine_terms(bert, tokens):
    student = student_from_teacher(bert, "alternate")
    res = distill(bert, student, tokens, steps=3, lr=1e-3, batch_size=16)
    assert {"kl", "cos", "hidden"} <= set(res.log[0])
    assert all(np.isfinite(r["loss"]) for r in res.log)
    assert not res.student.training


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"temperature": 0.0, "steps": 1}, "temperature must be > 0"),
        ({"temperature": -2.0, "steps": 1}, "temperature must be > 0"),
        ({"steps": 1, "epochs": 1}, "not both"),
        ({"steps": 0}, "positive"),
        ({"steps": 1, "gamma_ce": 1.0}, "needs labels"),
        ({"steps": 1, "alpha_kl": 0.0, "beta_hidden": 0.0}, "every loss weight is 0"),
    ],
)
def test_bad_arguments(digits_model, digits_data, kwargs, match):
    student = MLPClassifier(64, (16,), 10)
    with pytest.raises(UsageError, match=match):
        distill(digits_model, student, _batch(digits_data), **kwargs)


def test_hidden_term_needs_a_layer_stack(digits_model, digits_data):
    with pytest.raises(UsageError, match="beta_hidden=0"):
        distill(digits_model, MLPClassifier(64, (16,), 10), _batch(digits_data), steps=1)


def test_empty_data_and_wrong_inputs(digits_model, bert, tokens):
    student = MLPClassifier(64, (16,), 10)
    with pytest.raises(UsageError, match="empty"):
        distill(digits_model, student, {"x": np.zeros((0, 64), np.float32)}, steps=1)
    with pytest.raises(UsageError, match="lacks inputs"):
        distill(digits_model, student, {"y": np.zeros((4, 64), np.float32)}, steps=1)
    with pytest.raises(UsageError, match="same inputs"):
        distill(bert, student, tokens, steps=1)


def test_cached_teacher_outputs_match_live_ones_and_training_works(bert, tokens):
    import torch

    from perfkit.compress.distillation import _cached_batches, _LayerOutputs, _trim

    hook = _LayerOutputs(bert, None)
    try:
        gen = torch.Generator().manual_seed(0)
        cache = _cached_batches(bert, hook, tokens, ["input_ids", "attention_mask"], 16, gen)
    finally:
        hook.close()
    assert sum(len(b["input_ids"]) for b, _, _ in cache) == len(tokens["input_ids"])
    for batch, t_out, (hidden,) in cache:
        longest = int(batch["attention_mask"].sum(1).max())
        assert batch["input_ids"].shape[1] == longest  # trimmed to its longest sentence
        assert hidden.dtype == torch.float16 and hidden.shape[1] == longest
        with torch.no_grad():
            live = bert(batch["input_ids"], batch["attention_mask"])
        torch.testing.assert_close(t_out, live)
    # Trimming the padding does not change a mean-pooled embedding.
    full = {k: torch.as_tensor(v[:8]) for k, v in tokens.items()}
    with torch.no_grad():
        torch.testing.assert_close(
            bert(*full.values()), bert(*_trim(full).values()), atol=1e-5, rtol=1e-5
        )


def test_distill_with_cached_teacher_reduces_loss(bert, tokens):
    from perfkit.compress import distill, student_from_teacher

    student = student_from_teacher(bert, "alternate")
    res = distill(bert, student, tokens, steps=12, lr=1e-3, batch_size=16, cache_teacher=True)
    assert len(res.log) == 12
    assert np.mean(res.losses[-3:]) < res.losses[0]


def test_layer_map_follows_kept_layers_or_spreads_evenly(bert):
    from perfkit.compress import student_from_teacher
    from perfkit.compress.distillation import layer_map

    cut = student_from_teacher(bert, [0, 3])
    assert layer_map(cut, 2, 4) == [0, 3]
    plain = torch.nn.Module()
    assert layer_map(plain, 2, 4) == [1, 3]
    assert layer_map(plain, 3, 6) == [1, 3, 5]
    assert layer_map(plain, 4, 4) == [0, 1, 2, 3]
    assert layer_map(plain, 1, 12) == [11]


def test_lr_factor_warmup_then_cosine_to_zero():
    from perfkit.compress.distillation import lr_factor

    assert [lr_factor(s, 100, "constant", 0.1) for s in (0, 50, 99)] == [1.0, 1.0, 1.0]
    warm = [lr_factor(s, 100, "warmup_cosine", 0.1) for s in range(10)]
    assert warm == pytest.approx([(s + 1) / 10 for s in range(10)])
    assert lr_factor(10, 100, "warmup_cosine", 0.1) == pytest.approx(1.0)
    decay = [lr_factor(s, 100, "warmup_cosine", 0.1) for s in range(10, 101)]
    assert all(a >= b for a, b in zip(decay, decay[1:], strict=False))
    assert lr_factor(100, 100, "warmup_cosine", 0.1) == pytest.approx(0.0, abs=1e-12)
    assert lr_factor(55, 100, "warmup_cosine", 0.1) == pytest.approx(0.5)


def test_all_layer_hidden_matching_hooks_every_student_layer(bert, tokens):
    from perfkit.compress import distill, student_from_teacher
    from perfkit.compress.distillation import _LayerOutputs

    student = student_from_teacher(bert, [1, 3])
    hooks = _LayerOutputs(bert, None, [1, 3])
    try:
        with torch.no_grad():
            bert(*(torch.as_tensor(v[:4]) for v in tokens.values()))
        assert [v.shape[0] for v in hooks.values] == [4, 4]
        assert not torch.equal(hooks.values[0], hooks.values[1])
    finally:
        hooks.close()
    # A student that IS the teacher's layers 1 and 3 plus training: the per-layer hidden term
    # of the all-layer loss starts at the mismatch of layer 0 (student) vs 1 (teacher), which
    # is non-zero, and falls.
    res = distill(
        bert, student, tokens, steps=8, lr=1e-3, batch_size=16, alpha_kl=0.0, alpha_cos=0.0,
        hidden_layers="all", schedule="warmup_cosine", cache_teacher=True,
    )  # fmt: skip
    hid = [row["hidden"] for row in res.log]
    assert len(hid) == 8 and hid[0] > 0 and np.mean(hid[-3:]) < hid[0]


def test_distill_rejects_unknown_schedule_and_layers(bert, tokens):
    from perfkit.compress import distill, student_from_teacher

    student = student_from_teacher(bert, "alternate")
    with pytest.raises(UsageError, match="hidden_layers"):
        distill(bert, student, tokens, steps=1, hidden_layers="some")
    with pytest.raises(UsageError, match="schedule"):
        distill(bert, student, tokens, steps=1, schedule="step")
    with pytest.raises(UsageError, match="warmup"):
        distill(bert, student, tokens, steps=1, schedule="warmup_cosine", warmup=1.5)
