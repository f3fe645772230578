"""Offline data: digits, the sentence corpus, synthetic audio."""

from __future__ import annotations

import numpy as np
import pytest

from perfkit.compress.data import digits, paraphrase, sentence_corpus, synthetic_audio
from perfkit.errors import UsageError


def test_digits_splits(digits_data):
    d = digits_data
    assert d.train.x.shape[1] == 64 and d.train.x.dtype == np.float32
    assert len(d.train.x) + len(d.val.x) + len(d.test.x) == 1797
    assert 0.0 <= d.train.x.min() and d.train.x.max() <= 1.0
    assert set(np.unique(d.test.y)) == set(range(10))
    np.testing.assert_array_equal(digits(0).test.y, d.test.y)


def test_sentence_corpus_is_deterministic_distinct_prose():
    a = sentence_corpus(120)
    assert a == sentence_corpus(120)
    assert len(a) == 120 and len({s.lower() for s in a}) == 120
    assert all(40 <= len(s) <= 240 for s in a)
    held = sentence_corpus(120, source="docstrings")
    assert len(held) == 120 and not set(a) & set(held)


def test_sentence_corpus_errors():
    with pytest.raises(UsageError, match="unknown sentence source"):
        sentence_corpus(5, source="wikipedia")
    with pytest.raises(UsageError, match="positive"):
        sentence_corpus(0)


def test_paraphrase_changes_form_keeps_words():
    rng = np.random.default_rng(0)
    s = "The quick brown fox jumps over the lazy dog near the river bank today."
    p = paraphrase(s, rng)
    assert p != s and set(p.split()) <= set(s.rstrip(".").split())


def test_synthetic_audio_shapes_and_labels():
    a = synthetic_audio(12, seconds=0.25, num_classes=3)
    assert a.x.shape == (12, 4000) and a.x.dtype == np.float32
    assert np.abs(a.x).max() <= 1.0 + 1e-6
    assert sorted(np.bincount(a.y).tolist()) == [4, 4, 4]
    with pytest.raises(UsageError):
        synthetic_audio(0)


def test_packages_corpus_shares_nothing_with_held_out_or_pairs():
    from perfkit.compress.data import (
        CORPUS_PACKAGES,
        DOCSTRING_MODULES,
        PAIR_SOURCES,
        drop_overlap,
    )

    train = sentence_corpus(3000, source="packages")
    assert len(train) >= 1000
    held = sentence_corpus(256, source="docstrings", seed=2)
    # Packages that subclass standard-library classes repeat a few of their docstrings
    # (functools.partial's): the student corpus drops those, and only those.
    kept = drop_overlap(train, held)
    assert not set(kept) & set(held)
    assert len(train) - len(kept) <= 10
    pair_roots = {s.split(":")[0].split(".")[0] for s in PAIR_SOURCES}
    corpus_roots = {m.split(".")[0] for m in CORPUS_PACKAGES}
    assert not corpus_roots & pair_roots
    assert not corpus_roots & {m.split(".")[0] for m in DOCSTRING_MODULES}


def test_drop_overlap_removes_held_out_sentences_whatever_their_case_or_punctuation():
    from perfkit.compress.data import drop_overlap

    held = [
        "Compute the median along the specified axis. Returns the median of the array elements.",
        "Return a copy of the array.",
    ]
    train = [
        "compute the MEDIAN along the specified axis",  # the first sentence of a held-out text
        "Sort the rows of a table by one column.",
        "Return a copy of the array!",
        "Returns the median of the array elements.",  # the second sentence
        "Return a copy of the array, flattened.",  # longer: a different sentence
    ]
    assert drop_overlap(train, held) == [
        "Sort the rows of a table by one column.",
        "Return a copy of the array, flattened.",
    ]
    assert drop_overlap(train, []) == train


def test_student_corpus_excludes_what_it_is_told_to():
    from perfkit.compress.cases import student_corpus

    base = student_corpus(400)
    dropped = base[:25]
    again = student_corpus(400, exclude=dropped)
    assert not set(again) & set(dropped)
    assert len(again) == 400  # refilled from the rest of the pool
