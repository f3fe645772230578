"""Model compression that proves itself: students, distillation, int8 quantization (post-training
and quantization-aware), comparison.

Every function here returns a compressed model together with what it measured, and
:func:`compare_models` reports size, latency, memory and fidelity side by side. Names are loaded
lazily (PEP 562) so ``import perfkit.compress`` does not import torch or onnxruntime.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "student_from_teacher": "perfkit.compress.students",
    "find_layers": "perfkit.compress.students",
    "prune_ffn": "perfkit.compress.students",
    "ffn_importance": "perfkit.compress.students",
    "distill": "perfkit.compress.distillation",
    "DistillResult": "perfkit.compress.distillation",
    "quantize_dynamic": "perfkit.compress.quantize",
    "quantize_static": "perfkit.compress.quantize",
    "quantize_qat": "perfkit.compress.qat",
    "qat_report": "perfkit.compress.qat",
    "CompressedModel": "perfkit.compress.quantize",
    "ENGINES": "perfkit.compress.quantize",
    "export_onnx": "perfkit.compress.export",
    "compare_models": "perfkit.compress.compare",
    "ComparisonReport": "perfkit.compress.compare",
    "Fidelity": "perfkit.compress.fidelity",
    "fidelity_figures": "perfkit.compress.fidelity",
    "save_model": "perfkit.compress.models",
    "load_model": "perfkit.compress.models",
    "load_compressed": "perfkit.compress.io",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'perfkit.compress' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
