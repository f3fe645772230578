"""Behavioural checks for compressed models: the model tests of the seed, applied to compression.

Cosine and agreement say how close a compressed model's outputs are to the reference's on the
evaluation inputs. These checks ask whether it still *behaves* like the reference:

invariance
    A small perturbation that should not matter (Gaussian noise on float inputs; synonym swaps
    in text) leaves the label (classifiers) or the top-1 neighbour (embeddings) unchanged, as
    often as it does for the reference.
directional
    Where labels allow: moving an input part of the way towards its class's mean input should not
    lower the model's probability of that class, again as often as for the reference.
training sanity (students from ``distill``)
    One optimizer step on the distillation loss lowers it, and the student can overfit one small
    batch: a student that cannot learn is broken, whatever its cosine.

Each check returns a dict ``{"ok", "rate", "reference_rate", "detail"}`` (or ``{"ok", "detail",
...}`` for training): ``ok`` is False when the check *fires*.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

#: How much less often than the reference a candidate may keep its answer before a check fires.
TOLERANCE = 0.02

#: Word -> synonym, for invariance on text (swapped whole-word, case kept for the first letter).
SYNONYMS: dict[str, str] = {
    "big": "large",
    "large": "big",
    "small": "little",
    "quick": "fast",
    "fast": "quick",
    "begin": "start",
    "start": "begin",
    "end": "finish",
    "show": "display",
    "return": "give back",
    "returns": "gives back",
    "create": "make",
    "creates": "makes",
    "use": "employ",
    "used": "employed",
    "uses": "employs",
    "get": "obtain",
    "gets": "obtains",
    "remove": "delete",
    "removes": "deletes",
    "method": "procedure",
    "function": "routine",
    "value": "quantity",
    "values": "quantities",
    "file": "document",
    "error": "mistake",
    "simple": "plain",
    "new": "fresh",
    "change": "modify",
    "check": "verify",
}

Runner = Callable[[Mapping[str, np.ndarray]], np.ndarray]


def _labels_of(out: np.ndarray, task: str, reference_set: np.ndarray | None = None) -> np.ndarray:
    """Top-1 class (classifier) or index of the nearest row of ``reference_set`` (embeddings)."""
    out = np.asarray(out, dtype=np.float64)
    if task == "classification":
        return out.argmax(1)
    from perfkit.compress.fidelity import _unit_rows, zero_rows

    ref = out if reference_set is None else np.asarray(reference_set, dtype=np.float64)
    a = _unit_rows(out, zero_rows(out))
    b = _unit_rows(ref, zero_rows(ref))
    sims = a @ b.T
    if reference_set is None:
        np.fill_diagonal(sims, -np.inf)
    return sims.argmax(1)


def _stability(
    runners: Mapping[str, Runner],
    clean_inputs: Mapping[str, np.ndarray],
    moved_inputs: Mapping[str, np.ndarray],
    task: str,
) -> dict[str, float]:
    """Per model: how often the perturbed input keeps its label (classifier) or finds its own
    clean version as top-1 neighbour among the clean outputs (embeddings)."""
    rates = {}
    for name, run in runners.items():
        clean, moved = np.asarray(run(clean_inputs)), np.asarray(run(moved_inputs))
        if task == "classification":
            rates[name] = float((_labels_of(clean, task) == _labels_of(moved, task)).mean())
        else:
            hits = _labels_of(moved, task, reference_set=clean) == np.arange(len(clean))
            rates[name] = float(hits.mean())
    return rates


def _verdict(rate: float, reference_rate: float, what: str, tolerance: float) -> dict[str, Any]:
    ok = bool(rate >= reference_rate - tolerance)
    return {
        "ok": ok,
        "rate": float(rate),
        "reference_rate": float(reference_rate),
        "detail": f"{what}: {rate:.3f} vs reference {reference_rate:.3f}"
        + ("" if ok else f" (more than {tolerance:.2f} below)"),
    }


def noisy_inputs(
    inputs: Mapping[str, np.ndarray], scale: float = 0.02, seed: int = 0
) -> dict[str, np.ndarray] | None:
    """``inputs`` plus Gaussian noise (``scale`` x std) on float inputs; None if none is float."""
    rng = np.random.default_rng(seed)
    out, changed = {}, False
    for k, v in inputs.items():
        v = np.asarray(v)
        if v.dtype.kind == "f":
            std = float(v.std()) or 1.0
            out[k] = (v + rng.normal(0.0, scale * std, v.shape)).astype(v.dtype)
            changed = True
        else:
            out[k] = v
    return out if changed else None


def noise_invariance(
    runners: Mapping[str, Runner],
    inputs: Mapping[str, np.ndarray],
    reference: str,
    task: str,
    *,
    scale: float = 0.02,
    tolerance: float = TOLERANCE,
) -> dict[str, dict[str, Any]] | None:
    """Per model: how often small input noise leaves the label / top-1 neighbour unchanged.

    For embeddings the noisy input's neighbour is searched among the clean outputs of the same
    model: it should be the clean version of itself. None when no input is float.
    """
    noisy = noisy_inputs(inputs, scale)
    if noisy is None:
        return None
    rates = _stability(runners, inputs, noisy, task)
    what = f"same {'label' if task == 'classification' else 'neighbour'} under {scale:g}-std noise"
    return {n: _verdict(r, rates[reference], what, tolerance) for n, r in rates.items()}


def swap_synonyms(sentence: str, synonyms: Mapping[str, str] = SYNONYMS) -> str:
    """``sentence`` with every word found in ``synonyms`` replaced (first-letter case kept)."""

    def repl(m: re.Match[str]) -> str:
        word = m.group(0)
        new = synonyms.get(word.lower())
        if new is None:
            return word
        return new[0].upper() + new[1:] if word[0].isupper() else new

    return re.sub(r"[A-Za-z]+", repl, sentence)


def synonym_invariance(
    runners: Mapping[str, Runner],
    sentences: Sequence[str],
    tokenize: Callable[[Sequence[str]], dict[str, np.ndarray]],
    reference: str,
    task: str,
    *,
    synonyms: Mapping[str, str] = SYNONYMS,
    tolerance: float = TOLERANCE,
) -> dict[str, dict[str, Any]] | None:
    """Per model: how often a sentence with synonyms swapped keeps its label / finds itself.

    Only sentences that contain a swappable word count; None when fewer than two do.
    """
    pairs = [(s, swap_synonyms(s, synonyms)) for s in sentences]
    pairs = [(a, b) for a, b in pairs if a != b]
    if len(pairs) < 2:
        return None
    originals = tokenize([a for a, _ in pairs])
    swapped = tokenize([b for _, b in pairs])
    rates = _stability(runners, originals, swapped, task)
    what = f"same {'label' if task == 'classification' else 'neighbour'} after synonym swaps"
    return {n: _verdict(r, rates[reference], what, tolerance) for n, r in rates.items()}


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.asarray(x, dtype=np.float64)
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def directional_expectation(
    runners: Mapping[str, Runner],
    inputs: Mapping[str, np.ndarray],
    labels: np.ndarray,
    reference: str,
    *,
    step: float = 0.3,
    tolerance: float = TOLERANCE,
) -> dict[str, dict[str, Any]] | None:
    """Per model: how often moving an input ``step`` of the way to its class mean does not lower
    the probability of its class. None without a single float input or with < 2 classes."""
    floats = [k for k, v in inputs.items() if np.asarray(v).dtype.kind == "f"]
    labels = np.asarray(labels)
    if len(floats) != 1 or len(np.unique(labels)) < 2 or len(labels) != len(inputs[floats[0]]):
        return None
    if labels.min() < 0:
        return None
    key = floats[0]
    x = np.asarray(inputs[key])
    means = {c: x[labels == c].mean(0) for c in np.unique(labels)}
    target = np.stack([means[c] for c in labels]).astype(x.dtype)
    moved = dict(inputs)
    moved[key] = (x + step * (target - x)).astype(x.dtype)
    rows = np.arange(len(labels))
    rates = {}
    for name, run in runners.items():
        p0 = _softmax(run(inputs))
        p1 = _softmax(run(moved))
        if p0.shape[1] <= int(labels.max()):
            return None
        rates[name] = float((p1[rows, labels] >= p0[rows, labels] - 1e-6).mean())
    what = "class probability not lowered towards the class mean"
    return {n: _verdict(r, rates[reference], what, tolerance) for n, r in rates.items()}


def _distill_loss(student_out: Any, teacher_out: Any, task: str) -> Any:
    import torch.nn.functional as F

    if task == "classification":
        return F.kl_div(
            F.log_softmax(student_out, -1), F.log_softmax(teacher_out, -1),
            log_target=True, reduction="batchmean",
        )  # fmt: skip
    return F.mse_loss(student_out, teacher_out) / teacher_out.var().clamp(min=1e-12)


def training_sanity(
    teacher: Any,
    student: Any,
    inputs: Mapping[str, np.ndarray],
    task: str,
    *,
    batch_size: int = 8,
    lr: float = 1e-3,
    overfit_steps: int = 60,
    overfit_ratio: float = 0.1,
) -> dict[str, dict[str, Any]]:
    """The seed's training sanity checks on a copy of ``student`` (the student is not changed).

    ``loss_falls``: one Adam step on one batch lowers the distillation loss on that batch.
    ``overfits_one_batch``: ``overfit_steps`` steps on one batch bring the loss below
    ``overfit_ratio`` of its start.
    """
    import torch

    from perfkit.compress.models import input_names, to_tensors

    names = input_names(student)
    batch = to_tensors({k: np.asarray(inputs[k])[:batch_size] for k in names})
    args = [batch[k] for k in names]
    with torch.no_grad():
        target = teacher.eval()(*args)
    from perfkit.compress.qat import clone_module

    model = clone_module(student).eval()  # eval: dropout off, so the checks are deterministic
    params = [p for p in model.parameters() if p.requires_grad]

    def loss_now() -> Any:
        return _distill_loss(model(*args), target, task)

    with torch.inference_mode(False):
        first = loss_now()
        if not params or not first.requires_grad:
            fail = {"ok": False, "detail": "no gradient reaches the student's parameters"}
            return {"loss_falls": fail, "overfits_one_batch": dict(fail)}
        opt = torch.optim.Adam(params, lr=lr)
        opt.zero_grad()
        first.backward()
        opt.step()
        with torch.no_grad():
            second = float(loss_now())
        start = float(first.detach())
        falls = {
            "ok": bool(second < start),
            "loss_before": start,
            "loss_after": second,
            "detail": f"loss {start:.4g} -> {second:.4g} after one step",
        }
        for _ in range(overfit_steps - 1):
            loss = loss_now()
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            final = float(loss_now())
    fits = {
        "ok": bool(final <= overfit_ratio * start),
        "loss_before": start,
        "loss_after": final,
        "detail": f"loss {start:.4g} -> {final:.4g} after {overfit_steps} steps on one batch "
        f"(needs <= {overfit_ratio:g} x start)",
    }
    return {"loss_falls": falls, "overfits_one_batch": fits}


def behaviour_checks(
    runners: Mapping[str, Runner],
    inputs: Mapping[str, np.ndarray],
    reference: str,
    task: str,
    *,
    labels: np.ndarray | None = None,
    texts: Sequence[str] | None = None,
    tokenize: Callable[[Sequence[str]], dict[str, np.ndarray]] | None = None,
    modules: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Every applicable check, per model name: ``{name: {check: result}}``.

    ``modules`` maps names of trainable candidates (torch students) to their modules, and must
    hold the reference's module as ``reference``: they get the training sanity checks.
    """
    out: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in runners}

    def merge(check: str, results: Mapping[str, dict[str, Any]] | None) -> None:
        for name, res in (results or {}).items():
            out[name][check] = res

    merge("noise_invariance", noise_invariance(runners, inputs, reference, task))
    if texts is not None and tokenize is not None:
        merge("synonym_invariance", synonym_invariance(runners, texts, tokenize, reference, task))
    if labels is not None and task == "classification":
        merge("directional", directional_expectation(runners, inputs, labels, reference))
    if modules and reference in modules:
        for name, module in modules.items():
            if name != reference:
                out[name].update(training_sanity(modules[reference], module, inputs, task))
    return out
