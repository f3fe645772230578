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
    "compress_encoder_student_pruned": (("cpu",), "teacher fp32", "pruned distilled student fp32"),
    "compress_encoder_student_pruned_int8": (
        ("cpu",),
        "teacher fp32",
        "pruned distilled student + ORT int8",
    ),
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


def test_layer_subset_forms_quantize_only_their_layers():
    from perfkit.compress import cases

    ffn = cases.encoder_variant("tiny", "ort_ffn_uint8")
    assert ffn.quantized_layers and all(cases._is_ffn(n) for n in ffn.quantized_layers)
    assert any(n.startswith("Attention") for n in ffn.float_layers)
    no_attn = cases.encoder_variant("tiny", "ort_fp32_attention_uint8")
    assert not any(cases._is_attention(n) for n in no_attn.quantized_layers)
    assert set(ffn.quantized_layers) < set(no_attn.quantized_layers)  # + the embeddings
    assert any(n.startswith("Attention") for n in no_attn.float_layers)
    every = set(cases.encoder_variant("tiny", "ort_dynamic_uint8").quantized_layers)
    assert set(no_attn.quantized_layers) | set(no_attn.float_layers) == every
    for form in ("ort_ffn_uint8", "ort_fp32_attention_uint8", "ort_static_smooth_int8"):
        figs = cases.heldout_figures("tiny", form)
        assert 0.9 < figs["cosine"] <= 1.0 + 1e-6, form


def test_layer_families_of_bert_node_names():
    from perfkit.compress.cases import _is_attention, _is_ffn

    assert _is_ffn("/encoder/encoder/layer.3/intermediate/dense/MatMul")
    assert _is_ffn("/encoder/encoder/layer.3/output/dense/MatMul")
    assert not _is_ffn("/encoder/encoder/layer.3/attention/output/dense/MatMul")
    assert _is_attention("/encoder/encoder/layer.3/attention/output/dense/MatMul")
    assert _is_attention("Attention_2") and not _is_attention("EmbedLayerNormalization_0")


def test_pruned_student_recipe_builds_a_narrower_student_that_still_imitates():
    from perfkit.compress import cases

    full = cases.encoder_variant("tiny", "student")
    pruned = cases.encoder_variant("tiny", "student_pruned")
    width = cases.STUDENT_PRUNED["tiny"]["ffn_width"]
    assert pruned.encoder.config.intermediate_size == width < full.encoder.config.intermediate_size
    for layer in pruned.encoder.encoder.layer:
        assert layer.intermediate.dense.out_features == width
    assert sum(p.numel() for p in pruned.parameters()) < sum(p.numel() for p in full.parameters())
    for form in ("student_pruned", "student_pruned_int8"):
        figs = cases.heldout_figures("tiny", form)
        assert figs["cosine"] >= cases.ENCODER_BOUNDS["tiny"][form].cosine, form


def test_student_corpus_for_minilm_leaves_out_every_held_out_text(monkeypatch):
    """Regression: dask.array copies NumPy's docstrings, so a wider corpus repeated pair text."""
    from perfkit.compress import cases

    held = cases.student_corpus(300)[:40]
    bundle = {"eval_sentences": held[:20], "held_pairs": None}

    class Pairs:
        queries = held[20:30]
        documents = held[30:40]

    bundle["tune_pairs"] = Pairs()
    texts = cases.held_out_texts(bundle)
    assert sorted(texts) == sorted(held)
    assert not set(cases.student_corpus(300, exclude=texts)) & set(held)
