"""Quantization-aware training (QAT): fine-tune under fake int8, then export to real int8.

Post-training quantization rounds a model trained in float; the rounding error is whatever it
is. QAT fine-tunes the model for a few epochs *through* the rounding it will get: every
``nn.Linear`` (and plain ``nn.Conv1d``) is wrapped so its weights are fake-quantized per output
channel to int8 (symmetric, as ONNX Runtime's QInt8 weights) and its input activations per tensor
to uint8 (asymmetric, range tracked with an exponential moving average, as ORT's QUInt8 static
activations). Gradients pass the rounding straight through (torch's ``fake_quantize_*`` ops).

The fine-tuned float weights are then exported to real int8 through the existing engines:
``onnxruntime`` static QDQ int8 with minmax calibration (default) or ``torch`` dynamic int8.
:func:`qat_report` measures fp32, post-training int8 and QAT int8 side by side.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from perfkit.errors import MissingDependencyError, UsageError

try:
    import torch
    from torch import nn
    from torch.nn import functional as F
except ImportError as exc:  # pragma: no cover - torch is part of the ml extra
    raise MissingDependencyError("torch", "ml", "quantization-aware training") from exc

Inputs = Mapping[str, np.ndarray]


class ActivationFakeQuant(nn.Module):
    """Per-tensor asymmetric uint8 fake quantization with a tracked range.

    The range is updated only while ``observing`` is on (during QAT), independent of
    train/eval mode, so QAT can run with dropout off. A float ``momentum`` (default 0.1)
    tracks an exponential moving average of per-batch ranges; ``momentum=None`` the running
    min/max over everything observed, which is the range ONNX Runtime's minmax calibration of
    the export computes over the same data. The EMA range is narrower than the exported one, so
    QAT then trains through other rounding than the int8 model gets: on the wav2vec2-style case
    the running range cut the clips disagreeing with fp32 from 4 to 3 of 128 (post-training
    int8: 2) and raised the int8 cosine from 0.9821 to 0.9835 (post-training: 0.9808), but cost
    the digits case one of 360 test images (accuracy 0.9806 -> 0.9778), so it is an option.
    """

    def __init__(self, momentum: float | None = 0.1) -> None:
        super().__init__()
        self.momentum = momentum
        self.observing = False
        self.register_buffer("lo", torch.zeros(()))
        self.register_buffer("hi", torch.zeros(()))
        self.register_buffer("seen", torch.zeros((), dtype=torch.bool))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.observing:
            with torch.no_grad():
                lo, hi = x.detach().min().float(), x.detach().max().float()
                if not bool(self.seen):
                    self.lo.copy_(lo)
                    self.hi.copy_(hi)
                    self.seen.fill_(True)
                elif self.momentum is None:
                    torch.minimum(self.lo, lo, out=self.lo)
                    torch.maximum(self.hi, hi, out=self.hi)
                else:
                    self.lo.lerp_(lo, self.momentum)
                    self.hi.lerp_(hi, self.momentum)
        if not bool(self.seen):
            return x
        lo = torch.clamp(self.lo, max=0.0)  # the range always holds zero (exact zero padding)
        hi = torch.clamp(self.hi, min=0.0)
        scale = float(torch.clamp((hi - lo) / 255.0, min=1e-8))
        zero_point = int(torch.clamp(torch.round(-lo / scale), 0, 255))
        return torch.fake_quantize_per_tensor_affine(x, scale, zero_point, 0, 255)


def fake_quant_weight(w: torch.Tensor) -> torch.Tensor:
    """Symmetric per-output-channel int8 fake quantization of a weight (axis 0)."""
    amax = w.detach().abs().reshape(w.shape[0], -1).amax(dim=1)
    scale = torch.clamp(2.0 * amax / 255.0, min=1e-8).float()
    zero = torch.zeros(w.shape[0], dtype=torch.int32, device=w.device)
    return torch.fake_quantize_per_channel_affine(w, scale, zero, 0, -128, 127)


class QATWrapper(nn.Module):
    """A Linear or Conv1d with fake-quantized input and weight; ``module`` keeps the weights."""

    def __init__(self, module: nn.Module, act_momentum: float | None = 0.1) -> None:
        super().__init__()
        self.module = module
        self.act = ActivationFakeQuant(act_momentum)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(x)
        w = fake_quant_weight(self.module.weight)
        if isinstance(self.module, nn.Linear):
            return F.linear(x, w, self.module.bias)
        return self.module._conv_forward(x, w, self.module.bias)


def _quantizable(module: nn.Module) -> bool:
    if isinstance(module, nn.Linear):
        return True
    # A weight-normed conv (wav2vec2's positional conv) computes its weight: not an initializer,
    # so ONNX Runtime leaves it float; so does QAT.
    return isinstance(module, nn.Conv1d) and not hasattr(module, "parametrizations")


def clone_module(model: nn.Module) -> nn.Module:
    """``copy.deepcopy(model)``, also when a hook left a captured activation on a module.

    deepcopy refuses tensors that are not graph leaves (an output some forward hook stored as
    an attribute); those are copied detached.
    """
    memo: dict[int, Any] = {}
    for m in model.modules():
        owners = [m]
        for hooks in (m._forward_hooks, m._forward_pre_hooks):
            owners += [h.__self__ for h in hooks.values() if hasattr(h, "__self__")]
        for owner in owners:
            for value in vars(owner).values():
                if torch.is_tensor(value) and not value.is_leaf:
                    memo[id(value)] = value.detach().clone()
    return copy.deepcopy(model, memo)


def prepare_qat(model: nn.Module, act_momentum: float | None = 0.1) -> nn.Module:
    """A copy of ``model`` with every quantizable layer wrapped in :class:`QATWrapper`.

    ``act_momentum`` is each activation range's :class:`ActivationFakeQuant` momentum (``None``:
    the running min/max the export's minmax calibration computes).

    The copy drops the original's forward (post) hooks: observers such as activation captures
    belong to the caller's model, and one that stored a training output would make the
    fine-tuned copy impossible to copy again.
    """
    out = clone_module(model)
    for m in out.modules():
        m._forward_hooks.clear()
    targets = [name for name, m in out.named_modules() if name and _quantizable(m)]
    if not targets:
        raise UsageError(
            f"{type(model).__name__} has no Linear or Conv1d layer to quantize",
            "quantization-aware training needs layers with weights",
        )
    for name in targets:
        parent_name, _, child = name.rpartition(".")
        parent = out.get_submodule(parent_name) if parent_name else out
        setattr(parent, child, QATWrapper(getattr(parent, child), act_momentum))
    return out


def strip_qat(model: nn.Module, *, inplace: bool = False) -> nn.Module:
    """The float model inside a QAT model: every wrapper replaced by its (fine-tuned) layer.

    ``inplace=True`` unwraps ``model`` itself (no copy) and returns it.
    """
    out = model if inplace else clone_module(model)
    wrapped = [name for name, m in out.named_modules() if isinstance(m, QATWrapper)]
    for name in wrapped:
        parent_name, _, child = name.rpartition(".")
        parent = out.get_submodule(parent_name) if parent_name else out
        setattr(parent, child, getattr(parent, child).module)
    return out.eval()


def _set_observing(model: nn.Module, flag: bool) -> None:
    for m in model.modules():
        if isinstance(m, ActivationFakeQuant):
            m.observing = flag


@dataclass(frozen=True)
class QATHistory:
    """What the fine-tuning did: loss of the first and last epoch, steps, epochs."""

    first_loss: float
    last_loss: float
    steps: int
    epochs: int

    def to_dict(self) -> dict[str, float]:
        return {
            "first_loss": self.first_loss,
            "last_loss": self.last_loss,
            "steps": self.steps,
            "epochs": self.epochs,
        }


def _check_inputs(model: nn.Module, data: Inputs, labels: np.ndarray | None) -> int:
    from perfkit.compress.models import input_names

    names = input_names(model)
    missing = [n for n in names if n not in data]
    if missing:
        raise UsageError(
            f"QAT data lacks inputs {missing} (the model takes {list(names)})",
            "pass a dict with one array per model input",
        )
    lengths = {len(np.asarray(data[n])) for n in names}
    if len(lengths) != 1 or 0 in lengths:
        raise UsageError("QAT data must be non-empty arrays of one length", "check the arrays")
    n = lengths.pop()
    for k in names:
        arr = np.asarray(data[k])
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise UsageError(f"QAT input {k!r} holds NaN/inf", "clean the data first")
    if labels is not None and (np.ndim(labels) != 1 or len(labels) != n):
        raise UsageError(f"labels must be {n} integers, one per sample", "pass a 1-D array")
    return n


def finetune_qat(
    model: nn.Module,
    data: Inputs,
    labels: np.ndarray | None = None,
    *,
    epochs: int = 5,
    lr: float = 1e-3,
    batch_size: int = 64,
    kd_weight: float = 1.0,
    seed: int = 0,
    act_momentum: float | None = 0.1,
) -> tuple[nn.Module, QATHistory]:
    """Fine-tune a fake-quantized copy of ``model``; return it (still wrapped) and its history.

    The loss is ``(1 - kd_weight) * cross_entropy(labels) + kd_weight * KL(fp32 || qat)`` for a
    classifier with labels, the KL (classifier) or mean squared error (embeddings) to the fp32
    model's outputs otherwise: QAT learns to give the fp32 answers through int8 rounding.
    ``act_momentum``: how activation ranges are tracked (see :class:`ActivationFakeQuant`).
    """
    from perfkit.compress.models import input_names, to_tensors

    if epochs <= 0 or batch_size <= 0 or not 0 < lr < float("inf"):
        raise UsageError("epochs, batch_size and lr must be positive", "e.g. epochs=3, lr=1e-4")
    if act_momentum is not None and not 0.0 < act_momentum <= 1.0:
        raise UsageError(
            f"act_momentum must be in (0, 1] or None, got {act_momentum}",
            "e.g. 0.1 (moving average) or None (running min/max)",
        )
    if not 0.0 <= kd_weight <= 1.0:
        raise UsageError(f"kd_weight must be in [0, 1], got {kd_weight}", "e.g. 0.5")
    n = _check_inputs(model, data, labels)
    names = input_names(model)
    task = getattr(model, "task", "embedding")
    if labels is None or task != "classification":
        kd_weight = 1.0
    teacher = model.eval()
    # eval: no dropout; the observers run on their own flag
    student = prepare_qat(model, act_momentum).eval()
    tensors = to_tensors({k: np.asarray(data[k]) for k in names})
    y = torch.as_tensor(np.asarray(labels)) if labels is not None else None
    gen = torch.Generator().manual_seed(seed)
    # Observe the ranges once over the data before the first step, so early steps see real
    # rounding rather than the float model.
    _set_observing(student, True)
    with torch.no_grad():
        for i in range(0, n, batch_size):
            student(*(tensors[k][i : i + batch_size] for k in names))
    opt = torch.optim.Adam(student.parameters(), lr=lr)
    losses: list[float] = []
    steps = 0
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        total, count = 0.0, 0
        for i in range(0, n, batch_size):
            idx = perm[i : i + batch_size]
            batch = [tensors[k][idx] for k in names]
            with torch.no_grad():
                ref = teacher(*batch)
            out = student(*batch)
            if task == "classification":
                kd = F.kl_div(
                    F.log_softmax(out, -1), F.log_softmax(ref, -1), log_target=True,
                    reduction="batchmean",
                )  # fmt: skip
            else:
                kd = F.mse_loss(out, ref) / ref.var().clamp(min=1e-12)
            loss = kd_weight * kd
            if kd_weight < 1.0 and y is not None:
                loss = loss + (1.0 - kd_weight) * F.cross_entropy(out, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
            steps += 1
        losses.append(total / max(count, 1))
    _set_observing(student, False)
    return student.eval(), QATHistory(losses[0], losses[-1], steps, epochs)


#: The keyword options :func:`quantize_qat` passes on to :func:`finetune_qat`.
_TRAIN_OPTIONS = frozenset({"epochs", "lr", "batch_size", "kd_weight", "seed", "act_momentum"})


def quantize_qat(
    model: nn.Module,
    data: Inputs,
    labels: np.ndarray | None = None,
    *,
    engine: str = "onnxruntime",
    calibration: Inputs | None = None,
    **train: Any,
) -> Any:
    """Quantization-aware training, exported to int8.

    Parameters
    ----------
    model
        A torch module following perfkit's model contract (named tensor inputs, one tensor out):
        the fp32 model, left unchanged.
    data
        Named training inputs (the fine-tuning set; also the calibration set by default).
    labels
        Class labels for a classifier (optional): the loss mixes them with the fp32 outputs.
    **train
        Fine-tuning options of :func:`finetune_qat` (``epochs=5, lr=1e-3, batch_size=64,
        kd_weight=1.0, seed=0, act_momentum=0.1``): Adam steps over shuffled batches;
        ``kd_weight`` weighs matching the fp32 model against the labels; ``act_momentum=None``
        tracks activation ranges as the export's minmax calibration does.
    engine
        ``"onnxruntime"``: static QDQ int8 (int8 weights and activations, minmax calibration
        on ``calibration``), the form the fake quantization simulates. ``"torch"``: dynamic int8
        Linear layers (FBGEMM).
    calibration
        Inputs for the activation ranges (default: ``data``).

    Returns
    -------
    CompressedModel
        Like :func:`quantize_static`'s result, with ``method`` ``"qat-static-int8"`` (or
        ``"qat-dynamic-int8"``), ``qat_history`` (losses) and the fine-tuned float model as
        ``qat_float``.

    Examples
    --------
    >>> q = quantize_qat(model, {"x": x_train}, y_train)                     # doctest: +SKIP
    >>> (q({"x": x_test}).argmax(1) == y_test).mean()                        # doctest: +SKIP
    """
    from perfkit.compress.quantize import quantize_dynamic, quantize_static

    if engine not in ("onnxruntime", "torch"):
        raise UsageError(f"unknown engine {engine!r}", "use 'onnxruntime' or 'torch'")
    unknown = sorted(set(train) - _TRAIN_OPTIONS)
    if unknown:
        raise UsageError(
            f"quantize_qat got unknown options {unknown}",
            f"its fine-tuning options are {', '.join(sorted(_TRAIN_OPTIONS))}",
        )
    student, history = finetune_qat(model, data, labels, **train)
    tuned = strip_qat(student, inplace=True)  # the student is this function's own copy
    calib = calibration if calibration is not None else data
    if engine == "onnxruntime":
        result = quantize_static(tuned, calib, engine="onnxruntime", method="minmax")
        result.method = "qat-static-int8"
    else:
        result = quantize_dynamic(tuned, calib, engine="torch")
        result.method = "qat-dynamic-int8"
    result.qat_history = history
    result.qat_float = tuned
    if hasattr(result, "notes"):
        result.notes.append(
            f"QAT: {history.epochs} epochs, {history.steps} steps, loss "
            f"{history.first_loss:.4g} -> {history.last_loss:.4g}"
        )
    return result


def qat_report(
    model: nn.Module,
    data: Inputs,
    eval_data: Inputs,
    labels: np.ndarray | None = None,
    eval_labels: np.ndarray | None = None,
    *,
    engine: str = "onnxruntime",
    batch_sizes: tuple[int, ...] = (1, 32),
    repeat: int = 10,
    **qat_options: Any,
) -> Any:
    """fp32, post-training int8 and QAT int8 measured side by side in one report.

    The post-training model is quantized the same way as the QAT export (same engine, same
    calibration data) from the fp32 weights: the difference is the fine-tuning alone.

    Returns
    -------
    ComparisonReport
        Models ``fp32``, ``ptq`` and ``qat``; accuracy when ``eval_labels`` are given.
    """
    from perfkit.compress.compare import compare_models
    from perfkit.compress.quantize import quantize_dynamic, quantize_static

    if engine == "onnxruntime":
        ptq = quantize_static(model, data, engine="onnxruntime", method="minmax")
    else:
        ptq = quantize_dynamic(model, data, engine="torch")
    qat = quantize_qat(model, data, labels, engine=engine, **qat_options)
    return compare_models(
        model,
        {"ptq": ptq, "qat": qat},
        eval_data,
        labels=eval_labels,
        batch_sizes=batch_sizes,
        repeat=repeat,
        task=getattr(model, "task", None),
    )
