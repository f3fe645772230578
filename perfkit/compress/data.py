"""Data that ships offline: scikit-learn's digits, a sentence corpus, synthetic audio.

Nothing here downloads anything: digits ship inside scikit-learn, sentences are cut from Python's
own ``pydoc_data`` topics and from installed modules' docstrings, and audio is generated.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from perfkit.errors import MissingDependencyError, UsageError

#: Standard-library modules whose docstrings make the held-out corpus: prose unlike pydoc topics.
DOCSTRING_MODULES: tuple[str, ...] = (
    "argparse",
    "asyncio",
    "collections",
    "concurrent.futures",
    "csv",
    "datetime",
    "decimal",
    "email",
    "functools",
    "http.client",
    "itertools",
    "json",
    "logging",
    "multiprocessing",
    "pathlib",
    "random",
    "re",
    "shutil",
    "socket",
    "sqlite3",
    "statistics",
    "subprocess",
    "tarfile",
    "threading",
    "unittest",
    "urllib.parse",
    "xml.etree.ElementTree",
    "zipfile",
)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_WORD = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class Split:
    """Features and labels of one split of a classification data set."""

    x: np.ndarray
    y: np.ndarray


@dataclass(frozen=True)
class Digits:
    """scikit-learn's 8x8 digits, scaled to [0, 1] and split deterministically."""

    train: Split
    val: Split
    test: Split


def digits(seed: int = 0) -> Digits:
    """Load scikit-learn's digits (1,797 images, 64 features) as float32 train/val/test splits.

    Parameters
    ----------
    seed
        Seed of the shuffle that makes the 60/20/20 split.

    Returns
    -------
    Digits
        Splits with ``x`` float32 in [0, 1] and ``y`` int64 labels 0-9.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - sklearn is part of the ml extra
        raise MissingDependencyError("scikit-learn", "ml", "the digits data set") from exc
    bunch = load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    a, b = int(0.6 * len(x)), int(0.8 * len(x))
    return Digits(Split(x[:a], y[:a]), Split(x[a:b], y[a:b]), Split(x[b:], y[b:]))


def _clean_sentences(text: str, min_chars: int, max_chars: int) -> list[str]:
    out = []
    for para in re.split(r"\n\s*\n", text):
        # Code blocks and tables are indented or full of symbols: prose lines only.
        lines = [ln.strip() for ln in para.splitlines() if ln.strip()]
        if not lines or any(ln.startswith((">>>", "...", "|", "+", "*", "-", "=")) for ln in lines):
            continue
        flat = " ".join(lines)
        for sent in _SENTENCE_END.split(flat):
            sent = sent.strip()
            letters = len(_WORD.findall(sent))
            if min_chars <= len(sent) <= max_chars and letters >= 0.7 * len(sent):
                out.append(sent)
    return out


def _dedupe(sentences: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for s in sentences:
        key = s.lower()
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def sentence_corpus(
    n: int = 400,
    *,
    source: str = "pydoc",
    seed: int = 0,
    min_chars: int = 40,
    max_chars: int = 240,
) -> list[str]:
    """Real English sentences built offline from Python's own documentation.

    Parameters
    ----------
    n
        How many sentences to return (fewer if the source has fewer).
    source
        ``"pydoc"``: the language reference topics in ``pydoc_data`` (the training corpus);
        ``"docstrings"``: docstrings of standard-library modules (held-out, a different register).
    seed
        Seed of the sample drawn from all clean sentences.
    min_chars, max_chars
        Length bounds of a kept sentence.

    Returns
    -------
    list[str]
        Distinct sentences, in a deterministic order.
    """
    if n <= 0:
        raise UsageError(f"n must be positive, got {n}", "ask for at least one sentence")
    if source == "pydoc":
        from pydoc_data.topics import topics

        texts = [topics[k] for k in sorted(topics)]
    elif source == "docstrings":
        texts = []
        for name in DOCSTRING_MODULES:
            mod = importlib.import_module(name)
            texts.append(mod.__doc__ or "")
            for attr in sorted(vars(mod)):
                obj = getattr(mod, attr)
                doc = getattr(obj, "__doc__", None)
                if not attr.startswith("_") and isinstance(doc, str) and callable(obj):
                    texts.append(doc)
    else:
        raise UsageError(f"unknown sentence source {source!r}", "use 'pydoc' or 'docstrings'")
    pool = _dedupe([s for t in texts for s in _clean_sentences(t, min_chars, max_chars)])
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(pool))[: min(n, len(pool))]
    return [pool[i] for i in sorted(idx)]


def paraphrase(sentence: str, rng: np.random.Generator, drop: float = 0.15) -> str:
    """A cheap offline paraphrase: drop a fraction of words and swap the two halves of the clause.

    Used as the positive of a retrieval pair (paraphrase recall@1): close in meaning, different in
    surface form, so a model must encode content rather than exact tokens.
    """
    words = sentence.rstrip(".").split()
    if len(words) < 4:
        return sentence
    keep = [w for w in words if rng.random() >= drop] or words
    cut = len(keep) // 2
    return " ".join(keep[cut:] + keep[:cut])


def synthetic_audio(
    n: int = 64,
    *,
    seconds: float = 0.5,
    sample_rate: int = 16000,
    num_classes: int = 4,
    seed: int = 0,
) -> Split:
    """Labelled synthetic speech-like audio: class-dependent tone mixtures with noise and envelope.

    Each class has its own pair of formant-like frequencies; amplitude, phase and noise vary per
    clip, so a model must learn the spectrum, not the sample values.

    Returns
    -------
    Split
        ``x`` float32 of shape (n, seconds * sample_rate), ``y`` int64 labels.
    """
    if n <= 0 or seconds <= 0 or num_classes < 2:
        raise UsageError(
            "synthetic_audio needs n > 0, seconds > 0 and at least two classes",
            "pass positive sizes",
        )
    rng = np.random.default_rng(seed)
    length = int(seconds * sample_rate)
    t = np.arange(length, dtype=np.float64) / sample_rate
    y = np.arange(n) % num_classes
    rng.shuffle(y)
    base = 200.0 + 250.0 * np.arange(num_classes)
    x = np.empty((n, length), dtype=np.float32)
    for i, label in enumerate(y):
        f1 = base[label] * rng.uniform(0.97, 1.03)
        f2 = 2.7 * f1
        env = np.sin(np.pi * t / t[-1]) ** 2
        wave = np.sin(2 * np.pi * f1 * t + rng.uniform(0, 2 * np.pi)) + 0.5 * np.sin(
            2 * np.pi * f2 * t + rng.uniform(0, 2 * np.pi)
        )
        clip = rng.uniform(0.5, 1.0) * env * wave + 0.1 * rng.standard_normal(length)
        x[i] = (clip / (np.abs(clip).max() + 1e-9)).astype(np.float32)
    return Split(x, y.astype(np.int64))
