"""Behavioural checks (issue 15, item 5): each fires on a deliberately broken model and stays
silent on a good one."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def runners(digits_model):
    from perfkit.compress.models import predict

    def good(inp):
        return predict(digits_model, inp)

    mix = np.random.default_rng(0).normal(size=(64, 10))

    def jittery(inp):  # answers change with the tiniest input change
        return good(inp) + 100.0 * np.sin(1e4 * inp["x"]) @ mix

    def backwards(inp):  # classes shifted by one (a wrong label map): evidence goes elsewhere
        return np.roll(good(inp), 1, axis=1)

    return {"fp32": good, "good": good, "jittery": jittery, "backwards": backwards}


def test_noise_invariance_fires_only_on_the_jittery_model(runners, digits_data):
    from perfkit.compress.behaviour import noise_invariance

    res = noise_invariance(runners, {"x": digits_data.test.x}, "fp32", "classification")
    assert res["good"]["ok"] and res["good"]["rate"] > 0.9
    assert not res["jittery"]["ok"] and res["jittery"]["rate"] < res["fp32"]["rate"] - 0.1


def test_directional_expectation_fires_only_on_the_backwards_model(runners, digits_data):
    from perfkit.compress.behaviour import directional_expectation

    d = digits_data
    res = directional_expectation(runners, {"x": d.test.x}, d.test.y, "fp32")
    assert res["fp32"]["rate"] > 0.7 and res["good"]["ok"]
    assert not res["backwards"]["ok"]


def _hash_tokenize(sentences):
    ids = np.zeros((len(sentences), 24), np.int64)
    for i, s in enumerate(sentences):
        words = [sum(map(ord, w)) % 120 + 5 for w in s.lower().split()][:24]
        ids[i, : len(words)] = words
    return {"input_ids": ids, "attention_mask": (ids > 0).astype(np.int64)}


def test_synonym_invariance_fires_only_on_a_model_that_ignores_meaning(bert):
    from perfkit.compress.behaviour import SYNONYMS, swap_synonyms, synonym_invariance
    from perfkit.compress.models import predict

    assert swap_synonyms("Create a big file.") == "Make a large document."
    words = sorted(SYNONYMS)
    rng = np.random.default_rng(0)
    fillers = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "theta", "kappa", "zeta"]
    texts = [
        " ".join([*rng.choice(fillers, 6), words[i % len(words)], *rng.choice(fillers, 4)])
        for i in range(24)
    ]

    def good(inp):
        return predict(bert, inp)

    def scrambled(inp):  # a random embedding per distinct input: no notion of similar text
        rows = [np.random.default_rng(abs(hash(r.tobytes())) % 2**32).normal(size=32)
                for r in inp["input_ids"]]  # fmt: skip
        return np.stack(rows)

    res = synonym_invariance(
        {"fp32": good, "good": good, "scrambled": scrambled}, texts, _hash_tokenize, "fp32",
        "embedding",
    )  # fmt: skip
    assert res["fp32"]["rate"] > 0.8 and res["good"]["ok"]
    assert not res["scrambled"]["ok"]


class _Constant(torch.nn.Module):
    """A 'student' whose answer ignores its input: it can lower the loss, never fit a batch."""

    task = "classification"

    def __init__(self) -> None:
        super().__init__()
        self.bias = torch.nn.Parameter(torch.zeros(10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(len(x), 10)


def test_training_sanity_fires_on_students_that_cannot_learn(digits_model, digits_data):
    from perfkit.compress.behaviour import training_sanity
    from perfkit.compress.students import student_from_teacher

    data = {"x": digits_data.train.x}
    torch.manual_seed(0)
    good = student_from_teacher(digits_model, [0])
    ok = training_sanity(digits_model, good, data, "classification")
    assert ok["loss_falls"]["ok"] and ok["overfits_one_batch"]["ok"], ok
    frozen = student_from_teacher(digits_model, [0])
    for p in frozen.parameters():
        p.requires_grad_(False)
    res = training_sanity(digits_model, frozen, data, "classification")
    assert not res["loss_falls"]["ok"] and not res["overfits_one_batch"]["ok"]
    res = training_sanity(digits_model, _Constant(), data, "classification")
    assert res["loss_falls"]["ok"] and not res["overfits_one_batch"]["ok"], res


def test_compare_models_reports_behaviour_beside_fidelity(digits_model, digits_data):
    from perfkit.compress import compare_models
    from perfkit.compress.students import student_from_teacher

    d = digits_data
    torch.manual_seed(0)
    student = student_from_teacher(digits_model, [0])
    rep = compare_models(
        digits_model, {"student": student, "constant": _Constant()}, {"x": d.test.x},
        labels=d.test.y, batch_sizes=(4,), repeat=1,
    )  # fmt: skip
    fp32, stud, const = rep["fp32"], rep["student"], rep["constant"]
    assert {"noise_invariance", "directional"} <= set(fp32.behaviour)
    assert {"loss_falls", "overfits_one_batch"} <= set(stud.behaviour)
    assert "overfits_one_batch" in const.fired() and "noise_invariance" not in const.fired()
    assert "FAILS" in rep.render() and "behaviour" in rep.to_dict()["results"][1]
