"""Compression cases: fp32 teacher (baseline) vs each compressed form, checked on fidelity.

Group ``compression``. ``quick_params`` use tiny models (a 4-layer, 32-wide random BERT; a
small digits MLP) so the CI smoke run stays in seconds; the full params use all-MiniLM-L6-v2 on
real sentences. Models are built once per process (cached) in ``make_inputs``: the timed calls
are inference only. Every check compares outputs (cosine, top-1 agreement, accuracy) against a
stated threshold and reports the figures.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable
from typing import Any

import numpy as np

from perfkit.bench.case import SkipCase, Verdict, case
from perfkit.compress.fidelity import Fidelity, fidelity_figures
from perfkit.errors import MissingDependencyError

# Checked here, imported inside the functions: listing or running other cases never pays for
# importing torch and transformers (~3 s).
MissingDependencyError.check(("torch", "transformers", "onnxruntime"), "ml", "compression cases")


#: The issue's targets (issue 15, from issue 7), never a measured floor. For MiniLM, "agreement"
#: is top-1 retrieval agreement with fp32 on held-out paraphrase pairs (ties apart, see
#: :func:`perfkit.compress.fidelity.retrieval_figures`), "cosine" the mean cosine to the fp32
#: embedding over 256 held-out standard-library docstring sentences (text unlike the
#: distillation corpus), "recall_ratio" the candidate's recall@1 on those pairs over fp32's.
#: Speed targets (>= 2x int8, >= 4x student + int8 over torch fp32) and the 10-minute
#: distillation budget are timed by examples/compress_minilm_benchmark.py, which marks each met or
#: not: a check sees outputs, not times.
INT8_TARGET = Fidelity(cosine=0.99, agreement=0.99)
RETRIEVAL_INT8_TARGET = Fidelity(cosine=0.99, agreement=0.99, recall_ratio=0.99)
STATIC_TARGET = Fidelity(cosine=0.98)
STUDENT_TARGET = Fidelity(cosine=0.90, recall_ratio=0.97)
TINY_STUDENT_TARGET = Fidelity(cosine=STUDENT_TARGET.cosine)

ENCODER_BOUNDS: dict[str, dict[str, Fidelity]] = {
    "minilm": {
        "ort_fp32": Fidelity(cosine=0.9999, agreement=0.99),
        "ort_dynamic_int8": INT8_TARGET,
        "ort_retrieval_int8": RETRIEVAL_INT8_TARGET,
        "ort_dynamic_uint8": RETRIEVAL_INT8_TARGET,
        "ort_smooth_uint8": RETRIEVAL_INT8_TARGET,
        "ort_ffn_uint8": RETRIEVAL_INT8_TARGET,
        "ort_fp32_attention_uint8": RETRIEVAL_INT8_TARGET,
        "ort_static_smooth_int8": RETRIEVAL_INT8_TARGET,
        "torch_dynamic_int8": INT8_TARGET,
        "ort_static_int8": STATIC_TARGET,
        "student": STUDENT_TARGET,
        "student_int8": STUDENT_TARGET,
        "student_pruned": STUDENT_TARGET,
        "student_pruned_int8": STUDENT_TARGET,
        "autocast_fp16": Fidelity(cosine=0.999),
        "autocast_bf16": Fidelity(cosine=0.99),
        "compile": Fidelity(cosine=0.9999),
        "ort_cuda_fp32": Fidelity(cosine=0.9999),
        "ort_cuda_fp16": Fidelity(cosine=0.999),
    },
    # Tiny random models (quick CI params): same code paths, no real text, so agreement is the
    # same-nearest-neighbour rate among the batch and there is no recall.
    "tiny": {
        "ort_fp32": Fidelity(cosine=0.9999),
        "ort_dynamic_int8": Fidelity(cosine=0.999),
        "ort_retrieval_int8": Fidelity(cosine=0.999),
        "ort_dynamic_uint8": Fidelity(cosine=0.999),
        "ort_smooth_uint8": Fidelity(cosine=0.999),
        "ort_ffn_uint8": Fidelity(cosine=0.999),
        "ort_fp32_attention_uint8": Fidelity(cosine=0.999),
        "ort_static_smooth_int8": STATIC_TARGET,
        "torch_dynamic_int8": Fidelity(cosine=0.999),
        "ort_static_int8": STATIC_TARGET,
        # The student cosine; a random tiny model has no text, so no recall bound.
        "student": TINY_STUDENT_TARGET,
        "student_int8": TINY_STUDENT_TARGET,
        "student_pruned": TINY_STUDENT_TARGET,
        "student_pruned_int8": TINY_STUDENT_TARGET,
        "autocast_fp16": Fidelity(cosine=0.999),
        "autocast_bf16": Fidelity(cosine=0.99),
        "compile": Fidelity(cosine=0.9999),
        "ort_cuda_fp32": Fidelity(cosine=0.9999),
        "ort_cuda_fp16": Fidelity(cosine=0.999),
    },
}

#: Digits: int8 accuracy must stay within this many points of fp32 (the issue's bar).
DIGITS_MAX_DROP_POINTS = 0.5

#: How the MiniLM student is made (chosen by the measurements in reports/compression.md):
#: teacher layers kept, training-sequence cap, batch, steps, learning rate.
STUDENT: dict[str, dict[str, Any]] = {
    "minilm": {
        "keep": "alternate",
        "max_length": 48,
        "batch_size": 64,
        "steps": 600,
        # The best of the probes in reports/compression.md (150 x 64 steps, held-out cosine
        # 0.866 vs 0.861 for constant lr 2e-4 on the last layer only).
        "lr": 5e-4,
        "hidden_layers": "all",
        "schedule": "warmup_cosine",
    },
    "tiny": {
        "keep": "alternate",
        "max_length": 16,
        "batch_size": 32,
        "steps": 30,
        "lr": 1e-3,
        "hidden_layers": "last",
        "schedule": "constant",
    },
}
#: The pruned recipe, traded for speed: teacher layers 0, 3 and 5 (the subset whose untrained
#: cosine was highest, 0.67 against 0.49 for 1, 3, 5), every feed-forward block cut to its 896
#: most important neurons (of 1536) with its down projection refitted, a larger learning rate.
#: Probes (one run each, load from the probe alone): width 768 at lr 5e-4 reached cosine 0.889
#: at 4.5x; 1024 at lr 1e-3 0.904 at 4.05x but 665 s; 896 at lr 1e-3, 700 steps 0.897 at 4.23x.
STUDENT_PRUNED: dict[str, dict[str, Any]] = {
    "minilm": {**STUDENT["minilm"], "keep": [0, 3, 5], "ffn_width": 896, "steps": 760, "lr": 1e-3},
    "tiny": {**STUDENT["tiny"], "ffn_width": 64},
}
#: Student forms and their recipes (``<form>_int8`` is the same student through ORT dynamic int8).
STUDENT_RECIPES: dict[str, dict[str, dict[str, Any]]] = {
    "student": STUDENT,
    "student_pruned": STUDENT_PRUNED,
}
#: Sentences whose activations rank the feed-forward neurons before pruning.
PRUNE_SAMPLE = 2048
#: Distillation corpus size (sentences) for MiniLM: pydoc topics + third-party docstrings.
STUDENT_CORPUS = 16000
#: Retrieval int8: uint8 weights, layers chosen by a sensitivity search against this target on
#: the tuning pairs (a quarter of the pairs; the other three quarters are held out).
RETRIEVAL_SEARCH_TARGET = Fidelity(cosine=0.999, agreement=0.99, recall_ratio=0.99)


def _is_ffn(layer: str) -> bool:
    """A BERT feed-forward projection (``intermediate.dense`` or the block's ``output.dense``)."""
    return "/intermediate/" in layer or ("/output/" in layer and "/attention/" not in layer)


def _is_attention(layer: str) -> bool:
    """A BERT attention node: the fused ``Attention`` (QKV) or its output projection."""
    return layer.startswith("Attention") or "/attention/" in layer


#: Forms that quantize (uint8 weights, dynamic) only the layers a predicate accepts.
LAYER_SUBSETS = {
    "ort_ffn_uint8": _is_ffn,  # int8 only on the FFN projections
    "ort_fp32_attention_uint8": lambda layer: not _is_attention(layer),  # attention float
}


@functools.lru_cache(maxsize=2)
def encoder_bundle(model: str) -> dict[str, Any]:
    """Teacher, calibration/eval token batches for ``model`` ("tiny" or "minilm"); cached."""
    import torch

    from perfkit.compress.models import load_minilm, tiny_bert

    torch.manual_seed(0)
    if model == "tiny":
        teacher = tiny_bert(num_layers=4, hidden=32)
        rng = np.random.default_rng(0)
        lengths = rng.integers(6, 16, size=96)
        ids = rng.integers(5, 128, size=(96, 16))
        mask = (np.arange(16)[None, :] < lengths[:, None]).astype(np.int64)
        tokens = {"input_ids": ids * mask, "attention_mask": mask}
        train = {k: v[:64] for k, v in tokens.items()}
        evals = {k: v[64:] for k, v in tokens.items()}
        calib = {k: v[:32] for k, v in train.items()}
        return {"teacher": teacher, "train": train, "calib": calib, "eval": evals, "tune": calib}
    if model != "minilm":
        raise ValueError(f"unknown encoder {model!r}")
    from perfkit.compress.data import docstring_pairs, sentence_corpus

    teacher = load_minilm(max_length=128)
    pydoc = sentence_corpus(1200, source="pydoc", seed=1)
    eval_s = sentence_corpus(256, source="docstrings", seed=2)
    tune_pairs, held_pairs = docstring_pairs().split(4)
    return {
        "teacher": teacher,
        "train_sentences": pydoc,
        "calib": teacher.tokenize(pydoc[:64]),  # 128 tokens, like the evaluation batches
        "eval": teacher.tokenize(eval_s),
        "eval_sentences": eval_s,
        "tune_pairs": tune_pairs,
        "held_pairs": held_pairs,
        "tune": _pair_tokens(teacher, tune_pairs),
    }


def _run_chunked(m: Any, tokens: dict[str, np.ndarray], chunk: int = 64) -> np.ndarray:
    """Run ``m`` on length-sorted chunks, each trimmed to its longest sentence.

    Same embeddings as one padded call (padding is masked out) at a fraction of the time and
    memory: one call on hundreds of sentences made ONNX Runtime's arena grow by gigabytes.
    """
    mask = tokens.get("attention_mask")
    if mask is None or mask.ndim != 2:
        return _run_model(m, tokens)
    lengths = mask.sum(1)
    order = np.argsort(lengths, kind="stable")
    outs = []
    for i in range(0, len(order), chunk):
        idx = order[i : i + chunk]
        longest = max(int(lengths[idx].max()), 1)
        part = {
            k: (v[idx][:, :longest] if v.shape == mask.shape else v[idx]) for k, v in tokens.items()
        }
        outs.append(_run_model(m, part))
    out = np.concatenate(outs)
    result = np.empty_like(out)
    result[order] = out
    return result


def _pair_tokens(teacher: Any, pairs: Any) -> dict[str, np.ndarray]:
    """Queries then documents of ``pairs`` as one token batch (padded to the longest)."""
    return teacher.tokenize(list(pairs.queries) + list(pairs.documents), padding="longest")


def pair_figures(reference: np.ndarray, candidate: np.ndarray) -> dict[str, float]:
    """Figures of a candidate on a queries-then-documents batch: cosine and retrieval.

    ``reference`` and ``candidate`` hold the embeddings of ``n`` queries followed by their ``n``
    documents (as :func:`_pair_tokens` lays them out).
    """
    from perfkit.compress.fidelity import retrieval_figures

    n = len(reference) // 2
    figs = fidelity_figures(reference, candidate)
    r = retrieval_figures(reference[:n], reference[n:], candidate[:n], candidate[n:])
    return {**figs, **r}


def student_corpus(n: int | None = None, exclude: Iterable[str] = ()) -> list[str]:
    """The distillation corpus: pydoc topics and third-party docstrings, shuffled (seed 1).

    ``n`` defaults to :data:`STUDENT_CORPUS` (read at call time). Sentences that also occur in
    an ``exclude`` text (the held-out sentences and pairs) are dropped first.
    """
    from perfkit.compress.data import drop_overlap, sentence_corpus

    n = STUDENT_CORPUS if n is None else n

    pool = drop_overlap(
        sentence_corpus(n, source="pydoc", seed=1) + sentence_corpus(n, source="packages", seed=1),
        exclude,
    )
    order = np.random.default_rng(1).permutation(len(pool))[:n]
    return [pool[i] for i in order]


def held_out_texts(bundle: dict[str, Any]) -> list[str]:
    """Every text MiniLM is judged on: the held-out sentences and both sides of every pair."""
    texts = list(bundle.get("eval_sentences", ()))
    for key in ("tune_pairs", "held_pairs"):
        pairs = bundle.get(key)
        if pairs is not None and hasattr(pairs, "queries"):
            texts += list(pairs.queries) + list(pairs.documents)
    return texts


@functools.lru_cache(maxsize=16)
def encoder_variant(model: str, form: str) -> Any:
    """The ``form`` of encoder ``model`` (cached): a compressed model or a torch module."""
    from perfkit.compress import export_onnx, quantize_dynamic, quantize_static

    b = encoder_bundle(model)
    teacher = b["teacher"]
    if form == "ort_fp32":
        return export_onnx(teacher, b["calib"])
    if form == "ort_dynamic_int8":
        return quantize_dynamic(teacher, b["calib"])
    if form == "ort_dynamic_uint8":
        return quantize_dynamic(teacher, b["calib"], weight_type="uint8")
    if form == "ort_smooth_uint8":
        return quantize_dynamic(teacher, b["calib"], weight_type="uint8", smooth=0.5)
    if form == "ort_retrieval_int8":
        return quantize_dynamic(
            teacher,
            b["calib"],
            weight_type="uint8",
            target=RETRIEVAL_SEARCH_TARGET if model == "minilm" else Fidelity(cosine=0.999),
            held_out=b["tune"],
            figures=pair_figures if model == "minilm" else None,
        )
    if form in LAYER_SUBSETS:
        # The frontier between uniform uint8 and float: int8 on a fixed family of layers only.
        keep_int8 = LAYER_SUBSETS[form]
        names = encoder_variant(model, "ort_dynamic_uint8").quantized_layers
        return quantize_dynamic(
            teacher,
            b["calib"],
            weight_type="uint8",
            exclude=[n for n in names if not keep_int8(n)],
        )
    if form == "ort_static_smooth_int8":
        return quantize_static(teacher, b["calib"], method="percentile", smooth=0.5)
    if form == "torch_dynamic_int8":
        return quantize_dynamic(teacher, engine="torch")
    if form == "ort_static_int8":
        return quantize_static(
            teacher,
            b["calib"],
            method="percentile",
            # The search must meet the target on tuning text; held-out text loses a little
            # more, hence the margin in the search (the check itself uses the target).
            target=Fidelity(cosine=STATIC_TARGET.cosine + 0.005),
            held_out={k: v[len(v) // 2 :] for k, v in b["calib"].items()},
        )
    if form in STUDENT_RECIPES:
        return _distilled_student(model, STUDENT_RECIPES[form][model])
    if form.endswith("_int8") and form[: -len("_int8")] in STUDENT_RECIPES:
        return quantize_dynamic(encoder_variant(model, form[: -len("_int8")]), b["calib"])
    raise ValueError(f"unknown form {form!r}")


def _distilled_student(model: str, cfg: dict[str, Any]) -> Any:
    """A student of ``model``'s teacher made by recipe ``cfg`` (see :data:`STUDENT`)."""
    from perfkit.compress import distill, prune_ffn, student_from_teacher

    b = encoder_bundle(model)
    teacher = b["teacher"]
    student = student_from_teacher(teacher, cfg["keep"])
    if model == "minilm":
        corpus = student_corpus(exclude=held_out_texts(b))
        data = teacher.tokenize(corpus, max_length=cfg["max_length"])
    else:
        data = b["train"]
    if cfg.get("ffn_width"):
        prune_ffn(student, cfg["ffn_width"], {k: v[:PRUNE_SAMPLE] for k, v in data.items()})
    distill(
        teacher,
        student,
        data,
        steps=cfg["steps"],
        lr=cfg["lr"],
        batch_size=cfg["batch_size"],
        cache_teacher=True,
        hidden_layers=cfg["hidden_layers"],
        schedule=cfg["schedule"],
    )
    return student


@functools.lru_cache(maxsize=2)
def _teacher_outputs(model: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The fp32 teacher's embeddings of the eval sentences and (MiniLM) the held-out pairs."""
    b = encoder_bundle(model)
    ref_eval = _run_chunked(b["teacher"], b["eval"])
    if model != "minilm":
        return ref_eval, None
    return ref_eval, _run_chunked(b["teacher"], _pair_tokens(b["teacher"], b["held_pairs"]))


@functools.lru_cache(maxsize=32)
def heldout_figures(model: str, form: str) -> dict[str, float]:
    """Fidelity of ``form`` on held-out text: cosine over the 256 eval sentences, and (MiniLM)
    retrieval figures on the held-out paraphrase pairs. Cached per form."""
    b = encoder_bundle(model)
    cand = encoder_variant(model, form)
    ref_eval, ref_pairs = _teacher_outputs(model)
    figs = fidelity_figures(ref_eval, _run_chunked(cand, b["eval"]))
    out = {"cosine": figs["cosine"], "cosine_min": figs["cosine_min"]}
    out["neighbour_agreement"] = figs["agreement"]
    if model != "minilm":
        out["agreement"] = figs["agreement"]
        return out
    pf = pair_figures(ref_pairs, _run_chunked(cand, _pair_tokens(b["teacher"], b["held_pairs"])))
    out.update({k: pf[k] for k in ("agreement", "recall_at_1", "recall_at_1_ref", "recall_ratio")})
    out.update({"ties": pf["ties"], "queries": pf["queries"]})
    return out


def _run_model(m: Any, inputs: dict[str, np.ndarray]) -> np.ndarray:
    import torch

    if isinstance(m, torch.nn.Module):
        from perfkit.compress.models import predict

        return predict(m, inputs, batch_size=1 << 30)
    return np.asarray(m(inputs))


def _size(m: Any) -> int:
    from perfkit.compress.compare import as_runner

    return int(as_runner(m).size_bytes())


def _verdict(
    base: np.ndarray, cand: np.ndarray, bound: Fidelity, task: str, extra: dict[str, float]
) -> Verdict:
    figs = fidelity_figures(base, cand, task=task)
    misses = bound.misses(figs)
    detail = (
        f"cosine {figs['cosine']:.4f}, top-1 agreement {figs['agreement']:.3f}, "
        f"max |err| {figs['max_abs_error']:.3g}"
    )
    return Verdict(
        ok=not misses,
        detail=detail + (f"; misses {'; '.join(misses)}" if misses else f"; meets {bound}"),
        max_abs_error=figs["max_abs_error"],
        agreement=figs["agreement"],
        figures={
            "cosine": figs["cosine"],
            "cosine_min": figs["cosine_min"],
            "agreement": figs["agreement"],
            **extra,
        },
    )


class _EncoderCase:
    """Teacher fp32 vs one compressed form, on a batch of held-out sentences."""

    form = ""

    def make_inputs(self, p: dict[str, Any]) -> dict[str, Any]:
        b = encoder_bundle(p["model"])
        cand = encoder_variant(p["model"], self.form)
        batch = {k: v[: p["batch"]] for k, v in b["eval"].items()}
        self._extra = {
            "size_bytes_fp32": float(_size(b["teacher"])),
            "size_bytes": float(_size(cand)),
        }
        self._extra["size_ratio"] = self._extra["size_bytes_fp32"] / self._extra["size_bytes"]
        self._bound = ENCODER_BOUNDS[p["model"]][self.form]
        self._model = p["model"]
        return {"teacher": b["teacher"], "cand": cand, "batch": batch}

    def baseline(self, x: dict[str, Any]) -> np.ndarray:
        return _run_model(x["teacher"], x["batch"])

    def candidate(self, x: dict[str, Any]) -> np.ndarray:
        return _run_model(x["cand"], x["batch"])

    def check(self, base: np.ndarray, cand: np.ndarray) -> Verdict:
        """The target checked on held-out text (all 256 sentences, held-out pairs), not only
        on the timed batch, whose cosine is kept as ``batch_cosine``."""
        held = heldout_figures(self._model, self.form)
        batch = fidelity_figures(base, cand)
        misses = self._bound.misses(held)
        detail = f"held-out cosine {held['cosine']:.4f}, top-1 agreement {held['agreement']:.4f}"
        if "recall_ratio" in held:
            detail += (
                f" ({held['queries']:.0f} pair queries, {held['ties']:.0f} ties apart), "
                f"recall@1 {held['recall_at_1']:.3f} vs fp32 {held['recall_at_1_ref']:.3f}"
            )
        return Verdict(
            ok=not misses,
            detail=detail
            + (f"; misses {'; '.join(misses)}" if misses else f"; meets {self._bound}"),
            max_abs_error=batch["max_abs_error"],
            agreement=held["agreement"],
            figures={**held, "batch_cosine": batch["cosine"], **self._extra},
        )


def _form_case(
    cls_name: str,
    base: type,
    form: str,
    doc: str,
    baseline_label: str,
    candidate_label: str,
    *,
    devices: tuple[str, ...] = ("cpu",),
) -> type:
    """Register one compression case: ``base``'s comparison bound to ``form``.

    The case is named ``compress_encoder_<form>`` (``compress_digits_<form>`` for the digits
    classifier), in group ``compression``, on the full-size params with quick tiny ones.

    Returns
    -------
    type
        The registered case class (a subclass of ``base`` with ``form`` and ``doc`` set).
    """
    digits = getattr(base, "family", "encoder") == "digits"
    cls = type(cls_name, (base,), {"form": form, "__doc__": doc, "__module__": __name__})
    return case(
        f"compress_{'digits' if digits else 'encoder'}_{form}",
        "compression",
        params=_DIG_PARAMS if digits else _ENC_PARAMS,
        quick_params=_DIG_QUICK if digits else _ENC_QUICK,
        devices=devices,
        baseline_label=baseline_label,
        candidate_label=candidate_label,
    )(cls)


_ENC_PARAMS = {"model": ["minilm"], "batch": [32]}
_ENC_QUICK = {"model": ["tiny"], "batch": [16]}


EncoderOrtFp32 = _form_case(
    "EncoderOrtFp32",
    _EncoderCase,
    "ort_fp32",
    "Sentence encoder: torch fp32 vs ONNX Runtime fp32 with BERT fusion.",
    "torch fp32",
    "onnxruntime fp32 (fused)",
)


EncoderOrtDynamic = _form_case(
    "EncoderOrtDynamic",
    _EncoderCase,
    "ort_dynamic_int8",
    "Sentence encoder: torch fp32 vs fused ONNX Runtime dynamic int8 (per-channel).",
    "torch fp32",
    "onnxruntime dynamic int8",
)


EncoderOrtRetrieval = _form_case(
    "EncoderOrtRetrieval",
    _EncoderCase,
    "ort_retrieval_int8",
    "Sentence encoder: torch fp32 vs ORT dynamic int8 on the layers a retrieval-agreement "
    "sensitivity search allows (uint8 weights).",
    "torch fp32",
    "onnxruntime dynamic uint8, retrieval-fit layers",
)


EncoderTorchDynamic = _form_case(
    "EncoderTorchDynamic",
    _EncoderCase,
    "torch_dynamic_int8",
    "Sentence encoder: torch fp32 vs torch dynamic int8 Linear layers (per-channel).",
    "torch fp32",
    "torch dynamic int8 (fbgemm)",
)


EncoderOrtStatic = _form_case(
    "EncoderOrtStatic",
    _EncoderCase,
    "ort_static_int8",
    "Sentence encoder: torch fp32 vs ORT static QDQ int8 with sensitivity fallback.",
    "torch fp32",
    "onnxruntime static int8 + fallback",
)


EncoderStudent = _form_case(
    "EncoderStudent",
    _EncoderCase,
    "student",
    "Sentence encoder: teacher vs student (alternate layers) distilled on pydoc sentences.",
    "teacher fp32",
    "distilled student fp32",
)


EncoderStudentInt8 = _form_case(
    "EncoderStudentInt8",
    _EncoderCase,
    "student_int8",
    "Sentence encoder: teacher vs distilled student quantized with ORT dynamic int8.",
    "teacher fp32",
    "distilled student + ORT int8",
)


EncoderStudentPruned = _form_case(
    "EncoderStudentPruned",
    _EncoderCase,
    "student_pruned",
    "Sentence encoder: teacher vs student (3 layers, feed-forward blocks pruned and refitted) "
    "distilled on pydoc sentences and package docstrings.",
    "teacher fp32",
    "pruned distilled student fp32",
)


EncoderStudentPrunedInt8 = _form_case(
    "EncoderStudentPrunedInt8",
    _EncoderCase,
    "student_pruned_int8",
    "Sentence encoder: teacher vs pruned distilled student quantized with ORT dynamic int8.",
    "teacher fp32",
    "pruned distilled student + ORT int8",
)


class _CudaFormCase:
    """Teacher fp32 vs a GPU-oriented form of it on the same device (autocast, compile)."""

    form = ""

    def make_inputs(self, p: dict[str, Any]) -> dict[str, Any]:
        from perfkit.compress.models import to_tensors

        device = p["device"]
        b = encoder_bundle(p["model"])
        # A copy on the GPU: the cached CPU teacher is shared with the other cases.
        teacher = copy.deepcopy(b["teacher"]).to(device) if device != "cpu" else b["teacher"]
        batch = to_tensors({k: v[: p["batch"]] for k, v in b["eval"].items()}, device)
        self._bound = ENCODER_BOUNDS[p["model"]][self.form]
        import torch

        fn = torch.compile(teacher) if self.form == "compile" else teacher
        return {"teacher": teacher, "fn": fn, "batch": batch, "device": device}

    def _call(self, fn: Any, x: dict[str, Any], dtype: Any) -> np.ndarray:
        import torch

        with torch.inference_mode():
            if dtype is None:
                out = fn(x["batch"]["input_ids"], x["batch"]["attention_mask"])
            else:
                with torch.autocast(x["device"], dtype=dtype):
                    out = fn(x["batch"]["input_ids"], x["batch"]["attention_mask"])
        return out.float().cpu().numpy()

    def baseline(self, x: dict[str, Any]) -> np.ndarray:
        return self._call(x["teacher"], x, None)

    def candidate(self, x: dict[str, Any]) -> np.ndarray:
        import torch

        dtype = {"autocast_fp16": torch.float16, "autocast_bf16": torch.bfloat16}.get(self.form)
        return self._call(x["fn"], x, dtype)

    def check(self, base: np.ndarray, cand: np.ndarray) -> Verdict:
        return _verdict(base, cand, self._bound, "embedding", {})


EncoderAutocastFp16 = _form_case(
    "EncoderAutocastFp16",
    _CudaFormCase,
    "autocast_fp16",
    "Sentence encoder: fp32 vs fp16 autocast (a GPU form; runs on CPU too).",
    "fp32",
    "autocast fp16",
    devices=("cpu", "cuda"),
)


EncoderAutocastBf16 = _form_case(
    "EncoderAutocastBf16",
    _CudaFormCase,
    "autocast_bf16",
    "Sentence encoder: fp32 vs bf16 autocast (a GPU form; runs on CPU too).",
    "fp32",
    "autocast bf16",
    devices=("cpu", "cuda"),
)


EncoderCompile = _form_case(
    "EncoderCompile",
    _CudaFormCase,
    "compile",
    "Sentence encoder: eager vs ``torch.compile`` on CUDA (skipped on CPU-only machines).",
    "eager fp32",
    "torch.compile fp32",
    # CUDA only: on this 2-core CPU inductor needs 20-30 s to compile, too long for a smoke run.
    devices=("cuda",),
)


class _OrtCudaCase:
    """torch fp32 on the GPU vs the fused ONNX model on ONNX Runtime's CUDA provider."""

    form = ""

    def make_inputs(self, p: dict[str, Any]) -> dict[str, Any]:
        from perfkit.compress._ort import OrtModel, ort_providers, to_fp16
        from perfkit.compress.models import to_tensors
        from perfkit.errors import UsageError

        device = p["device"]
        try:
            ort_providers(device)  # before any model is built: skipping must cost nothing
        except UsageError as exc:
            raise SkipCase(str(exc)) from exc
        b = encoder_bundle(p["model"])
        fp32 = encoder_variant(p["model"], "ort_fp32")
        cand = fp32 if self.form == "ort_cuda_fp32" else OrtModel(to_fp16(fp32.model_bytes))
        batch = {k: v[: p["batch"]] for k, v in b["eval"].items()}
        self._bound = ENCODER_BOUNDS[p["model"]][self.form]
        return {
            "teacher": copy.deepcopy(b["teacher"]).to(device),
            "tensors": to_tensors(batch, device),
            "cand": cand.to(device),
            "batch": batch,
        }

    def baseline(self, x: dict[str, Any]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = x["teacher"](x["tensors"]["input_ids"], x["tensors"]["attention_mask"])
        return out.float().cpu().numpy()

    def candidate(self, x: dict[str, Any]) -> np.ndarray:
        return np.asarray(x["cand"](x["batch"]), dtype=np.float32)

    def check(self, base: np.ndarray, cand: np.ndarray) -> Verdict:
        return _verdict(base, cand, self._bound, "embedding", {})


EncoderOrtCudaFp32 = _form_case(
    "EncoderOrtCudaFp32",
    _OrtCudaCase,
    "ort_cuda_fp32",
    "Sentence encoder: torch fp32 on CUDA vs fused ONNX on ORT's CUDA provider "
    "(needs onnxruntime-gpu; skipped on CPU-only machines).",
    "torch fp32 (CUDA)",
    "onnxruntime CUDA provider fp32",
    devices=("cuda",),
)


EncoderOrtCudaFp16 = _form_case(
    "EncoderOrtCudaFp16",
    _OrtCudaCase,
    "ort_cuda_fp16",
    "Sentence encoder: torch fp32 on CUDA vs fp16 ONNX (float I/O) on ORT's CUDA provider.",
    "torch fp32 (CUDA)",
    "onnxruntime CUDA provider fp16",
    devices=("cuda",),
)


# --- digits classifier ---------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def digits_bundle(size: str) -> dict[str, Any]:
    """The trained digits MLP and its splits ("small" for quick runs, "full" otherwise)."""
    from perfkit.compress.data import digits
    from perfkit.compress.models import train_digits_classifier

    hidden, epochs = ((64, 64), 10) if size == "small" else ((256, 256, 256), 40)
    return {"model": train_digits_classifier(hidden, epochs=epochs), "data": digits(0)}


@functools.lru_cache(maxsize=8)
def digits_variant(size: str, form: str) -> Any:
    from perfkit.compress import quantize_dynamic, quantize_static

    b = digits_bundle(size)
    model, d = b["model"], b["data"]
    if form == "ort_dynamic_int8":
        return quantize_dynamic(model, {"x": d.val.x})
    if form == "ort_static_int8":
        return quantize_static(model, {"x": d.train.x}, method="minmax")
    if form == "torch_dynamic_int8":
        return quantize_dynamic(model, engine="torch")
    raise ValueError(form)


class _DigitsCase:
    family = "digits"  # named compress_digits_<form>, on the digits params
    form = ""

    def make_inputs(self, p: dict[str, Any]) -> dict[str, Any]:
        b = digits_bundle(p["size"])
        cand = digits_variant(p["size"], self.form)
        self._labels = b["data"].test.y
        self._extra = {
            "size_bytes_fp32": float(_size(b["model"])),
            "size_bytes": float(_size(cand)),
        }
        return {"model": b["model"], "cand": cand, "x": {"x": b["data"].test.x}}

    def baseline(self, x: dict[str, Any]) -> np.ndarray:
        return _run_model(x["model"], x["x"])

    def candidate(self, x: dict[str, Any]) -> np.ndarray:
        return _run_model(x["cand"], x["x"])

    def check(self, base: np.ndarray, cand: np.ndarray) -> Verdict:
        acc_fp32 = float((base.argmax(1) == self._labels).mean())
        acc_int8 = float((cand.argmax(1) == self._labels).mean())
        drop = 100.0 * (acc_fp32 - acc_int8)
        figs = fidelity_figures(base, cand, task="classification")
        ok = drop <= DIGITS_MAX_DROP_POINTS
        return Verdict(
            ok=ok,
            detail=(
                f"accuracy fp32 {acc_fp32:.4f} vs int8 {acc_int8:.4f} (drop {drop:.2f} points, "
                f"bound {DIGITS_MAX_DROP_POINTS}); agreement {figs['agreement']:.4f}"
            ),
            max_abs_error=figs["max_abs_error"],
            agreement=figs["agreement"],
            figures={
                "accuracy_fp32": acc_fp32,
                "accuracy_int8": acc_int8,
                "accuracy_drop_points": drop,
                "cosine": figs["cosine"],
                **self._extra,
            },
        )


_DIG_PARAMS = {"size": ["full"]}
_DIG_QUICK = {"size": ["small"]}


DigitsOrtDynamic = _form_case(
    "DigitsOrtDynamic",
    _DigitsCase,
    "ort_dynamic_int8",
    "Digits classifier: fp32 vs ORT dynamic int8; accuracy within 0.5 points.",
    "torch fp32",
    "onnxruntime dynamic int8",
)


DigitsOrtStatic = _form_case(
    "DigitsOrtStatic",
    _DigitsCase,
    "ort_static_int8",
    "Digits classifier: fp32 vs ORT static QDQ int8; accuracy within 0.5 points.",
    "torch fp32",
    "onnxruntime static int8",
)


DigitsTorchDynamic = _form_case(
    "DigitsTorchDynamic",
    _DigitsCase,
    "torch_dynamic_int8",
    "Digits classifier: fp32 vs torch dynamic int8; accuracy within 0.5 points.",
    "torch fp32",
    "torch dynamic int8",
)
