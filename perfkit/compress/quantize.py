"""Dynamic and static int8 quantization behind one small engine protocol.

Engines live in their own modules and are named in :data:`ENGINES` as ``"module:Class"``
strings, imported on first use. Each engine splits its work in two: ``prepare`` does the
expensive once-only part (export, graph fusion, calibration) and ``build`` quantizes a chosen
subset of layers. That split is what makes fidelity-targeted quantization affordable: the
sensitivity search in :mod:`perfkit.compress.fidelity` calls ``build`` many times.

Engines on torch 2.13 / onnxruntime 1.3x
----------------------------------------
``onnxruntime`` (default)
    Dynamic int8 (per-channel weights, activations quantized on the fly) and static int8 in QDQ
    form with minmax, percentile or entropy calibration. BERT-like encoders are fused first
    (Attention, SkipLayerNorm, BiasGelu) by ``onnxruntime.transformers.optimizer``.
``torch``
    Dynamic int8 ``Linear`` layers on FBGEMM kernels (``torch.ops.quantized.linear_dynamic``),
    stored as plain int8 tensors + float scales, so saved models load with
    ``weights_only=True``. torch.ao's eager quantization API is deprecated in torch 2.13 and its
    pt2e static flow moved out of torch into the separate ``torchao`` package: torch has no
    static path here, so ``quantize_static(engine="torch")`` says so and points to onnxruntime.
    ``torchao`` itself is not used: on this CPU it is slower than fp32 without
    ``torch.compile`` (20-30 s compile), and importing it prints library-load failures and
    pytree deprecation warnings into every process that imports transformers.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from perfkit.errors import UsageError

#: Engine name -> "module:Class", imported on first use.
ENGINES: dict[str, str] = {
    "onnxruntime": "perfkit.compress._ort:OrtEngine",
    "torch": "perfkit.compress._torch:TorchEngine",
}

METHODS = ("minmax", "percentile", "entropy")

Inputs = Mapping[str, np.ndarray]


@runtime_checkable
class CompressedModel(Protocol):
    """What every engine hands back: callable on named NumPy inputs, savable, measurable."""

    engine: str
    method: str
    input_names: tuple[str, ...]
    quantized_layers: tuple[str, ...]
    float_layers: tuple[str, ...]
    task: str

    def __call__(self, inputs: Inputs) -> np.ndarray: ...

    def save(self, path: str | os.PathLike[str]) -> Path: ...

    def size_bytes(self) -> int: ...

    def num_parameters(self) -> int: ...


class QuantEngine(Protocol):
    """One quantization backend. Capability flags are class attributes."""

    name: ClassVar[str]
    supports_dynamic: ClassVar[bool]
    supports_static: ClassVar[bool]

    def prepare(
        self,
        model: Any,
        example_inputs: Inputs | None,
        *,
        mode: str,
        calibration: Sequence[Inputs] | None,
        method: str,
        per_channel: bool,
    ) -> Any:
        """Do the once-only work (export, fusion, calibration); return engine-private state."""
        ...

    def layers(self, prepared: Any) -> list[str]:
        """Names of the layers this engine can quantize in ``prepared``."""
        ...

    def build(self, prepared: Any, layers: Sequence[str]) -> CompressedModel:
        """Quantize exactly ``layers`` (the others stay float) and return the result."""
        ...


def get_engine(name: str) -> QuantEngine:
    """The engine registered as ``name``; unknown names list the valid ones."""
    try:
        target = ENGINES[name]
    except KeyError:
        raise UsageError(
            f"unknown quantization engine {name!r}", f"use one of: {', '.join(sorted(ENGINES))}"
        ) from None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)()


def calibration_batches(
    data: Any, names: Sequence[str] | None, batch_size: int = 16
) -> list[dict[str, np.ndarray]]:
    """Normalise calibration data to a list of named batches and validate it.

    ``data`` may be a dict of arrays (split into batches), a list of such dicts, or one array
    when the model has a single input.

    Raises
    ------
    UsageError
        An empty set, a missing input, arrays of different lengths, or a non-numeric dtype.
    """
    if data is None:
        raise UsageError("static quantization needs calibration data", "pass calibration_data=")
    if isinstance(data, np.ndarray) or hasattr(data, "__array__") and not isinstance(data, dict):
        if not names or len(names) != 1:
            raise UsageError(
                f"calibration data is one array but the model takes inputs {list(names or [])}",
                "pass a dict with one array per model input",
            )
        data = {names[0]: np.asarray(data)}
    batches: list[dict[str, np.ndarray]]
    if isinstance(data, Mapping):
        arrays = {k: np.asarray(v) for k, v in data.items()}
        lengths = {len(v) if v.ndim else 0 for v in arrays.values()}
        if len(lengths) > 1:
            raise UsageError(
                f"calibration arrays have different lengths {sorted(lengths)}",
                "give every input the same number of samples",
            )
        n = lengths.pop() if lengths else 0
        batches = [
            {k: v[i : i + batch_size] for k, v in arrays.items()} for i in range(0, n, batch_size)
        ]
    else:
        batches = [{k: np.asarray(v) for k, v in b.items()} for b in data]
    if not batches or all(len(next(iter(b.values()), [])) == 0 for b in batches):
        raise UsageError("the calibration set is empty", "pass at least one calibration sample")
    for b in batches:
        if names:
            missing = [n for n in names if n not in b]
            if missing:
                raise UsageError(
                    f"calibration data lacks inputs {missing} (have {sorted(b)})",
                    f"pass one array per model input: {list(names)}",
                )
        for k, v in b.items():
            if v.dtype.kind not in "fiub":
                raise UsageError(
                    f"calibration input {k!r} has dtype {v.dtype}",
                    "pass numeric arrays (float32 features, int64 token ids)",
                )
    return batches


def check_input_shapes(
    reference: Inputs, data: Sequence[Inputs], what: str = "calibration"
) -> None:
    """Raise a UsageError when ``data`` differs from ``reference`` in rank, width or dtype kind."""
    for batch in data:
        for k, ref in reference.items():
            if k not in batch:
                continue
            ref = np.asarray(ref)
            got = np.asarray(batch[k])
            same_rank = got.ndim == ref.ndim
            # Only the batch axis (and a sequence axis for token ids) may differ.
            fixed = ref.shape[2:] if ref.dtype.kind in "iu" else ref.shape[1:]
            got_fixed = got.shape[2:] if ref.dtype.kind in "iu" else got.shape[1:]
            if not same_rank or fixed != got_fixed:
                raise UsageError(
                    f"{what} input {k!r} has shape {got.shape}, the model expects "
                    f"(batch, {', '.join(map(str, ref.shape[1:]))})",
                    f"pass {what} data shaped like the model's inputs",
                )
            if (got.dtype.kind == "f") != (ref.dtype.kind == "f"):
                raise UsageError(
                    f"{what} input {k!r} has dtype {got.dtype}, the model expects {ref.dtype}",
                    f"convert it with .astype({ref.dtype.name!r})",
                )


def check_model_runs(model: Any, inputs: Inputs, what: str) -> None:
    """Run ``model`` on two samples of ``inputs``; a failure is the user's data, said plainly."""
    from perfkit.compress.models import input_names, predict

    small = {k: np.asarray(v)[:2] for k, v in inputs.items()}
    try:
        predict(model, small)
    except UsageError:
        raise
    except Exception as exc:
        shapes = ", ".join(
            f"{k} {tuple(np.asarray(inputs[k]).shape)} {np.asarray(inputs[k]).dtype}"
            for k in input_names(model)
            if k in inputs
        )
        raise UsageError(
            f"the model cannot run on the {what} data ({shapes}): {str(exc).splitlines()[0][:160]}",
            f"pass {what} data shaped and typed like the model's real inputs",
        ) from None


def _run(
    mode: str,
    model: Any,
    example_inputs: Inputs | None,
    *,
    engine: str,
    calibration: Any,
    method: str,
    per_channel: bool,
    exclude: Sequence[str],
    target: Any,
    held_out: Inputs | None,
    smooth: float | None = None,
    weight_type: str = "int8",
    figures: Any = None,
) -> CompressedModel:
    eng = get_engine(engine)
    if mode == "static" and not eng.supports_static:
        raise UsageError(
            f"the {engine} engine has no static int8 path on this torch",
            "torch.ao's static quantization is deprecated (pt2e moved to torchao); "
            "use engine='onnxruntime' (QDQ static quantization)",
        )
    if method not in METHODS:
        raise UsageError(
            f"unknown calibration method {method!r}", f"use one of: {', '.join(METHODS)}"
        )
    options: dict[str, Any] = {}
    if smooth is not None or weight_type != "int8":
        if engine != "onnxruntime":
            raise UsageError(
                f"smooth= and weight_type= are options of the onnxruntime engine, not {engine}",
                "drop them or use engine='onnxruntime'",
            )
        options = {"smooth": smooth, "weight_type": weight_type}
    prepared = eng.prepare(
        model,
        example_inputs,
        mode=mode,
        calibration=calibration,
        method=method,
        per_channel=per_channel,
        **options,
    )
    layers = eng.layers(prepared)
    unknown = sorted(set(exclude) - set(layers))
    if unknown:
        raise UsageError(
            f"cannot exclude unknown layers {unknown[:5]}",
            f"quantizable layers are: {', '.join(layers[:10])}{' ...' if len(layers) > 10 else ''}",
        )
    chosen = [name for name in layers if name not in set(exclude)]
    if target is None:
        return eng.build(prepared, chosen)
    from perfkit.compress.fidelity import fit_to_target

    evaluation = held_out if held_out is not None else example_inputs
    if evaluation is None and calibration is not None:
        batches = calibration_batches(calibration, getattr(prepared, "input_names", None))
        evaluation = {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}
    if evaluation is None:
        raise UsageError("a fidelity target needs held-out inputs", "pass held_out=")
    return fit_to_target(eng, prepared, chosen, model, evaluation, target, figures=figures)


def quantize_dynamic(
    model: Any,
    example_inputs: Inputs | None = None,
    *,
    engine: str = "onnxruntime",
    per_channel: bool = True,
    exclude: Sequence[str] = (),
    target: Any = None,
    held_out: Inputs | None = None,
    smooth: float | None = None,
    weight_type: str = "int8",
    figures: Any = None,
) -> CompressedModel:
    """Int8 weights, activations quantized on the fly: no calibration data needed.

    Parameters
    ----------
    model
        A torch module following perfkit's model contract (named tensor inputs, one tensor out),
        or an ONNX model from :func:`export_onnx` (onnxruntime engine).
    example_inputs
        Named NumPy arrays, used to export to ONNX (onnxruntime engine) and as held-out data for
        a fidelity target when ``held_out`` is not given.
    engine
        ``"onnxruntime"`` (default) or ``"torch"``; see the module docs.
    per_channel
        One weight scale per output channel (more accurate) instead of one per tensor.
    exclude
        Layer names to keep in float.
    target
        A :class:`~perfkit.compress.Fidelity`: keep the most sensitive layers in float until the
        quantized model meets it on ``held_out``. The result's ``fallback`` says which and why.
    held_out
        Inputs the target is measured on.
    smooth
        onnxruntime only: SmoothQuant-style activation smoothing with this alpha in (0, 1),
        activation ranges measured on ``example_inputs`` (see
        :func:`perfkit.compress._ort.smooth_activations`).
    weight_type
        onnxruntime only: ``"int8"`` (default) or ``"uint8"`` weights. uint8 uses the u8u8
        kernels, which avoid the int16 saturation of u8s8 on AVX2 CPUs without VNNI.
    figures
        ``figures(reference_outputs, candidate_outputs) -> dict`` used by the fidelity target
        instead of :func:`~perfkit.compress.fidelity.fidelity_figures` (e.g. retrieval figures
        on paraphrase pairs); it must return every figure the target bounds.

    Returns
    -------
    CompressedModel
        Callable on named inputs; ``save``, ``size_bytes``, ``quantized_layers``, ``float_layers``.

    Examples
    --------
    >>> q = quantize_dynamic(model, {"x": x_test})                      # doctest: +SKIP
    >>> compare_models(model, {"int8": q}, {"x": x_test}).render()      # doctest: +SKIP
    """
    return _run(
        "dynamic",
        model,
        example_inputs,
        engine=engine,
        calibration=None,
        method="minmax",
        per_channel=per_channel,
        exclude=exclude,
        target=target,
        held_out=held_out,
        smooth=smooth,
        weight_type=weight_type,
        figures=figures,
    )


def quantize_static(
    model: Any,
    calibration_data: Any,
    *,
    engine: str = "onnxruntime",
    method: str = "minmax",
    per_channel: bool = True,
    exclude: Sequence[str] = (),
    target: Any = None,
    held_out: Inputs | None = None,
    smooth: float | None = None,
) -> CompressedModel:
    """Int8 weights and activations, activation ranges calibrated ahead of time (ORT QDQ).

    Parameters
    ----------
    model
        A torch module following perfkit's model contract, or an ONNX model.
    calibration_data
        Named arrays (or a list of named batches) representative of real inputs.
    method
        Calibration: ``"minmax"``, ``"percentile"`` (99.999th) or ``"entropy"`` (KL).
    engine, per_channel, exclude, target, held_out
        As in :func:`quantize_dynamic`. Plain static int8 collapses on transformers (activation
        outliers); ``target=Fidelity(cosine=0.98)`` keeps the layers that cause it in float.
    smooth
        onnxruntime only: SmoothQuant-style activation smoothing with this alpha in (0, 1),
        activation ranges measured on the calibration data (moves activation outliers into
        the weights before the activations get their static int8 scale).

    Raises
    ------
    UsageError
        Empty or mis-shaped calibration data, an unknown method, or an engine without a static
        path (torch).
    """
    return _run(
        "static",
        model,
        None,
        engine=engine,
        calibration=calibration_data,
        method=method,
        per_channel=per_channel,
        exclude=exclude,
        target=target,
        held_out=held_out,
        smooth=smooth,
    )
