"""Data that ships offline: scikit-learn's digits, a sentence corpus, synthetic audio.

Nothing here downloads anything: digits ship inside scikit-learn, sentences are cut from Python's
own ``pydoc_data`` topics and from installed modules' docstrings, and audio is generated.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Sequence
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


def _module_docs(name: str) -> list[str]:
    """The module docstring and its public callables' docstrings ([] if it does not import)."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mod = importlib.import_module(name)
    except Exception:
        return []
    texts = [mod.__doc__ or ""]
    for attr in sorted(vars(mod)):
        obj = getattr(mod, attr)
        doc = getattr(obj, "__doc__", None)
        if not attr.startswith("_") and isinstance(doc, str) and callable(obj):
            texts.append(doc)
    return texts


def _normalised(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


def drop_overlap(sentences: Sequence[str], held_out: Iterable[str]) -> list[str]:
    """``sentences`` without any that also occurs in a ``held_out`` text, in their order.

    Both sides are compared sentence by sentence, case, punctuation and spacing ignored: a
    training corpus that repeats an evaluation sentence (dask copies NumPy's docstrings, many
    libraries share "Return a copy of the array.") would overstate fidelity on it.
    """
    seen = set()
    for text in held_out:
        seen.add(_normalised(text))
        seen.update(_normalised(part) for part in _SENTENCE_END.split(text))
    seen.discard("")
    return [s for s in sentences if _normalised(s) not in seen]


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
        ``"docstrings"``: docstrings of standard-library modules (held-out, a different register);
        ``"packages"``: docstrings of the third-party :data:`CORPUS_PACKAGES` (a broader
        training corpus; modules that are not installed are skipped).
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
    elif source in ("docstrings", "packages"):
        texts = []
        for name in DOCSTRING_MODULES if source == "docstrings" else CORPUS_PACKAGES:
            texts.extend(_module_docs(name))
    else:
        raise UsageError(
            f"unknown sentence source {source!r}", "use 'pydoc', 'docstrings' or 'packages'"
        )
    pool = _dedupe([s for t in texts for s in _clean_sentences(t, min_chars, max_chars)])
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(pool))[: min(n, len(pool))]
    return [pool[i] for i in sorted(idx)]


#: Where :func:`docstring_pairs` looks for functions of the same name, documented separately:
#: ``"module"`` or ``"module:Class"``. The same operation (``cumsum``, ``qr``, ``reindex``) is
#: described by different authors in different words: real paraphrases that ship offline.
PAIR_SOURCES: tuple[str, ...] = (
    "numpy",
    "numpy:ndarray",
    "numpy.linalg",
    "numpy.fft",
    "numpy.random",
    "torch",
    "torch:Tensor",
    "torch.linalg",
    "torch.fft",
    "torch.special",
    "torch.nn.functional",
    "math",
    "cmath",
    "statistics",
    "operator",
    "random",
    "scipy.special",
    "scipy.linalg",
    "scipy.fft",
    "scipy.stats",
    "mpmath",
    "pyarrow.compute",
    "pandas",
    "pandas:DataFrame",
    "pandas:Series",
    "polars",
    "polars:DataFrame",
    "polars:Series",
)

#: Third-party packages whose docstrings widen the distillation corpus (``source="packages"``):
#: none of them is a :data:`PAIR_SOURCES` module or in the standard library, so training text
#: shares no sentence with the paraphrase pairs or the held-out docstrings.
CORPUS_PACKAGES: tuple[str, ...] = (
    "sklearn.base",
    "sklearn.linear_model",
    "sklearn.cluster",
    "sklearn.decomposition",
    "sklearn.ensemble",
    "sklearn.metrics",
    "sklearn.model_selection",
    "sklearn.preprocessing",
    "networkx",
    "matplotlib.pyplot",
    "matplotlib.axes",
    "dask.dataframe",
    "hypothesis.strategies",
    "jinja2",
    "click",
    "rich.console",
    "rich.table",
    "transformers.tokenization_utils_base",
    "transformers.trainer",
    "huggingface_hub",
    "jsonschema",
    "httpx2",
    "tornado.web",
    "yaml",
    "sympy",
    # A wider register at the same teacher-caching cost per sentence (+6 500 sentences):
    "sklearn.svm",
    "sklearn.tree",
    "sklearn.neighbors",
    "sklearn.feature_extraction.text",
    "sklearn.pipeline",
    "sklearn.mixture",
    "sklearn.manifold",
    "sklearn.naive_bayes",
    "sklearn.gaussian_process",
    "sklearn.impute",
    "sklearn.feature_selection",
    "sklearn.neural_network",
    "sklearn.covariance",
    "sklearn.semi_supervised",
    "sklearn.utils",
    "matplotlib.figure",
    "matplotlib.colors",
    "matplotlib.ticker",
    "matplotlib.patches",
    "matplotlib.text",
    "matplotlib.collections",
    "matplotlib.lines",
    "networkx.algorithms",
    "distributed",
    "dask.bag",
    "IPython.core.interactiveshell",
    "jedi",
    "PIL.Image",
    "pygments.lexer",
    "markdown_it",
    "joblib",
    "numba",
    "onnx.helper",
    "transformers.modeling_utils",
    "transformers.pipelines",
    "huggingface_hub.hf_api",
    "_pytest.python",
    "_pytest.fixtures",
    "tornado.httpclient",
    "attr",
    "jinja2.environment",
    "sympy.core.expr",
    "sympy.solvers",
    "sympy.simplify",
    "sympy.matrices",
    "sympy.integrals",
    "sympy.series",
    "hypothesis.extra.numpy",
    "rich.progress",
    "line_profiler",
    "asv",
    "fsspec",
    "nbformat",
    "jsonschema.validators",
)

_ROLE = re.compile(r":(?:math|func|class|meth|attr|ref|obj|data|mod|exc|py:\w+):`~?([^`]*)`")
#: Summaries that only point elsewhere ("Alias for torch.abs", "See torch.abs()") describe nothing.
_POINTER = re.compile(
    r"^(alias|an alias|see|same as|in-place version|refer to|equivalent to|this is|"
    r"method equivalent|deprecated|this function is deprecated|shortcut for)\b",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"^[\w.]+\(.*\)(\s*->.*)?$")


def doc_summary(doc: object, max_chars: int = 300) -> str:
    """The first prose paragraph of a docstring, markup stripped ("" when it has none).

    Signature lines (``log2(x, /, out=None)``), doctest lines, section headers and paragraphs
    that are mostly symbols are skipped; reST roles and backquotes are reduced to their text.
    """
    if not isinstance(doc, str):
        return ""
    import inspect

    for para in re.split(r"\n\s*\n", inspect.cleandoc(doc)):
        flat = " ".join(ln.strip() for ln in para.splitlines() if ln.strip())
        if not flat or _SIGNATURE.match(flat) or flat.startswith((">>>", "..", "Parameters")):
            continue
        if re.search(r"[=\-~]{4,}", flat) or "\\" in flat or "$" in flat:
            continue
        flat = re.sub(r"`+([^`]*)`+", r"\1", _ROLE.sub(r"\1", flat)).strip()
        if len(flat) >= 15 and len(_WORD.findall(flat)) >= 0.6 * len(flat):
            return flat[:max_chars]
    return ""


def _named_docs(spec: str) -> dict[str, str]:
    """``{lower-case name: summary}`` of the public callables of ``module`` or ``module:Class``."""
    import warnings

    module, _, cls = spec.partition(":")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = importlib.import_module(module)
            obj = getattr(obj, cls) if cls else obj
    except Exception:  # a source that is not installed (or fails to import) is skipped
        return {}
    out = {}
    for name in dir(obj):
        if name.startswith("_"):
            continue
        try:
            fn = getattr(obj, name)
        except Exception:
            continue
        text = doc_summary(getattr(fn, "__doc__", None)) if callable(fn) else ""
        if text and len(text.split()) >= 4 and not _POINTER.match(text):
            out[name.lower()] = text
    return out


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


@dataclass(frozen=True)
class ParaphrasePairs:
    """Retrieval pairs: ``queries[i]`` and ``documents[i]`` describe the function ``names[i]``.

    ``sources[i]`` says which two libraries documented it (``"numpy|torch"``).
    """

    names: tuple[str, ...]
    queries: tuple[str, ...]
    documents: tuple[str, ...]
    sources: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.names)

    def split(self, every: int) -> tuple[ParaphrasePairs, ParaphrasePairs]:
        """(every ``every``-th pair, the rest): a tuning split and a held-out split."""
        if every < 2:
            raise UsageError(f"every must be >= 2, got {every}", "e.g. split(4)")
        pick = [i % every == 0 for i in range(len(self))]

        def sub(keep: bool) -> ParaphrasePairs:
            idx = [i for i, p in enumerate(pick) if p == keep]
            return ParaphrasePairs(*(tuple(getattr(self, f)[i] for i in idx) for f in PAIR_FIELDS))

        return sub(True), sub(False)


PAIR_FIELDS = ("names", "queries", "documents", "sources")


def docstring_pairs(
    sources: Sequence[str] = PAIR_SOURCES, *, max_overlap: float = 0.6
) -> ParaphrasePairs:
    """Real paraphrase pairs: two libraries' summaries of the same function, offline.

    For every public callable name documented in at least two of ``sources`` (``cumsum`` in
    NumPy and in torch, ``reindex`` in pandas' DataFrame and Series), the pair of summaries with
    the fewest shared words is kept, if they share at most ``max_overlap`` of their words
    (Jaccard): copied docstrings are not paraphrases. Texts that describe more than one name
    are dropped, so every query has exactly one right answer.

    Parameters
    ----------
    sources
        ``"module"`` or ``"module:Class"`` specs; missing modules are skipped.
    max_overlap
        Largest word overlap (Jaccard) between the two texts of a pair.

    Returns
    -------
    ParaphrasePairs
        Sorted by name: deterministic for a given set of installed packages.
    """
    import itertools

    if not 0 < max_overlap <= 1:
        raise UsageError(f"max_overlap must be in (0, 1], got {max_overlap}", "e.g. 0.6")
    by_name: dict[str, dict[str, str]] = {}
    for spec in sources:
        for name, text in _named_docs(spec).items():
            by_name.setdefault(name, {})[spec] = text
    uses: dict[str, int] = {}
    for texts in by_name.values():
        for t in set(texts.values()):
            uses[t.lower()] = uses.get(t.lower(), 0) + 1
    rows = []
    for name in sorted(by_name):
        texts = {k: v for k, v in by_name[name].items() if uses[v.lower()] == 1}
        best = None
        for (sa, ta), (sb, tb) in itertools.combinations(sorted(texts.items()), 2):
            wa, wb = _words(ta), _words(tb)
            overlap = len(wa & wb) / max(1, len(wa | wb))
            if overlap <= max_overlap and (best is None or overlap < best[0]):
                best = (overlap, ta, tb, f"{sa}|{sb}")
        if best is not None:
            rows.append((name, *best[1:]))
    if not rows:
        raise UsageError(
            "no function is documented by two of the given sources",
            "install numpy and torch (the ml extra) or pass other sources",
        )
    return ParaphrasePairs(*(tuple(r[i] for r in rows) for i in range(4)))


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
