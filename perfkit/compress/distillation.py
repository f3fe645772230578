"""``distill``: train a student on a teacher's softened outputs and hidden states.

Each loss term is its own function so it can be tested on tiny tensors with known values:
:func:`kl_term` (KL(teacher || student) on temperature-softened outputs, scaled by T^2 so its
gradients keep their size as T changes, Hinton et al. 2015), :func:`hidden_term` (MSE between last
hidden states, through a learned projection when widths differ), :func:`ce_term` (labels), and
for sentence-embedding models :func:`cosine_term` and :func:`similarity_kl_term` (the same
softened-output idea applied to the in-batch similarity matrix).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perfkit.errors import MissingDependencyError, UsageError

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError as exc:  # pragma: no cover
    raise MissingDependencyError("torch", "ml", "distillation") from exc


def _check_temperature(temperature: float) -> None:
    if not temperature > 0:
        raise UsageError(
            f"temperature must be > 0, got {temperature}",
            "use T >= 1 to soften outputs (2 to 4 is typical)",
        )


def kl_term(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float
) -> torch.Tensor:
    """KL(teacher || student) of temperature-softened distributions, times T^2, batch mean."""
    _check_temperature(temperature)
    t = float(temperature)
    return (
        F.kl_div(
            F.log_softmax(student_logits / t, dim=-1),
            F.log_softmax(teacher_logits / t, dim=-1),
            log_target=True,
            reduction="batchmean",
        )
        * t
        * t
    )


def hidden_term(
    student_hidden: torch.Tensor,
    teacher_hidden: torch.Tensor,
    projection: nn.Module | None = None,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean squared error between last hidden states (student projected to the teacher's width).

    ``mask`` (batch, seq) restricts the mean to real tokens.
    """
    s = projection(student_hidden) if projection is not None else student_hidden
    if s.shape != teacher_hidden.shape:
        raise UsageError(
            f"student hidden {tuple(s.shape)} and teacher hidden {tuple(teacher_hidden.shape)} "
            "differ",
            "pass a projection (distill adds one automatically when widths differ)",
        )
    err = (s - teacher_hidden) ** 2
    if mask is not None and err.dim() == 3:
        m = mask.unsqueeze(-1).to(err.dtype)
        return (err * m).sum() / (m.sum() * err.shape[-1]).clamp(min=1.0)
    return err.mean()


def ce_term(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the student's logits on true labels."""
    return F.cross_entropy(logits, labels)


def cosine_term(student_emb: torch.Tensor, teacher_emb: torch.Tensor) -> torch.Tensor:
    """Mean (1 - cosine) between student and teacher embeddings: 0 when they point alike."""
    return (1.0 - F.cosine_similarity(student_emb, teacher_emb, dim=-1)).mean()


def similarity_kl_term(
    student_emb: torch.Tensor, teacher_emb: torch.Tensor, temperature: float = 0.05
) -> torch.Tensor:
    """KL between softened in-batch cosine-similarity rows of teacher and student, times T^2.

    The embedding form of :func:`kl_term`: each sentence's similarities to the others in the
    batch play the role of class logits, so the student learns the teacher's neighbourhoods.
    """
    _check_temperature(temperature)
    s = F.normalize(student_emb, dim=-1)
    t = F.normalize(teacher_emb, dim=-1)
    return kl_term(s @ s.T, t @ t.T, temperature)


@dataclass
class DistillResult:
    """The trained student (eval mode) and one log row per optimizer step."""

    student: Any
    log: list[dict[str, float]] = field(default_factory=list)
    projection: Any = None

    @property
    def losses(self) -> list[float]:
        return [row["loss"] for row in self.log]


class _LayerOutputs:
    """Forward hooks on chosen layers of a model's layer stack: capture their outputs.

    ``which`` holds indices into the stack (default ``[-1]``, the last layer); ``values`` the
    captured outputs in that order (``None`` for a layer that did not run, e.g. LayerDrop).
    """

    def __init__(
        self, model: Any, layers_path: str | None, which: Sequence[int] | None = None
    ) -> None:
        from perfkit.compress.students import find_layers

        path, layers = find_layers(model, layers_path)
        if len(layers) == 0:
            raise UsageError(
                f"{type(model).__name__}.{path} is empty: no last hidden state to match",
                "set beta_hidden=0 or give the model at least one layer",
            )
        self.n_layers = len(layers)
        self.which = list(which) if which is not None else [len(layers) - 1]
        self.values: list[torch.Tensor | None] = [None] * len(self.which)
        self.handles = [
            layers[i].register_forward_hook(self._hook(k)) for k, i in enumerate(self.which)
        ]

    def _hook(self, k: int) -> Any:
        def hook(module: Any, args: Any, output: Any) -> None:
            self.values[k] = output[0] if isinstance(output, tuple) else output

        return hook

    @property
    def value(self) -> torch.Tensor | None:
        """The output of the last chosen layer."""
        return self.values[-1]

    def reset(self) -> None:
        self.values = [None] * len(self.which)

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()


def layer_map(student: Any, n_student: int, n_teacher: int) -> list[int]:
    """The teacher layer each student layer imitates, one per student layer.

    A student cut by :func:`~perfkit.compress.students.student_from_teacher` imitates the
    teacher layers it was copied from (``student.kept_layers``); any other student spreads its
    layers evenly over the teacher's, ending on the last (DistilBERT, TinyBERT).
    """
    kept = getattr(student, "kept_layers", None)
    if kept is not None and len(kept) == n_student and all(0 <= i < n_teacher for i in kept):
        return [int(i) for i in kept]
    return [round((i + 1) * n_teacher / n_student) - 1 for i in range(n_student)]


def lr_factor(step: int, total: int, schedule: str, warmup: float) -> float:
    """The learning-rate multiplier at ``step`` of ``total``.

    ``"constant"``: 1. ``"warmup_cosine"``: linear warm-up over the first ``warmup`` fraction of
    the steps, then a cosine decay to 0 at the last step.
    """
    if schedule == "constant":
        return 1.0
    n_warm = max(1, int(round(warmup * total)))
    if step < n_warm:
        return (step + 1) / n_warm
    return 0.5 * (1.0 + math.cos(math.pi * (step - n_warm) / max(1, total - n_warm)))


def _batches(
    arrays: dict[str, np.ndarray], batch_size: int, gen: torch.Generator
) -> Iterator[dict[str, torch.Tensor]]:
    n = len(next(iter(arrays.values())))
    while True:
        perm = torch.randperm(n, generator=gen).numpy()
        for i in range(0, n - (n % batch_size if n > batch_size else 0), batch_size):
            idx = perm[i : i + batch_size]
            yield {k: torch.as_tensor(v[idx]) for k, v in arrays.items()}


def _trim(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Cut a token batch to its longest real sequence (the padding after it changes nothing)."""
    mask = batch.get("attention_mask")
    if mask is None or mask.dim() != 2 or mask.shape[1] == 0:
        return batch
    longest = int(mask.sum(1).max().clamp(min=1))
    return {
        k: (v[:, :longest] if v.dim() == 2 and v.shape == mask.shape else v)
        for k, v in batch.items()
    }


def length_sorted_batches(
    arrays: Mapping[str, np.ndarray], batch_size: int, gen: torch.Generator | None = None
) -> Iterator[dict[str, torch.Tensor]]:
    """``arrays`` cut into batches of similar length, each trimmed to its longest sentence.

    Ties in length are broken at random under ``gen`` (in input order without one); arrays with
    no 2-D ``attention_mask`` keep their order.
    """
    n = len(next(iter(arrays.values())))
    mask = arrays.get("attention_mask")
    lengths = mask.sum(1) if mask is not None and mask.ndim == 2 else np.zeros(n)
    if gen is None:
        order = np.argsort(lengths, kind="stable")
    else:
        order = np.lexsort((torch.rand(n, generator=gen).numpy(), lengths))
    for i in range(0, n, batch_size):
        idx = order[i : i + batch_size]
        yield _trim({k: torch.as_tensor(v[idx]) for k, v in arrays.items()})


def _cached_batches(
    teacher: Any,
    t_hook: _LayerOutputs | None,
    arrays: dict[str, np.ndarray],
    names: Sequence[str],
    batch_size: int,
    gen: torch.Generator,
) -> list[tuple[dict[str, torch.Tensor], torch.Tensor, tuple[torch.Tensor, ...] | None]]:
    """Fixed batches of similar length, each trimmed, with the teacher's outputs computed once.

    Sentences are ordered by length (ties broken at random) and cut into batches, so each batch
    pads only to its own longest sentence; the hooked layers' outputs are stored in float16 to
    halve memory.
    """
    out = []
    with torch.no_grad():  # not inference_mode: the cached inputs later enter autograd
        for batch in length_sorted_batches(arrays, batch_size, gen):
            if t_hook is not None:
                t_hook.reset()
            t_out = teacher(*[batch[k] for k in names]).clone()
            hidden = None
            if t_hook is not None and all(v is not None for v in t_hook.values):
                hidden = tuple(v.half().clone() for v in t_hook.values if v is not None)
            out.append((batch, t_out, hidden))
    return out


def _cached_stream(
    cache: list[tuple[dict[str, torch.Tensor], torch.Tensor, tuple[torch.Tensor, ...] | None]],
    gen: torch.Generator,
) -> Iterator[tuple[dict[str, torch.Tensor], torch.Tensor, list[torch.Tensor] | None]]:
    while True:
        for j in torch.randperm(len(cache), generator=gen).tolist():
            batch, t_out, hidden = cache[j]
            yield batch, t_out, ([h.float() for h in hidden] if hidden is not None else None)


def distill(
    teacher: Any,
    student: Any,
    data: Mapping[str, np.ndarray],
    *,
    temperature: float = 2.0,
    alpha_kl: float = 1.0,
    beta_hidden: float = 1.0,
    gamma_ce: float = 0.0,
    alpha_cos: float = 1.0,
    epochs: int | None = None,
    steps: int | None = None,
    lr: float = 5e-5,
    batch_size: int = 32,
    seed: int = 0,
    layers_path: str | None = None,
    progress: bool = False,
    cache_teacher: bool = False,
    hidden_layers: str = "last",
    schedule: str = "constant",
    warmup: float = 0.1,
) -> DistillResult:
    """Train ``student`` to imitate ``teacher`` on ``data``; deterministic under ``seed``.

    Classifiers (``task == "classification"``): ``alpha_kl * kl_term + beta_hidden *
    hidden_term + gamma_ce * ce_term``. Sentence embedders: ``alpha_kl * similarity_kl_term +
    alpha_cos * cosine_term + beta_hidden * hidden_term``. Hidden states are the outputs of each
    model's last layer (a learned linear projection is added when widths differ).

    Parameters
    ----------
    teacher, student
        Torch modules with the same inputs and output shape (perfkit's model contract).
    data
        Named input arrays, plus ``"labels"`` when ``gamma_ce > 0``.
    temperature
        Softening temperature T > 0 (for embedders, divided by 20 for the similarity rows,
        whose cosines live in [-1, 1]).
    epochs, steps
        How long to train: give one (default one epoch).
    lr, batch_size, seed
        Adam learning rate, batch size, and the seed of batching, dropout and projection init.
    progress
        Show a rich progress bar with the loss terms.
    cache_teacher
        Run the teacher once, on fixed length-sorted batches each trimmed to its longest
        sentence, and reuse its outputs (hidden states in float16) every epoch; batches are
        then drawn in random order. Saves the teacher's forward pass on every step after the
        first epoch and the padding of short sentences. Needs the whole data set's teacher
        outputs in memory.
    hidden_layers
        ``"last"``: the hidden term matches the last layers' outputs. ``"all"``: every student
        layer's output matches the teacher layer it imitates (:func:`layer_map`: the layers a
        cut student was copied from), averaged over layers.
    schedule, warmup
        ``"constant"`` learning rate, or ``"warmup_cosine"``: linear warm-up over the first
        ``warmup`` fraction of the steps, then cosine decay to 0 (:func:`lr_factor`).

    Returns
    -------
    DistillResult
        ``student`` (eval mode, trained in place) and ``log``: loss and each term per step.

    Raises
    ------
    UsageError
        T <= 0, no training length, empty data, labels missing for ``gamma_ce``, all weights 0.
    """
    from perfkit.compress.models import input_names

    _check_temperature(temperature)
    if epochs is not None and steps is not None:
        raise UsageError("give epochs or steps, not both", "e.g. steps=300")
    if (epochs is not None and epochs <= 0) or (steps is not None and steps <= 0):
        raise UsageError("epochs/steps must be positive", "e.g. steps=300")
    if lr <= 0 or batch_size <= 0:
        raise UsageError("lr and batch_size must be positive", "e.g. lr=5e-5, batch_size=32")
    if hidden_layers not in ("last", "all"):
        raise UsageError(f"unknown hidden_layers={hidden_layers!r}", "use 'last' or 'all'")
    if schedule not in ("constant", "warmup_cosine"):
        raise UsageError(f"unknown schedule={schedule!r}", "use 'constant' or 'warmup_cosine'")
    if not 0.0 <= warmup < 1.0:
        raise UsageError(f"warmup must be a fraction in [0, 1), got {warmup}", "e.g. warmup=0.1")
    names = input_names(student)
    if input_names(teacher) != names:
        raise UsageError(
            f"teacher takes {list(input_names(teacher))} but student takes {list(names)}",
            "distil between models with the same inputs",
        )
    missing = [n for n in names if n not in data]
    if missing:
        raise UsageError(f"data lacks inputs {missing}", f"pass arrays for {list(names)}")
    arrays = {n: np.asarray(data[n]) for n in names}
    n = len(arrays[names[0]])
    if n == 0:
        raise UsageError("the distillation data set is empty", "pass at least one sample")
    task = getattr(teacher, "task", "classification")
    if gamma_ce > 0:
        if "labels" not in data:
            raise UsageError("gamma_ce > 0 needs labels", "pass data['labels'] or gamma_ce=0")
        arrays["labels"] = np.asarray(data["labels"]).astype(np.int64)
    if task == "embedding":
        weights = (alpha_kl, alpha_cos, beta_hidden)
    else:
        weights = (alpha_kl, beta_hidden, gamma_ce)
    if not any(w > 0 for w in weights):
        raise UsageError("every loss weight is 0", "set alpha_kl, beta_hidden or gamma_ce > 0")
    total = steps if steps is not None else (epochs or 1) * max(1, -(-n // batch_size))

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    teacher.eval()
    student.train()
    t_hook = s_hook = None
    if beta_hidden > 0:
        if hidden_layers == "all":
            from perfkit.compress.students import find_layers

            n_s = len(find_layers(student, layers_path)[1])
            n_t = len(find_layers(teacher, layers_path)[1])
            s_hook = _LayerOutputs(student, layers_path, range(n_s))
            t_hook = _LayerOutputs(teacher, layers_path, layer_map(student, n_s, n_t))
        else:
            s_hook = _LayerOutputs(student, layers_path)
            t_hook = _LayerOutputs(teacher, layers_path)
    projection = None
    params = list(student.parameters())
    log: list[dict[str, float]] = []
    bar_cm: Any = contextlib.nullcontext()
    if progress:
        from rich.progress import Progress

        bar_cm = Progress(transient=True)
    try:
        with bar_cm as bar:
            task_id = bar.add_task("distilling", total=total) if progress else None
            opt = None
            if cache_teacher:
                cache = _cached_batches(teacher, t_hook, arrays, names, min(batch_size, n), gen)
                stream: Iterator[Any] = _cached_stream(cache, gen)
            else:
                stream = ((_trim(b), None, None) for b in _batches(arrays, min(batch_size, n), gen))
            for step, (batch, t_out, t_hidden) in zip(range(total), stream, strict=False):
                inputs = [batch[k] for k in names]
                # Reset the captures: LayerDrop (wav2vec2) may skip the last layer in training,
                # and a stale capture would point into the previous step's freed graph.
                for hook in (t_hook, s_hook):
                    if hook is not None:
                        hook.reset()
                if t_out is None:
                    with torch.no_grad():
                        t_out = teacher(*inputs)
                        t_hidden = list(t_hook.values) if t_hook else None
                s_out = student(*inputs)
                # (student, teacher) outputs of the matched layers that both ran this step.
                matched = [
                    (sv, tv)
                    for sv, tv in zip(s_hook.values if s_hook else [], t_hidden or [], strict=False)
                    if sv is not None and tv is not None
                ]
                if projection is None and matched:
                    if matched[0][0].shape[-1] != matched[0][1].shape[-1]:
                        projection = nn.Linear(matched[0][0].shape[-1], matched[0][1].shape[-1])
                        params += list(projection.parameters())
                if opt is None:
                    opt = torch.optim.Adam(params, lr=lr)
                for group in opt.param_groups:
                    group["lr"] = lr * lr_factor(step, total, schedule, warmup)
                terms: dict[str, torch.Tensor] = {}
                if task == "embedding":
                    if alpha_kl > 0:
                        terms["kl"] = alpha_kl * similarity_kl_term(s_out, t_out, temperature / 20)
                    if alpha_cos > 0:
                        terms["cos"] = alpha_cos * cosine_term(s_out, t_out)
                else:
                    if alpha_kl > 0:
                        terms["kl"] = alpha_kl * kl_term(s_out, t_out, temperature)
                    if gamma_ce > 0:
                        terms["ce"] = gamma_ce * ce_term(s_out, batch["labels"])
                if beta_hidden > 0 and matched:
                    mask = batch.get("attention_mask")
                    terms["hidden"] = (
                        beta_hidden
                        * sum(hidden_term(sv, tv, projection, mask) for sv, tv in matched)
                        / len(matched)
                    )
                if not terms:  # only the hidden term was asked for and its layer was dropped
                    if progress:
                        bar.update(task_id, advance=1)
                    continue
                loss = sum(terms.values())
                opt.zero_grad()
                loss.backward()
                opt.step()
                row = {"step": float(step), "loss": float(loss.detach())}
                row.update({k: float(v.detach()) for k, v in terms.items()})
                log.append(row)
                if progress:
                    shown = " ".join(f"{k}={v:.4f}" for k, v in row.items() if k != "step")
                    bar.update(task_id, advance=1, description=f"distilling {shown}")
    finally:
        for hook in (t_hook, s_hook):
            if hook is not None:
                hook.close()
    return DistillResult(student.eval(), log, projection)
