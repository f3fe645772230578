"""The compression cases' registration and skipping (perfkit/compress/cases.py)."""

from __future__ import annotations

import pytest

#: Every compression case of cases.py: name -> (devices, baseline label, candidate label).
#: Written down so the one-helper registration (``_form_case``) provably changed nothing.
EXPECTED = {
    "compress_encoder_ort_fp32": (("cpu",), "torch fp32", "onnxruntime fp32 (fused)"),
    "compress_encoder_ort_dynamic_int8": (("cpu",), "torch fp32", "onnxruntime dynamic int8"),
    "compress_encoder_ort_retrieval_int8": (
        ("cpu",),
        "torch fp32",
        "onnxruntime dynamic uint8, retrieval-fit layers",
    ),
    "compress_encoder_torch_dynamic_int8": (("cpu",), "torch fp32", "torch dynamic int8 (fbgemm)"),
    "compress_encoder_ort_static_int8": (
        ("cpu",),
        "torch fp32",
        "onnxruntime static int8 + fallback",
    ),
    "compress_encoder_student": (("cpu",), "teacher fp32", "distilled student fp32"),
    "compress_encoder_student_int8": (("cpu",), "teacher fp32", "distilled student + ORT int8"),
    "compress_encoder_autocast_fp16": (("cpu", "cuda"), "fp32", "autocast fp16"),
    "compress_encoder_autocast_bf16": (("cpu", "cuda"), "fp32", "autocast bf16"),
    "compress_encoder_compile": (("cuda",), "eager fp32", "torch.compile fp32"),
    "compress_encoder_ort_cuda_fp32": (
        ("cuda",),
        "torch fp32 (CUDA)",
        "onnxruntime CUDA provider fp32",
    ),
    "compress_encoder_ort_cuda_fp16": (
        ("cuda",),
        "torch fp32 (CUDA)",
        "onnxruntime CUDA provider fp16",
    ),
    "compress_digits_ort_dynamic_int8": (("cpu",), "torch fp32", "onnxruntime dynamic int8"),
    "compress_digits_ort_static_int8": (("cpu",), "torch fp32", "onnxruntime static int8"),
    "compress_digits_torch_dynamic_int8": (("cpu",), "torch fp32", "torch dynamic int8"),
}


def test_every_case_is_registered_with_its_form_params_and_labels():
    from perfkit.bench.registry import all_cases
    from perfkit.compress import cases

    by_name = {c.name: c for c in all_cases() if c.module == "perfkit.compress.cases"}
    assert set(by_name) == set(EXPECTED)
    for name, (devices, base_label, cand_label) in EXPECTED.items():
        c = by_name[name]
        assert (c.group, c.devices) == ("compression", devices), name
        assert (c.baseline_label, c.candidate_label) == (base_label, cand_label), name
        digits = name.startswith("compress_digits_")
        assert c.params == ({"size": ["full"]} if digits else {"model": ["minilm"], "batch": [32]})
        assert c.quick_params == (
            {"size": ["small"]} if digits else {"model": ["tiny"], "batch": [16]}
        )
        assert c.description, name
    # The case object is bound to the form its name says.
    assert cases.EncoderStudentInt8.form == "student_int8"
    assert issubclass(cases.EncoderOrtCudaFp16, cases._OrtCudaCase)
    assert cases.DigitsOrtStatic.__module__ == "perfkit.compress.cases"


def test_ort_cuda_case_skips_before_building_anything_without_the_cuda_provider(monkeypatch):
    import onnxruntime as ort

    from perfkit.bench.case import SkipCase
    from perfkit.compress import cases

    def built(*args, **kwargs):
        raise AssertionError("a model was built for a case that must skip")

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    monkeypatch.setattr(cases, "encoder_bundle", built)
    monkeypatch.setattr(cases, "encoder_variant", built)
    for cls in (cases.EncoderOrtCudaFp32, cases.EncoderOrtCudaFp16):
        with pytest.raises(SkipCase, match="onnxruntime-gpu"):
            cls().make_inputs({"model": "tiny", "batch": 4, "device": "cuda"})
