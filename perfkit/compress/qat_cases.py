"""Quantization-aware training cases: fp32 vs QAT int8, with post-training int8 measured beside.

Each case times the fp32 torch model (baseline) and the QAT model exported to ONNX Runtime static
int8 (candidate) on held-out inputs, and checks the issue's target; the post-training int8
model, quantized the same way from the fp32 weights, is measured in the same run and kept in the
verdict's figures, so the dashboard shows what the fine-tuning itself bought.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from perfkit.bench.case import Verdict, case
from perfkit.errors import MissingDependencyError

try:
    from perfkit.compress._quiet import import_onnxruntime

    import_onnxruntime()  # keeps its device-id file out of ~/.cache
    import torch
    import transformers  # noqa: F401
except ImportError as exc:
    raise MissingDependencyError(exc.name or "torch", "ml", "QAT cases") from exc

from perfkit.compress.fidelity import fidelity_figures

#: Issue 15's target: QAT int8 accuracy on digits within 0.5 points of fp32 (at most 0.005 lower).
DIGITS_MAX_DROP = 0.005


def _figures(ref: np.ndarray, out: np.ndarray, labels: np.ndarray, prefix: str) -> dict:
    f = fidelity_figures(ref, out, task="classification", labels=labels)
    return {
        f"{prefix}_accuracy": float(f["accuracy"]),
        f"{prefix}_agreement": float(f["agreement"]),
        f"{prefix}_cosine": float(f["cosine"]),
    }


@functools.lru_cache(maxsize=2)
def digits_bundle() -> dict[str, Any]:
    """The digits classifier, its post-training and QAT int8 forms, and the test split."""
    from perfkit.compress.data import digits
    from perfkit.compress.models import predict, train_digits_classifier
    from perfkit.compress.qat import quantize_qat
    from perfkit.compress.quantize import quantize_static

    torch.manual_seed(0)
    d = digits(0)
    model = train_digits_classifier()
    train = {"x": d.train.x}
    ptq = quantize_static(model, train, engine="onnxruntime", method="minmax")
    qat = quantize_qat(model, train, d.train.y)
    test = {"x": d.test.x}
    ref = predict(model, test)
    return {
        "model": model,
        "ptq": ptq,
        "qat": qat,
        "test": test,
        "labels": d.test.y,
        "ptq_out": ptq(test),
        "ref": ref,
    }


@functools.lru_cache(maxsize=2)
def audio_bundle(clips: int, seconds: float) -> dict[str, Any]:
    """The wav2vec2-style classifier, its post-training and QAT int8 forms, held-out clips."""
    from perfkit.compress.data import synthetic_audio
    from perfkit.compress.models import predict, tiny_wav2vec2
    from perfkit.compress.qat import quantize_qat
    from perfkit.compress.quantize import quantize_static

    train = synthetic_audio(clips, seconds=seconds, seed=0)
    held = synthetic_audio(clips, seconds=seconds, seed=1)
    model = tiny_wav2vec2()
    data = {"input_values": train.x}
    ptq = quantize_static(model, data, engine="onnxruntime", method="minmax")
    qat = quantize_qat(model, data, lr=3e-4, batch_size=16)
    test = {"input_values": held.x}
    return {
        "model": model,
        "ptq": ptq,
        "qat": qat,
        "test": test,
        "labels": held.y,
        "ptq_out": ptq(test),
        "ref": predict(model, test),
    }


class _QatCase:
    def make_inputs(self, p: dict[str, Any]) -> dict[str, Any]:
        self._b = self.bundle(p)
        return self._b

    def bundle(self, p: dict[str, Any]) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def baseline(self, x: dict[str, Any]) -> np.ndarray:
        from perfkit.compress.models import predict

        return predict(x["model"], x["test"])

    def candidate(self, x: dict[str, Any]) -> np.ndarray:
        return np.asarray(x["qat"](x["test"]), dtype=np.float32)

    def _all_figures(self, base: np.ndarray, cand: np.ndarray) -> dict[str, float]:
        b = self._b
        figs = {"fp32_accuracy": float((base.argmax(1) == b["labels"]).mean())}
        figs.update(_figures(base, b["ptq_out"], b["labels"], "ptq"))
        figs.update(_figures(base, cand, b["labels"], "qat"))
        figs["size_ratio"] = b["qat"].size_bytes() / max(1, b["ptq"].size_bytes())
        h = b["qat"].qat_history
        figs.update({"qat_first_loss": h.first_loss, "qat_last_loss": h.last_loss})
        return figs


@case(
    "compress_digits_qat_int8",
    "compression",
    params={"split": ["test"]},
    baseline_label="fp32 (torch)",
    candidate_label="QAT int8 (ORT static)",
)
class DigitsQat(_QatCase):
    """Digits MLP: fp32 vs quantization-aware-trained int8 (post-training int8 beside it)."""

    def bundle(self, p: dict[str, Any]) -> dict[str, Any]:
        return digits_bundle()

    def check(self, base: np.ndarray, cand: np.ndarray) -> Verdict:
        f = self._all_figures(base, cand)
        drop = f["fp32_accuracy"] - f["qat_accuracy"]
        ok = drop <= DIGITS_MAX_DROP + 1e-12
        return Verdict(
            ok=ok,
            detail=(
                f"accuracy fp32 {f['fp32_accuracy']:.4f}, QAT int8 {f['qat_accuracy']:.4f}, "
                f"post-training int8 {f['ptq_accuracy']:.4f}; target: QAT within "
                f"{DIGITS_MAX_DROP * 100:.1f} points of fp32 ({'met' if ok else 'NOT met'})"
            ),
            agreement=f["qat_agreement"],
            figures=f,
        )


@case(
    "compress_wav2vec2_qat_int8",
    "compression",
    params={"clips": [128], "seconds": [0.5]},
    quick_params={"clips": [32], "seconds": [0.25]},
    baseline_label="fp32 (torch)",
    candidate_label="QAT int8 (ORT static)",
)
class AudioQat(_QatCase):
    """wav2vec2-style audio classifier: fp32 vs QAT int8; target: agrees with fp32 at least as
    often as post-training int8 does."""

    def bundle(self, p: dict[str, Any]) -> dict[str, Any]:
        return audio_bundle(int(p["clips"]), float(p["seconds"]))

    def check(self, base: np.ndarray, cand: np.ndarray) -> Verdict:
        f = self._all_figures(base, cand)
        ok = f["qat_agreement"] >= f["ptq_agreement"]
        return Verdict(
            ok=ok,
            detail=(
                f"top-1 agreement with fp32: QAT int8 {f['qat_agreement']:.3f}, post-training "
                f"int8 {f['ptq_agreement']:.3f}; cosine {f['qat_cosine']:.4f} vs "
                f"{f['ptq_cosine']:.4f}; target: QAT >= post-training "
                f"({'met' if ok else 'NOT met'})"
            ),
            agreement=f["qat_agreement"],
            figures=f,
        )
