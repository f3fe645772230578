"""Export a perfkit model to ONNX, fusing transformer blocks for ONNX Runtime where it helps."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from perfkit.compress._ort import OrtModel, proto_bytes
from perfkit.compress._quiet import quiet
from perfkit.compress.models import input_names, to_tensors
from perfkit.errors import UsageError

#: Encoder types ONNX Runtime's transformer optimizer fuses with its "bert" recipe.
FUSABLE = ("bert", "roberta", "xlm-roberta", "electra", "mpnet")


def _encoder_config(model: Any) -> Any:
    encoder = getattr(model, "encoder", None)
    return getattr(encoder, "config", None)


def _dynamic_axes(inputs: Mapping[str, np.ndarray]) -> dict[str, dict[int, str]]:
    axes: dict[str, dict[int, str]] = {}
    for name, arr in inputs.items():
        arr = np.asarray(arr)
        axes[name] = {0: "batch"}
        if arr.ndim >= 2 and (arr.dtype.kind in "iu" or name == "input_values"):
            axes[name][1] = "sequence"
    axes["output"] = {0: "batch"}
    return axes


def export_onnx(
    model: Any,
    example_inputs: Mapping[str, np.ndarray],
    path: str | os.PathLike[str] | None = None,
    *,
    optimize: bool = True,
    opset: int = 17,
    threads: int | None = None,
) -> OrtModel:
    """Export ``model`` to ONNX and return it as an ONNX Runtime model (fp32).

    Uses the TorchScript-based exporter: ONNX Runtime's transformer fusion (Attention,
    SkipLayerNormalization, BiasGelu) recognises its graphs, while the torch.export-based exporter's
    graphs are not fused yet. Its deprecation warnings are about that exporter, not the user's
    code, and are kept out of the user's console. BERT-like encoders must use eager attention
    (perfkit's loaders do); the fused graph is measured faster than torch on CPU, the unfused one
    slower.

    Parameters
    ----------
    model
        A torch module following perfkit's model contract; left unchanged (its train/eval flags
        are restored after export).
    example_inputs
        One array per model input; batch and sequence axes are exported as dynamic.
    path
        Where to also write the ``.onnx`` file (atomically), if given.
    optimize
        Run ONNX Runtime's transformer fusion for BERT-like encoders.
    opset, threads
        ONNX opset; threads of the returned session (default: torch's).

    Raises
    ------
    UsageError
        The model has an operator the exporter cannot convert (the message names it).
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise UsageError(
            f"export_onnx needs a torch.nn.Module, got {type(model).__name__}",
            "pass the torch model",
        )
    names = input_names(model)
    missing = [n for n in names if n not in example_inputs]
    if missing:
        raise UsageError(
            f"example inputs lack {missing} (the model takes {list(names)})",
            "pass one array per model input",
        )
    inputs = {n: np.asarray(example_inputs[n]) for n in names}
    tensors = to_tensors({n: v[:2] for n, v in inputs.items()})
    flags = {m: m.training for m in model.modules()}
    buf = io.BytesIO()
    notes: list[str] = []
    try:
        model.eval()
        with quiet(notes), torch.inference_mode(False), torch.no_grad():
            torch.onnx.export(
                model,
                tuple(tensors[n] for n in names),
                buf,
                input_names=list(names),
                output_names=["output"],
                dynamic_axes=_dynamic_axes(inputs),
                opset_version=opset,
                dynamo=False,
            )
    except Exception as exc:
        raise UsageError(
            f"cannot export {type(model).__name__} to ONNX: {str(exc).splitlines()[0][:200]}",
            "replace the unsupported operator or use engine='torch'",
        ) from None
    finally:
        # The exporter restores train/eval from the top module only; restore every module.
        for m, flag in flags.items():
            m.train(flag)
    data = buf.getvalue()
    cfg = _encoder_config(model)
    if optimize and cfg is not None and getattr(cfg, "model_type", "") in FUSABLE:
        data = _fuse_bert(data, cfg, notes)
    out = OrtModel(data, method="fp32", task=getattr(model, "task", "embedding"), threads=threads)
    out.notes.extend(notes)
    if path is not None:
        out.save(path)
    return out


def _fuse_bert(data: bytes, cfg: Any, notes: list[str]) -> bytes:
    """ONNX Runtime's BERT fusion; on failure the unfused graph is kept and the reason noted."""
    from onnxruntime.transformers import optimizer

    with tempfile.TemporaryDirectory(prefix="perfkit-fuse-") as tmp:
        src = Path(tmp) / "model.onnx"
        src.write_bytes(data)
        try:
            with quiet(notes):
                opt = optimizer.optimize_model(
                    str(src),
                    model_type="bert",
                    num_heads=int(cfg.num_attention_heads),
                    hidden_size=int(cfg.hidden_size),
                )
            stats = opt.get_fused_operator_statistics()
        except Exception as exc:  # fusion is an optimisation: keep the correct unfused graph
            notes.append(f"BERT fusion skipped: {str(exc).splitlines()[0][:200]}")
            return data
        notes.append("fused: " + ", ".join(f"{k}={v}" for k, v in sorted(stats.items()) if v))
        return proto_bytes(opt.model)
