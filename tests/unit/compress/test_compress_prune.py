"""prune_ffn removes the feed-forward neurons that matter least, and keeps the model whole."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from perfkit.compress import ffn_importance, prune_ffn, student_from_teacher
from perfkit.compress.models import load_model, predict, save_model, tiny_wav2vec2
from perfkit.errors import UsageError


def _ffn(layer):
    return layer.intermediate.dense, layer.output.dense


def test_full_width_keeps_the_outputs(bert, tokens):
    model = copy.deepcopy(bert)
    prune_ffn(model, bert.encoder.config.intermediate_size, tokens)
    np.testing.assert_allclose(predict(model, tokens), predict(bert, tokens), atol=1e-6)


def test_dead_neurons_go_first_and_the_outputs_do_not_move(bert, tokens):
    """Neurons whose down-projection column is zero contribute nothing: they are the ones cut."""
    model = copy.deepcopy(bert)
    inner = model.encoder.config.intermediate_size
    dead = [3, 7, 40, 41, 99, 127][: inner // 2]
    with torch.no_grad():
        for layer in model.encoder.encoder.layer:
            _ffn(layer)[1].weight[:, dead] = 0.0
    reference = predict(model, tokens)
    alive = [i for i in range(inner) if i not in dead]
    up_rows = [_ffn(layer)[0].weight[alive].clone() for layer in model.encoder.encoder.layer]
    for refit, atol in ((False, 1e-5), (True, 1e-4)):  # the refit's ridge moves it a hair
        pruned = prune_ffn(copy.deepcopy(model), inner - len(dead), tokens, refit=refit)
        for layer, rows in zip(pruned.encoder.encoder.layer, up_rows, strict=True):
            up, down = _ffn(layer)
            assert up.weight.shape == (inner - len(dead), up.in_features)
            assert down.weight.shape == (down.out_features, inner - len(dead))
            torch.testing.assert_close(up.weight, rows)  # the survivors, in their original order
        np.testing.assert_allclose(predict(pruned, tokens), reference, atol=atol)


def test_half_width_updates_config_and_round_trips(bert, tokens, tmp_path):
    model = student_from_teacher(bert, "alternate")
    width = bert.encoder.config.intermediate_size // 2
    prune_ffn(model, width, tokens)
    assert model.encoder.config.intermediate_size == width
    assert bert.encoder.config.intermediate_size == 2 * width  # the teacher is untouched
    n_before = sum(p.numel() for p in student_from_teacher(bert, "alternate").parameters())
    assert sum(p.numel() for p in model.parameters()) < n_before
    out = predict(model, tokens)
    assert np.isfinite(out).all()
    save_model(model, tmp_path / "pruned")
    np.testing.assert_allclose(predict(load_model(tmp_path / "pruned"), tokens), out, atol=1e-6)


def test_padding_does_not_count_towards_importance(bert, tokens):
    """Scores from padded batches equal those from one sentence at a time (no padding at all)."""
    padded = ffn_importance(bert, tokens, batch_size=48)
    alone = ffn_importance(bert, tokens, batch_size=1)
    for a, b in zip(padded, alone, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_wav2vec2_feed_forward_is_pruned():
    model = tiny_wav2vec2(num_layers=2)
    x = {"input_values": np.random.default_rng(0).normal(size=(3, 4000)).astype(np.float32)}
    inner = model.encoder.config.intermediate_size
    prune_ffn(model, inner // 4, x)
    for layer in model.encoder.encoder.layers:
        assert layer.feed_forward.intermediate_dense.out_features == inner // 4
    assert np.isfinite(predict(model, x)).all()


@pytest.mark.parametrize("width", [0, -3, 10_000])
def test_width_out_of_range_is_refused(bert, tokens, width):
    with pytest.raises(UsageError, match="outside 1"):
        prune_ffn(copy.deepcopy(bert), width, tokens)


def test_no_data_is_refused(bert, tokens):
    empty = {k: v[:0] for k, v in tokens.items()}
    with pytest.raises(UsageError, match="no data"):
        prune_ffn(copy.deepcopy(bert), 8, empty)


def test_a_model_without_feed_forward_blocks_is_refused():
    from perfkit.compress.models import MLPClassifier

    with pytest.raises(UsageError, match="no feed-forward pair"):
        prune_ffn(MLPClassifier(8, (8, 8), 2), 4, {"x": np.zeros((2, 8), np.float32)})


def test_refit_reproduces_the_full_block_better_than_slicing(bert, tokens):
    reference = predict(bert, tokens)
    width = bert.encoder.config.intermediate_size // 4
    errors = {}
    for refit in (False, True):
        model = prune_ffn(copy.deepcopy(bert), width, tokens, refit=refit)
        errors[refit] = float(np.mean((predict(model, tokens) - reference) ** 2))
    assert errors[True] < 0.8 * errors[False], errors


def test_refit_sample_is_spread_over_all_tokens(bert, tokens):
    from perfkit.compress.students import _ffn_inputs

    real = int(tokens["attention_mask"].sum())
    _, _, samples = _ffn_inputs(bert, tokens, None, 8, sample_tokens=real // 4)
    assert all(abs(len(s) - real / (real // (real // 4))) <= 1 for s in samples)
    _, _, none = _ffn_inputs(bert, tokens, None, 8)
    assert none == [None] * len(samples)


def test_distilbert_feed_forward_is_pruned_and_its_config_follows(tokens):
    from transformers import DistilBertConfig, DistilBertModel

    from perfkit.compress.models import SentenceEmbedder

    torch.manual_seed(0)
    cfg = DistilBertConfig(vocab_size=128, dim=32, hidden_dim=64, n_layers=2, n_heads=2)
    model = SentenceEmbedder(DistilBertModel(cfg).eval())  # the wrapper stays in train mode
    reference = predict(model, tokens)
    prune_ffn(model, 64, tokens)  # full width: nothing moves
    np.testing.assert_allclose(predict(model, tokens), reference, atol=1e-5)
    prune_ffn(model, 24, tokens)
    assert model.encoder.config.hidden_dim == 24
    for layer in model.encoder.transformer.layer:
        assert (layer.ffn.lin1.out_features, layer.ffn.lin2.in_features) == (24, 24)
    assert np.isfinite(predict(model, tokens)).all()
    # Regression: scoring put every submodule in the wrapper's train mode (dropout on).
    assert model.training and not model.encoder.training
