"""student_from_teacher copies the intended layers, and refuses what it cannot cut."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from perfkit.compress import student_from_teacher
from perfkit.compress.models import MLPClassifier, load_model, predict, save_model, tiny_wav2vec2
from perfkit.errors import UsageError


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_alternate_keeps_every_other_layer_ending_at_the_last(bert):
    student = student_from_teacher(bert, "alternate")
    assert student.kept_layers == (1, 3)
    layers = student.encoder.encoder.layer
    assert len(layers) == 2 and student.encoder.config.num_hidden_layers == 2
    assert _same(layers[0], bert.encoder.encoder.layer[1])
    assert _same(layers[1], bert.encoder.encoder.layer[3])
    assert _same(student.encoder.embeddings, bert.encoder.embeddings)


def test_explicit_indices_copy_those_layers_and_leave_teacher_alone(bert, tokens):
    before = {k: v.clone() for k, v in bert.state_dict().items()}
    student = student_from_teacher(bert, [0, 2])
    assert _same(student.encoder.encoder.layer[0], bert.encoder.encoder.layer[0])
    assert _same(student.encoder.encoder.layer[1], bert.encoder.encoder.layer[2])
    assert len(bert.encoder.encoder.layer) == 4 and bert.encoder.config.num_hidden_layers == 4
    assert all(torch.equal(before[k], v) for k, v in bert.state_dict().items())
    out = predict(student, tokens)
    assert out.shape == (48, 32) and np.isfinite(out).all()


def test_keeping_all_layers_reproduces_the_teacher(bert, tokens):
    student = student_from_teacher(bert, [0, 1, 2, 3])
    np.testing.assert_allclose(predict(student, tokens), predict(bert, tokens), atol=1e-6)


def test_wav2vec2_layers_are_cut():
    teacher = tiny_wav2vec2(num_layers=4)
    student = student_from_teacher(teacher, "alternate")
    assert len(student.encoder.encoder.layers) == 2
    assert _same(student.encoder.encoder.layers[0], teacher.encoder.encoder.layers[1])
    assert _same(student.head, teacher.head)
    x = {"input_values": np.random.default_rng(0).normal(size=(2, 4000)).astype(np.float32)}
    assert predict(student, x).shape == (2, 4)


def test_mlp_student_round_trips_through_save_and_load(tmp_path):
    teacher = MLPClassifier(64, (32, 32, 32), 10)
    student = student_from_teacher(teacher, [1])
    assert student.arch["hidden"] == [32, 32]
    save_model(student, tmp_path / "s")
    back = load_model(tmp_path / "s")
    x = {"x": np.random.default_rng(0).random((5, 64), dtype=np.float32)}
    np.testing.assert_array_equal(predict(back, x), predict(student, x))


def test_explicit_layers_path(bert):
    student = student_from_teacher(bert, [3], layers_path="encoder.encoder.layer")
    assert len(student.encoder.encoder.layer) == 1
    with pytest.raises(UsageError, match="no nn.ModuleList at 'encoder.nope'"):
        student_from_teacher(bert, [0], layers_path="encoder.nope")


@pytest.mark.parametrize(
    "keep, match",
    [
        ([0, 4], r"out of range \[4\]: the teacher has 4 layers"),
        ([-1], "out of range"),
        ([], "keep is empty"),
        ([1, 1], "repeats a layer"),
        ("every-third", "unknown keep"),
    ],
)
def test_bad_keep(bert, keep, match):
    with pytest.raises(UsageError, match=match):
        student_from_teacher(bert, keep)


def test_architecture_without_layer_stack_names_what_it_looked_for():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU())
    with pytest.raises(UsageError, match="found no layer stack.*'encoder.layer'"):
        student_from_teacher(model)
