"""ONNX Runtime engine: fp32 sessions, dynamic int8, and static int8 in QDQ form."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from perfkit._atomic import atomic_write_bytes
from perfkit.compress._quiet import quiet
from perfkit.errors import InputFileError, MissingDependencyError, UsageError

try:
    import onnx

    from perfkit.compress._quiet import import_onnxruntime

    ort = import_onnxruntime()  # keeps its device-id file out of ~/.cache
except ImportError as exc:  # pragma: no cover - part of the ml extra
    raise MissingDependencyError("onnxruntime", "ml", "ONNX Runtime quantization") from exc

# The quantizer's own calibration sessions log graph-cleanup chatter at WARNING to stderr.
ort.set_default_logger_severity(3)

#: Op types whose weight input ORT can quantize, per mode. Static QDQ around LayerNorm, Softmax,
#: Add and Gelu is what makes plain static int8 collapse on transformers (cosine 0.38 measured on
#: MiniLM), so static quantizes weight-carrying ops only.
DYNAMIC_OPS = ("MatMul", "Gemm", "Attention", "Conv", "EmbedLayerNormalization", "Gather")
STATIC_OPS = ("MatMul", "Gemm", "Conv")

_CALIBRATE = {"minmax": "MinMax", "percentile": "Percentile", "entropy": "Entropy"}


def ort_providers(device: str = "cpu") -> list[str]:
    """ONNX Runtime execution providers for ``device`` ("cpu" or "cuda"), best first.

    ``"cuda"`` needs an onnxruntime build with the CUDA provider (``onnxruntime-gpu``) and a
    visible GPU; otherwise a UsageError says so (callers that may skip catch it).
    """
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device != "cuda":
        raise UsageError(f"unknown device {device!r}", "use 'cpu' or 'cuda'")
    available = ort.get_available_providers()
    if "CUDAExecutionProvider" not in available:
        raise UsageError(
            f"this onnxruntime has no CUDA execution provider (available: {', '.join(available)})",
            "install onnxruntime-gpu on a CUDA machine, or use device='cpu'",
        )
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


def default_threads() -> int:
    """Threads an ORT session uses: the same as torch's intra-op pool, for a fair comparison."""
    try:
        import torch

        return int(torch.get_num_threads())
    except ImportError:  # pragma: no cover
        return os.cpu_count() or 1


@dataclass
class OrtModel:
    """An ONNX model and its ONNX Runtime session: callable on named NumPy inputs.

    Saved as a single ``.onnx`` file; the perfkit metadata (engine, method, layers kept in
    float, task) travels in the model's ``metadata_props``.
    """

    model_bytes: bytes
    engine: str = "onnxruntime"
    method: str = "fp32"
    quantized_layers: tuple[str, ...] = ()
    float_layers: tuple[str, ...] = ()
    task: str = "embedding"
    threads: int | None = None
    fallback: Any = None
    notes: list[str] = field(default_factory=list)
    device: str = "cpu"
    _session: Any = field(default=None, init=False, repr=False)

    @property
    def session(self) -> Any:
        if self._session is None:
            so = ort.SessionOptions()
            so.intra_op_num_threads = self.threads or default_threads()
            so.inter_op_num_threads = 1
            so.log_severity_level = 3
            try:
                self._session = ort.InferenceSession(
                    self.model_bytes, so, providers=ort_providers(self.device)
                )
            except UsageError:
                raise
            except Exception as exc:
                raise InputFileError(
                    f"ONNX Runtime cannot load this model: {str(exc).splitlines()[0][:200]}",
                    "check that the file is a complete ONNX model",
                ) from None
        return self._session

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.session.get_inputs())

    def input_dtypes(self) -> dict[str, np.dtype]:
        kinds = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(int32)": np.int32}
        return {i.name: np.dtype(kinds.get(i.type, np.float32)) for i in self.session.get_inputs()}

    def __call__(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        dtypes = self.input_dtypes()
        missing = [n for n in dtypes if n not in inputs]
        if missing:
            raise UsageError(
                f"inputs lack {missing} (the model takes {list(dtypes)})",
                "pass a dict with one array per model input",
            )
        feeds = {k: np.ascontiguousarray(inputs[k], dtype=dt) for k, dt in dtypes.items()}
        return self.session.run(None, feeds)[0]

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the ``.onnx`` file atomically, perfkit metadata included."""
        proto = onnx.load_from_string(self.model_bytes)
        meta = {
            "perfkit.engine": self.engine,
            "perfkit.method": self.method,
            "perfkit.task": self.task,
            "perfkit.quantized_layers": ",".join(self.quantized_layers),
            "perfkit.float_layers": ",".join(self.float_layers),
        }
        del proto.metadata_props[:]
        for k, v in meta.items():
            proto.metadata_props.add(key=k, value=v)
        return atomic_write_bytes(path, proto.SerializeToString())

    @classmethod
    def load(cls, path: str | os.PathLike[str], threads: int | None = None) -> OrtModel:
        """Read an ``.onnx`` file; a missing, truncated or non-ONNX file is an InputFileError."""
        path = Path(path)
        if not path.is_file():
            raise InputFileError(f"ONNX model {path} not found", "check the path")
        data = path.read_bytes()
        try:
            proto = onnx.load_from_string(data)
            onnx.checker.check_model(proto)
        except Exception as exc:
            raise InputFileError(
                f"{path} is not a valid ONNX model ({str(exc).splitlines()[0][:120]})",
                "re-export it with perfkit.compress.export_onnx",
            ) from None
        meta = {p.key: p.value for p in proto.metadata_props}

        def split(key: str) -> tuple[str, ...]:
            return tuple(x for x in meta.get(key, "").split(",") if x)

        out = cls(
            data,
            engine=meta.get("perfkit.engine", "onnxruntime"),
            method=meta.get("perfkit.method", "fp32"),
            quantized_layers=split("perfkit.quantized_layers"),
            float_layers=split("perfkit.float_layers"),
            task=meta.get("perfkit.task", "embedding"),
            threads=threads,
        )
        out.session  # noqa: B018 - fail now, on load, rather than on first call
        return out

    def to(self, device: str) -> OrtModel:
        """The same model on another device ("cpu" or "cuda": the CUDA execution provider)."""
        ort_providers(device)  # fail now when the device is not available
        out = OrtModel(
            self.model_bytes,
            engine=self.engine,
            method=self.method,
            quantized_layers=self.quantized_layers,
            float_layers=self.float_layers,
            task=self.task,
            threads=self.threads,
            device=device,
        )
        out.notes.extend(self.notes)
        return out

    def size_bytes(self) -> int:
        return len(self.model_bytes)

    def num_parameters(self) -> int:
        proto = onnx.load_from_string(self.model_bytes)
        return int(sum(int(np.prod(t.dims)) for t in proto.graph.initializer))


class _Reader:
    """ORT's CalibrationDataReader over a list of named batches."""

    def __init__(self, batches: Sequence[Mapping[str, np.ndarray]], dtypes: Mapping[str, Any]):
        batches = [
            {k: np.ascontiguousarray(b[k], dtype=dt) for k, dt in dtypes.items()} for b in batches
        ]
        # ORT's histogram calibrators stack every batch's activations into one array: a ragged
        # last batch (or another sequence length) breaks that, so keep batches of the first shape.
        first = {k: v.shape for k, v in batches[0].items()}
        same = [b for b in batches if {k: v.shape for k, v in b.items()} == first]
        self._batches = same
        self._it: Iterator[dict[str, np.ndarray]] = iter(self._batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = iter(self._batches)


@dataclass
class _Prepared:
    fp32: OrtModel
    mode: str
    per_channel: bool
    method: str
    workdir: tempfile.TemporaryDirectory
    nodes: list[str]
    op_types: dict[str, str]
    calib_cache: Path | None = None
    reader: _Reader | None = None
    weight_type: str = "int8"

    @property
    def input_names(self) -> tuple[str, ...]:
        return self.fp32.input_names


class OrtEngine:
    """ONNX Runtime quantization: dynamic (QOperator) and static (QDQ) int8."""

    name: ClassVar[str] = "onnxruntime"
    supports_dynamic: ClassVar[bool] = True
    supports_static: ClassVar[bool] = True

    def prepare(
        self,
        model: Any,
        example_inputs: Mapping[str, np.ndarray] | None,
        *,
        mode: str,
        calibration: Any,
        method: str,
        per_channel: bool,
        smooth: float | None = None,
        weight_type: str = "int8",
    ) -> _Prepared:
        from perfkit.compress.export import export_onnx
        from perfkit.compress.quantize import (
            calibration_batches,
            check_input_shapes,
            check_model_runs,
        )

        batches = None
        if mode == "static":
            names = model.input_names if isinstance(model, OrtModel) else _torch_input_names(model)
            batches = calibration_batches(calibration, names)
            if example_inputs is None:
                example_inputs = {k: v[:2] for k, v in batches[0].items()}
        if isinstance(model, OrtModel):
            fp32 = model
        else:
            if example_inputs is None:
                raise UsageError(
                    "the onnxruntime engine needs example inputs to export a torch model",
                    "pass example_inputs={name: array}",
                )
            check_model_runs(model, example_inputs, "calibration" if batches else "example")
            fp32 = export_onnx(model, example_inputs)
        if batches is not None and example_inputs is not None:
            check_input_shapes(example_inputs, batches)
        proto = onnx.load_from_string(fp32.model_bytes)
        _gemm_to_matmul(proto)
        if smooth is not None:
            smooth_data = batches or ([example_inputs] if example_inputs is not None else None)
            if not smooth_data:
                raise UsageError(
                    "activation smoothing needs example inputs to measure activations",
                    "pass example_inputs= (or calibration data for static quantization)",
                )
            smooth_activations(proto, smooth_data, smooth)
        ops = STATIC_OPS if mode == "static" else DYNAMIC_OPS
        # A layer = a node of a quantizable type fed by a constant matrix (weights, embeddings).
        matrices = {t.name for t in proto.graph.initializer if len(t.dims) >= 2}
        op_types = {
            n.name: n.op_type
            for n in proto.graph.node
            if n.op_type in ops and n.name and any(i in matrices for i in n.input)
        }
        if not op_types:
            found = sorted({n.op_type for n in proto.graph.node})
            raise UsageError(
                f"nothing to quantize: the graph has no {'/'.join(ops)} node with constant "
                f"weights (it has {', '.join(found[:12])})",
                "int8 quantization needs Linear/MatMul/Conv layers with weights",
            )
        work = tempfile.TemporaryDirectory(prefix="perfkit-ort-")
        src_bytes = _infer_shapes(proto) if mode == "static" else proto_bytes(proto)
        (Path(work.name) / "fp32.onnx").write_bytes(src_bytes)
        if weight_type not in ("int8", "uint8"):
            raise UsageError(f"unknown weight type {weight_type!r}", "use 'int8' or 'uint8'")
        prepared = _Prepared(fp32, mode, per_channel, method, work, list(op_types), op_types)
        prepared.weight_type = weight_type
        if mode == "static":
            prepared.reader = _Reader(batches, fp32.input_dtypes())
            prepared.calib_cache = Path(work.name) / "calibration.json"
        return prepared

    def layers(self, prepared: _Prepared) -> list[str]:
        return list(prepared.nodes)

    def build(self, prepared: _Prepared, layers: Sequence[str]) -> OrtModel:
        from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic
        from onnxruntime.quantization import quantize_static as ort_quantize_static
        from onnxruntime.quantization.calibrate import CalibrationMethod

        work = Path(prepared.workdir.name)
        src, dst = work / "fp32.onnx", work / "int8.onnx"
        layers = list(layers)
        floats = tuple(n for n in prepared.nodes if n not in set(layers))
        if not layers:
            return OrtModel(
                prepared.fp32.model_bytes,
                method=f"{prepared.mode}-int8",
                float_layers=floats,
                task=prepared.fp32.task,
                threads=prepared.fp32.threads,
            )
        # Shape inference cannot type the outputs of fused contrib ops; they are float.
        extra = {"DefaultTensorType": onnx.TensorProto.FLOAT}
        notes: list[str] = []
        try:
            with quiet(notes):
                if prepared.mode == "dynamic":
                    quantize_dynamic(
                        src,
                        dst,
                        per_channel=prepared.per_channel,
                        # uint8 weights (u8u8 kernels) avoid the int16 saturation of u8s8 on
                        # AVX2 CPUs without VNNI: measured closer to fp32 on MiniLM.
                        weight_type=(
                            QuantType.QUInt8 if prepared.weight_type == "uint8" else QuantType.QInt8
                        ),
                        nodes_to_quantize=layers,
                        extra_options=extra,
                    )
                else:
                    assert prepared.reader is not None
                    prepared.reader.rewind()
                    extra.update({"ActivationSymmetric": False, "CalibPercentile": 99.999})
                    ort_quantize_static(
                        src,
                        dst,
                        prepared.reader,
                        quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8,
                        per_channel=prepared.per_channel,
                        nodes_to_quantize=layers,
                        op_types_to_quantize=list(STATIC_OPS),
                        calibrate_method=getattr(CalibrationMethod, _CALIBRATE[prepared.method]),
                        calibration_cache_path=prepared.calib_cache,
                        extra_options=extra,
                    )
        except UsageError:
            raise
        except Exception as exc:
            raise UsageError(
                f"ONNX Runtime could not quantize this model: {str(exc).splitlines()[0][:200]}",
                "exclude the layer it names (exclude=[...]) or use the other engine",
            ) from None
        data = dst.read_bytes()
        done = _quantized_nodes(onnx.load_from_string(data), layers)
        suffix = "" if prepared.mode == "dynamic" else f"-{prepared.method}"
        return OrtModel(
            data,
            method=f"{prepared.mode}-int8{suffix}",
            quantized_layers=tuple(n for n in layers if n in done),
            float_layers=tuple(n for n in prepared.nodes if n not in done),
            task=prepared.fp32.task,
            threads=prepared.fp32.threads,
        )


def _gemm_to_matmul(proto: Any) -> None:
    """Rewrite ``Gemm(x, W^T) + b`` (how Linear exports) as ``MatMul`` + ``Add``, in place.

    ORT's dynamic quantizer has no integer Gemm: without this a classifier's Linear layers would
    silently stay fp32. The MatMul keeps the Gemm's name so layer names stay stable.
    """
    from onnx import helper, numpy_helper

    inits = {t.name: t for t in proto.graph.initializer}
    new_nodes = []
    for node in proto.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        plain = (
            node.op_type == "Gemm"
            and attrs.get("alpha", 1.0) == 1.0
            and attrs.get("beta", 1.0) == 1.0
            and not attrs.get("transA", 0)
            and node.input[1] in inits
        )
        if not plain:
            new_nodes.append(node)
            continue
        w = numpy_helper.to_array(inits[node.input[1]])
        if attrs.get("transB", 0):
            w = w.T
        w_name = node.input[1] + "_matmul"
        proto.graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(w), w_name))
        has_bias = len(node.input) > 2 and node.input[2]
        mm_out = node.output[0] + "_matmul" if has_bias else node.output[0]
        new_nodes.append(helper.make_node("MatMul", [node.input[0], w_name], [mm_out], node.name))
        if has_bias:
            new_nodes.append(
                helper.make_node(
                    "Add", [mm_out, node.input[2]], [node.output[0]], node.name + "_bias"
                )
            )
    del proto.graph.node[:]
    proto.graph.node.extend(new_nodes)
    used = {i for n in proto.graph.node for i in n.input}
    keep = [t for t in proto.graph.initializer if t.name in used]
    del proto.graph.initializer[:]
    proto.graph.initializer.extend(keep)


def to_fp16(model_bytes: bytes) -> bytes:
    """The ONNX model with float16 weights and compute, float32 inputs and outputs (for GPUs).

    Uses ONNX Runtime's transformer converter (it keeps ops without fp16 kernels, and the
    graph's float inputs/outputs, in float32). On CPU the fp16 graph is slower: it is meant
    for the CUDA provider.
    """
    from onnxruntime.transformers.onnx_model import OnnxModel

    wrapped = OnnxModel(onnx.load_from_string(model_bytes))
    with quiet():
        wrapped.convert_float_to_float16(keep_io_types=True)
    return proto_bytes(wrapped.model)


def smooth_activations(
    proto: Any, batches: Sequence[Mapping[str, np.ndarray]], alpha: float = 0.5
) -> Any:
    """SmoothQuant-style activation smoothing of an ONNX graph, in place; returns it.

    For every activation feeding MatMul/Attention nodes with constant 2-D weights, a per-channel
    factor ``s_j = max|X_j|^alpha / max|W_j|^(1 - alpha)`` (activation maxima from ``batches``)
    moves range from the activation into the weights: a ``Mul(x, 1/s)`` is inserted after the
    activation and each consumer's weight rows are multiplied by ``s``. The float model computes
    the same function; int8 quantization of the smoothed activations loses less to outlier
    channels (Xiao et al. 2023). BERT's activations feed residual paths too (post-LayerNorm),
    so the scale cannot be folded into the LayerNorm: the explicit ``Mul`` costs one elementwise
    pass per smoothed activation.
    """
    from onnx import helper, numpy_helper

    if not 0.0 < alpha < 1.0:
        raise UsageError(f"smoothing alpha must be in (0, 1), got {alpha}", "e.g. smooth=0.5")
    inits = {t.name: t for t in proto.graph.initializer}
    consumers: dict[str, list[Any]] = {}
    for n in proto.graph.node:
        if (
            n.op_type in ("MatMul", "Attention")
            and len(n.input) > 1
            and n.input[1] in inits
            and len(inits[n.input[1]].dims) == 2
        ):
            consumers.setdefault(n.input[0], []).append(n)
    if not consumers:
        return proto
    probe = onnx.ModelProto()
    probe.CopyFrom(proto)
    have = {o.name for o in probe.graph.output}
    for name in consumers:
        if name not in have:
            probe.graph.output.append(
                helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
            )
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(proto_bytes(probe), so, providers=["CPUExecutionProvider"])
    outs = [o.name for o in sess.get_outputs()]
    dtypes = {i.name: (np.int64 if "int64" in i.type else np.float32) for i in sess.get_inputs()}
    amax: dict[str, np.ndarray] = {}
    for b in batches:
        feeds = {k: np.ascontiguousarray(b[k], dtype=dt) for k, dt in dtypes.items()}
        got = dict(zip(outs, sess.run(None, feeds), strict=True))
        mask = feeds.get("attention_mask")
        for name in consumers:
            v = np.abs(got[name])
            if mask is not None and v.ndim == 3 and v.shape[:2] == mask.shape:
                v = v * mask[..., None]  # padding positions carry no information
            m = v.reshape(-1, v.shape[-1]).max(0)
            amax[name] = np.maximum(amax.get(name, 0.0), m)
    muls = {}
    for name, nodes in consumers.items():
        weights = [numpy_helper.to_array(inits[n.input[1]]) for n in nodes]
        wmax = np.max([np.abs(w).max(1) for w in weights], axis=0)
        scale = np.clip(
            np.maximum(amax[name], 1e-5) ** alpha / np.maximum(wmax, 1e-5) ** (1.0 - alpha),
            1e-2,
            1e2,
        ).astype(np.float32)
        inv = numpy_helper.from_array((1.0 / scale).astype(np.float32), f"{name}_smooth_inv")
        proto.graph.initializer.append(inv)
        out = f"{name}_smoothed"
        muls[name] = helper.make_node("Mul", [name, inv.name], [out], f"{name}_smooth")
        for n, w in zip(nodes, weights, strict=True):
            w_name = f"{n.input[1]}_smoothed_{n.name}"
            proto.graph.initializer.append(
                numpy_helper.from_array((w * scale[:, None]).astype(np.float32), w_name)
            )
            n.input[0], n.input[1] = out, w_name
    graph_inputs = {i.name for i in proto.graph.input}
    nodes = list(proto.graph.node)
    del proto.graph.node[:]
    proto.graph.node.extend(m for k, m in muls.items() if k in graph_inputs)
    for n in nodes:
        proto.graph.node.append(n)
        proto.graph.node.extend(muls[o] for o in n.output if o in muls)
    used = {i for n in proto.graph.node for i in n.input}
    keep = [t for t in proto.graph.initializer if t.name in used]
    del proto.graph.initializer[:]
    proto.graph.initializer.extend(keep)
    return proto


def _quantized_nodes(proto: Any, layers: Sequence[str]) -> set[str]:
    """Which of ``layers`` the quantizer really turned int8 (it skips some silently).

    Dynamic quantization replaces a node by an integer op (its name disappears); QDQ keeps the
    node but feeds it from DequantizeLinear.
    """
    producers = {o: n.op_type for n in proto.graph.node for o in n.output}
    by_name = {n.name: n for n in proto.graph.node}
    done = set()
    for name in layers:
        node = by_name.get(name)
        if node is None or any(producers.get(i) == "DequantizeLinear" for i in node.input):
            done.add(name)
    return done


def _infer_shapes(proto: Any) -> bytes:
    """Type every tensor, contrib ops included, so histogram calibrators can find them.

    ONNX's own shape inference stops at fused contrib ops (Attention, SkipLayerNormalization),
    leaving later tensors untyped; percentile/entropy calibration then collects nothing.
    """
    from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

    try:
        with quiet():
            inferred = SymbolicShapeInference.infer_shapes(proto, auto_merge=True)
        return proto_bytes(inferred)
    except Exception:  # inference is best effort; minmax calibration does not need it
        return proto_bytes(proto)


def _torch_input_names(model: Any) -> tuple[str, ...]:
    from perfkit.compress.models import input_names

    return input_names(model)


def proto_bytes(proto: Any) -> bytes:
    """Serialise an ONNX ModelProto to bytes."""
    buf = io.BytesIO()
    onnx.save_model(proto, buf)
    return buf.getvalue()


def op_time_shares(
    model: OrtModel, inputs: Mapping[str, np.ndarray], runs: int = 3
) -> dict[str, float]:
    """Share of ONNX Runtime kernel time per operator type, from its own profiler.

    Runs ``model`` once to warm up, then ``runs`` times, in a separate profiling session with
    the model's thread count (the model's own session is left alone), and sums each node's
    kernel time after the warm-up by op type. Shares add up to 1 and are sorted largest first: they
    say where an int8 model's time goes (integer GEMMs against the float ops int8 leaves alone,
    such as LayerNorm, Gelu and the attention core), which bounds what int8 can gain.

    Parameters
    ----------
    model
        The ONNX Runtime model.
    inputs
        One array per model input.
    runs
        Profiled runs after the warm-up (at least 1).

    Returns
    -------
    dict
        ``{op_type: share}``, largest first; empty if the profiler recorded no kernel.
    """
    import json

    if runs < 1:
        raise UsageError(f"runs must be at least 1, got {runs}", "e.g. runs=3")
    dtypes = model.input_dtypes()
    feeds = {k: np.ascontiguousarray(inputs[k], dtype=dt) for k, dt in dtypes.items()}
    so = ort.SessionOptions()
    so.intra_op_num_threads = model.threads or default_threads()
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    with tempfile.TemporaryDirectory(prefix="perfkit-ortprof-") as tmp:
        so.enable_profiling = True
        so.profile_file_prefix = str(Path(tmp) / "profile")
        sess = ort.InferenceSession(model.model_bytes, so, providers=ort_providers(model.device))
        for _ in range(runs + 1):
            sess.run(None, feeds)
        events = json.loads(Path(sess.end_profiling()).read_text())
    # The first run (allocations, first-touch) is a warm-up: count kernels after it ended.
    run_ends = sorted(
        float(ev["ts"]) + float(ev.get("dur", 0))
        for ev in events
        if ev.get("cat") == "Session" and ev.get("name") == "model_run"
    )
    after = run_ends[0] if len(run_ends) > runs else float("-inf")
    totals: dict[str, float] = {}
    for ev in events:
        if ev.get("cat") != "Node" or not str(ev.get("name", "")).endswith("_kernel_time"):
            continue
        op = ev.get("args", {}).get("op_name")
        if op is None or float(ev.get("ts", 0)) < after:
            continue
        totals[op] = totals.get(op, 0.0) + float(ev.get("dur", 0))
    total = sum(totals.values())
    if total <= 0:
        return {}
    return dict(sorted(((k, v / total) for k, v in totals.items()), key=lambda kv: -kv[1]))
