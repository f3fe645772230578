"""Fidelity: how far a compressed model's outputs are from the reference's, and targets for it.

:func:`fidelity_figures` measures (cosine of outputs, top-1 agreement, accuracy, max abs error);
:class:`Fidelity` states a target; :func:`fit_to_target` keeps the most sensitive layers in float
until a quantized model meets the target on held-out inputs, and says which and why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from perfkit.errors import UsageError


@dataclass(frozen=True)
class Fidelity:
    """A fidelity target: every given bound must hold.

    Parameters
    ----------
    cosine
        Minimum mean cosine similarity between candidate and reference outputs (per sample).
    agreement
        Minimum top-1 agreement: same argmax class (classifiers) or same nearest neighbour
        (embeddings).
    max_abs_error
        Maximum absolute difference of any output value.
    recall_ratio
        Minimum retrieval recall@1 of the candidate as a fraction of the reference's
        (``figures["recall_ratio"]``, from :func:`retrieval_figures`); a missing figure misses.
    """

    cosine: float | None = None
    agreement: float | None = None
    max_abs_error: float | None = None
    recall_ratio: float | None = None

    def __post_init__(self) -> None:
        for name in ("cosine", "agreement", "recall_ratio"):
            value = getattr(self, name)
            if value is not None and not -1.0 <= value <= 1.0:
                raise UsageError(
                    f"Fidelity({name}={value}) is out of range", "use a value in [0, 1]"
                )
        if all(getattr(self, k) is None for k in ("cosine", "agreement", "max_abs_error")) and (
            self.recall_ratio is None
        ):
            raise UsageError("Fidelity() names no bound", "e.g. Fidelity(cosine=0.99)")

    def __str__(self) -> str:
        parts = [
            f"{label} {op} {getattr(self, key)}"
            for key, label, op in (
                ("cosine", "cosine", ">="),
                ("agreement", "top-1 agreement", ">="),
                ("max_abs_error", "max abs error", "<="),
                ("recall_ratio", "recall@1 ratio", ">="),
            )
            if getattr(self, key) is not None
        ]
        return ", ".join(parts)

    def misses(self, figures: Mapping[str, Any]) -> list[str]:
        """The bounds ``figures`` fail, each as a short phrase (empty when the target is met)."""
        out = []
        if self.cosine is not None and figures["cosine"] < self.cosine:
            out.append(f"cosine {figures['cosine']:.4f} < {self.cosine}")
        if self.agreement is not None and figures["agreement"] < self.agreement:
            out.append(f"agreement {figures['agreement']:.4f} < {self.agreement}")
        if self.max_abs_error is not None and figures["max_abs_error"] > self.max_abs_error:
            out.append(f"max abs error {figures['max_abs_error']:.4g} > {self.max_abs_error}")
        if self.recall_ratio is not None:
            got = figures.get("recall_ratio")
            if got is None or not got >= self.recall_ratio:
                shown = "missing" if got is None else f"{got:.4f}"
                out.append(f"recall@1 ratio {shown} < {self.recall_ratio}")
        return out

    def met_by(self, figures: Mapping[str, Any]) -> bool:
        """True when ``figures`` (from :func:`fidelity_figures`) meet every bound."""
        return not self.misses(figures)


#: A row whose largest magnitude is below this (all its values zero or subnormal) is a zero row:
#: subnormals carry too few significant bits to give a row a direction, and scaling one changes
#: it (5e-324 * 0.5 == 0, 1e-323 * 0.7 == 5e-324), so treating them as signal made results flip.
ZERO_ROW = float(np.finfo(np.float64).tiny)


def zero_rows(x: np.ndarray) -> np.ndarray:
    """Mask of the rows (samples, flattened) of ``x`` that :func:`row_cosines` treats as zero.

    A row is zero when none of its magnitudes reaches :data:`ZERO_ROW` (float64's smallest
    normal number) and it holds no NaN.
    """
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    if x.shape[1] == 0:
        return np.ones(len(x), dtype=bool)
    peak = np.abs(x).max(1)
    return ~(peak >= ZERO_ROW) & ~np.isnan(peak)


def row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of each sample (row, flattened) of ``a`` with the same row of ``b``.

    Symmetric and scale-invariant. Rows whose values are all zero or subnormal are zero rows
    (see :func:`zero_rows`): two zero rows agree exactly (1.0), a zero row against a non-zero one
    is orthogonal (0.0). Before, a subnormal row (5e-324) against a zero row was orthogonal but
    the same rows scaled by 0.5 (the subnormal underflowing to 0) were identical. Scaling a row
    into or out of the subnormal range changes its class, as underflow changes its values.

    Parameters
    ----------
    a, b
        Arrays with the same first axis (samples); other axes are flattened.

    Returns
    -------
    numpy.ndarray
        One cosine in [-1, 1] per row (NaN where a row holds NaN).
    """
    zero_a, zero_b = zero_rows(a), zero_rows(b)
    a = _unit_rows(np.asarray(a, np.float64).reshape(len(a), -1), zero_a)
    b = _unit_rows(np.asarray(b, np.float64).reshape(len(b), -1), zero_b)
    cos = (a * b).sum(1)
    cos[zero_a | zero_b] = 0.0
    cos[zero_a & zero_b] = 1.0  # two all-zero outputs agree exactly
    return np.clip(cos, -1.0, 1.0)


def _unit_rows(x: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, by their max first so tiny values do not underflow."""
    if x.shape[1] == 0:
        return x
    peak = np.abs(x).max(1, keepdims=True)
    x = x / np.where(zero[:, None], 1.0, peak)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norm > 0, norm, 1.0)


def nearest_neighbours(emb: np.ndarray) -> np.ndarray:
    """Index of each row's most cosine-similar other row (self excluded)."""
    e = np.asarray(emb, np.float64).reshape(len(emb), -1)
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-300)
    sim = e @ e.T
    np.fill_diagonal(sim, -np.inf)
    return sim.argmax(1)


def fidelity_figures(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    task: str = "embedding",
    labels: np.ndarray | None = None,
) -> dict[str, float | None]:
    """Measure how closely ``candidate`` outputs follow ``reference`` outputs.

    Parameters
    ----------
    reference, candidate
        Outputs of the two models on the same inputs, first axis = samples.
    task
        ``"classification"``: agreement = same argmax; ``"embedding"``: agreement = same nearest
        neighbour among the other samples (top-1 retrieval agreement).
    labels
        True labels; adds ``accuracy`` (classification only).

    Returns
    -------
    dict
        ``cosine`` (mean over samples), ``cosine_min``, ``agreement``, ``max_abs_error``,
        ``accuracy`` (or None).
    """
    ref, cand = np.asarray(reference), np.asarray(candidate)
    if ref.shape != cand.shape:
        raise UsageError(
            f"outputs differ in shape: reference {ref.shape}, candidate {cand.shape}",
            "compare models with the same output",
        )
    if len(ref) == 0:
        raise UsageError("no samples to compare", "pass at least one input")
    cos = row_cosines(ref, cand)
    if task == "classification":
        agreement = float((ref.argmax(-1) == cand.argmax(-1)).mean())
    elif task == "embedding":
        agreement = (
            float((nearest_neighbours(ref) == nearest_neighbours(cand)).mean())
            if len(ref) > 1
            else 1.0
        )
    else:
        raise UsageError(f"unknown task {task!r}", "use 'classification' or 'embedding'")
    accuracy = None
    if labels is not None and task == "classification":
        accuracy = float((cand.argmax(-1) == np.asarray(labels)).mean())
    return {
        "cosine": float(cos.mean()),
        "cosine_min": float(cos.min()),
        "agreement": agreement,
        "max_abs_error": float(np.abs(ref.astype(np.float64) - cand).max()),
        "accuracy": accuracy,
    }


@dataclass(frozen=True)
class FallbackReport:
    """What fidelity-targeted quantization did: which layers stayed float, and why."""

    target: Fidelity
    met: bool
    before: dict[str, Any]
    after: dict[str, Any]
    sensitivity: dict[str, float]
    kept_float: tuple[str, ...]
    builds: int
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": {k: v for k, v in asdict(self.target).items() if v is not None},
            "met": self.met,
            "before": self.before,
            "after": self.after,
            "kept_float": list(self.kept_float),
            "sensitivity": {k: round(v, 6) for k, v in self.sensitivity.items()},
            "builds": self.builds,
            "reason": self.reason,
        }


def _reference_outputs(model: Any, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    import torch

    if isinstance(model, torch.nn.Module):
        from perfkit.compress.models import predict

        return predict(model, inputs)
    return np.asarray(model(inputs))


def _task(model: Any) -> str:
    return getattr(model, "task", "embedding")


def fit_to_target(
    engine: Any,
    prepared: Any,
    layers: Sequence[str],
    model: Any,
    held_out: Mapping[str, np.ndarray],
    target: Fidelity,
    *,
    figures: Callable[[np.ndarray, np.ndarray], Mapping[str, Any]] | None = None,
) -> Any:
    """Quantize ``layers`` but keep the most sensitive ones in float until ``target`` holds.

    Sensitivity of a layer = the fidelity lost when it alone is quantized (1 - cosine, plus the
    agreement lost): cheap to measure because the engine's ``prepare`` already did the export
    and calibration. Layers are then returned to float in decreasing sensitivity until the
    target holds on ``held_out``. The result carries a :class:`FallbackReport` as ``fallback``.
    ``figures(reference_outputs, candidate_outputs)`` replaces :func:`fidelity_figures` (for
    instance retrieval figures on paraphrase pairs); it must return ``cosine`` and ``agreement``.
    """
    if not isinstance(target, Fidelity):
        raise UsageError(
            f"target must be a Fidelity, got {type(target).__name__}",
            "target=Fidelity(cosine=0.99)",
        )
    task = _task(model)
    ref = _reference_outputs(model, held_out)
    builds = 0

    def measure(chosen: Sequence[str]) -> tuple[Any, dict[str, Any]]:
        nonlocal builds
        builds += 1
        q = engine.build(prepared, chosen)
        out = q(held_out)
        if figures is not None:
            return q, dict(figures(ref, out))
        return q, fidelity_figures(ref, out, task=task)

    q, before = measure(layers)
    if target.met_by(before):
        q.fallback = FallbackReport(
            target, True, before, before, {}, (), builds, "met with every layer quantized"
        )
        return q
    sensitivity: dict[str, float] = {}
    for name in layers:
        _, figs = measure([name])
        sensitivity[name] = (1.0 - figs["cosine"]) + (1.0 - figs["agreement"])
    order = sorted(layers, key=lambda n: -sensitivity[n])
    # Return layers to float in growing steps (1, 2, 3, 4, 6, 8, 12, ...): close to the smallest
    # sufficient set, with O(log n) builds instead of n.
    k, after = 0, before
    while k < len(order):
        k = k + 1 if k < 4 else min(len(order), int(k * 1.5))
        keep = set(order[:k])
        q, after = measure([n for n in layers if n not in keep])
        if target.met_by(after):
            break
    met = target.met_by(after)
    kept = tuple(order[:k])
    reason = (
        f"{', '.join(target.misses(before))} with every layer int8; the {len(kept)} most "
        f"sensitive layers stay float"
        + ("" if met else f" and still {', '.join(target.misses(after))}")
    )
    q.fallback = FallbackReport(target, met, before, after, sensitivity, kept, builds, reason)
    return q


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-300)


def retrieval_figures(
    ref_queries: np.ndarray,
    ref_documents: np.ndarray,
    cand_queries: np.ndarray,
    cand_documents: np.ndarray,
    *,
    tie_tol: float = 1e-6,
) -> dict[str, float]:
    """Retrieval quality and top-1 agreement of a candidate encoder against a reference one.

    Query ``i``'s right answer is document ``i`` (paraphrase pairs). Each model ranks every
    document for every query by cosine similarity.

    Parameters
    ----------
    ref_queries, ref_documents
        Reference (fp32) embeddings of the queries and documents, one row each.
    cand_queries, cand_documents
        The candidate's embeddings of the same texts.
    tie_tol
        A query whose two best reference scores differ by at most this is a tie: the reference
        itself has no single top-1, so it is counted apart from the agreement.

    Returns
    -------
    dict
        ``recall_at_1_ref``, ``recall_at_1`` (candidate), ``recall_ratio`` (candidate / reference),
        ``agreement`` (same top-1 document as the reference, over queries that are not ties),
        ``queries``, ``ties`` (how many queries were ties), ``agreement_ties`` (agreement on them).
    """
    n = len(ref_queries)
    shapes = {np.shape(a)[0] for a in (ref_documents, cand_queries, cand_documents)}
    if n == 0 or shapes != {n}:
        raise UsageError(
            "retrieval needs one query per document, the same texts for both models",
            "pass four arrays with the same number of rows",
        )
    ref = _unit(ref_queries) @ _unit(ref_documents).T
    cand = _unit(cand_queries) @ _unit(cand_documents).T
    truth = np.arange(n)
    top_ref, top_cand = ref.argmax(1), cand.argmax(1)
    if n > 1:
        two = np.sort(ref, axis=1)[:, -2:]
        tie = (two[:, 1] - two[:, 0]) <= tie_tol
    else:
        tie = np.zeros(1, dtype=bool)
    same = top_ref == top_cand
    r_ref = float((top_ref == truth).mean())
    r_cand = float((top_cand == truth).mean())
    return {
        "queries": float(n),
        "recall_at_1_ref": r_ref,
        "recall_at_1": r_cand,
        "recall_ratio": r_cand / r_ref if r_ref > 0 else float("nan"),
        "agreement": float(same[~tie].mean()) if (~tie).any() else float("nan"),
        "ties": float(tie.sum()),
        "agreement_ties": float(same[tie].mean()) if tie.any() else float("nan"),
    }
