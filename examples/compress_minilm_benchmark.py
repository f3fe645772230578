"""Benchmark: every compression path for all-MiniLM-L6-v2 and the digits classifier, side by side.

Measures in one run (same threads, warmed up) what the issue's targets ask for and writes the
figures to ``reports/compression.json`` (the table in ``reports/compression.md`` is copied from
it). Run: ``python examples/compress_minilm_benchmark.py [--steps 200] [--threads 2]``.
Takes about 10-20 minutes on a 2-core CPU, most of it distillation and the static fallback search.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def paraphrase_recall(model_fn, sentences: list[str], seed: int = 0) -> float:
    """Recall@1 of finding each sentence's offline paraphrase among all paraphrases."""
    from perfkit.compress.data import paraphrase

    rng = np.random.default_rng(seed)
    para = [paraphrase(s, rng) for s in sentences]
    q, p = model_fn(sentences), model_fn(para)
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    p = p / np.linalg.norm(p, axis=1, keepdims=True)
    return float(((q @ p.T).argmax(1) == np.arange(len(q))).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=200, help="distillation steps")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", default="reports/compression.json")
    args = ap.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch

    from perfkit.compress import (
        Fidelity,
        compare_models,
        distill,
        export_onnx,
        quantize_dynamic,
        quantize_static,
        student_from_teacher,
    )
    from perfkit.compress.data import digits, sentence_corpus
    from perfkit.compress.fidelity import fidelity_figures
    from perfkit.compress.models import load_minilm, predict, train_digits_classifier

    torch.set_num_threads(args.threads)
    results: dict = {"threads": args.threads}
    t_all = time.perf_counter()

    # --- MiniLM ------------------------------------------------------------------------------
    teacher = load_minilm(max_length=128)
    train_s = sentence_corpus(1200, source="pydoc", seed=1)
    held_s = sentence_corpus(256, source="docstrings", seed=2)
    calib = teacher.tokenize(train_s[:64])
    tune = teacher.tokenize(train_s[64:128])
    held = teacher.tokenize(held_s)  # padded to 128 tokens: the sequence length
    timings = {}

    def timed(name, fn):
        t0 = time.perf_counter()
        out = fn()
        timings[name] = time.perf_counter() - t0
        print(f"{name}: {timings[name]:.1f} s", flush=True)
        return out

    cands = {}
    cands["ort_fp32"] = timed("export+fuse", lambda: export_onnx(teacher, calib))
    cands["ort_dyn_int8"] = timed("ort dynamic", lambda: quantize_dynamic(teacher, calib))
    cands["ort_dyn_int8_fit"] = timed(
        "ort dynamic + fallback",
        lambda: quantize_dynamic(
            teacher, calib, target=Fidelity(cosine=0.99, agreement=0.99), held_out=tune
        ),
    )
    cands["torch_dyn_int8"] = timed(
        "torch dynamic", lambda: quantize_dynamic(teacher, engine="torch")
    )
    cands["ort_static_plain"] = timed(
        "ort static plain", lambda: quantize_static(teacher, calib, method="minmax")
    )
    cands["ort_static_fit"] = timed(
        "ort static + fallback",
        lambda: quantize_static(
            teacher, calib, method="percentile", target=Fidelity(cosine=0.98), held_out=tune
        ),
    )
    student = student_from_teacher(teacher, "alternate")
    short = teacher.tokenize(train_s, max_length=64)
    log = timed(
        "distill",
        lambda: distill(teacher, student, short, steps=args.steps, lr=1e-4, batch_size=32).log,
    )
    cands["student_fp32"] = student
    cands["student_int8"] = timed("student int8", lambda: quantize_dynamic(student, calib))

    rep = compare_models(
        teacher, cands, held, batch_sizes=(1, 32), repeat=args.repeat, threads=args.threads
    )
    print(rep.render(width=200))
    results["minilm"] = rep.to_dict()
    results["timings_s"] = timings
    results["distill_log_first_last"] = [log[0], log[-1]]

    # Student fidelity on text like its training data vs unlike it; paraphrase recall@1.
    like = teacher.tokenize(train_s[-256:])
    t_like = predict(teacher, like)
    results["student_like_training"] = {
        "fp32": fidelity_figures(t_like, predict(student, like)),
        "int8": fidelity_figures(t_like, cands["student_int8"](like)),
    }

    def enc(m):
        return lambda ss: (
            predict(m, teacher.tokenize(ss))
            if isinstance(m, torch.nn.Module)
            else m(teacher.tokenize(ss))
        )

    recall_t = paraphrase_recall(enc(teacher), held_s)
    results["paraphrase_recall_at_1"] = {
        "teacher": recall_t,
        **{
            k: paraphrase_recall(enc(cands[k]), held_s)
            for k in ("ort_dyn_int8", "ort_dyn_int8_fit", "student_fp32", "student_int8")
        },
    }
    print("paraphrase recall@1", results["paraphrase_recall_at_1"], flush=True)

    # --- end to end encode: sentence-transformers fp32 vs perfkit's int8 pipeline ---------------
    from sentence_transformers import SentenceTransformer

    from perfkit.compress.models import minilm_path

    st = SentenceTransformer(str(minilm_path()), device="cpu")
    st.max_seq_length = 128
    best = cands["ort_dyn_int8_fit"]

    def perfkit_encode(ss, batch=32):
        order = np.argsort([len(s) for s in ss])  # length buckets: pad to the longest in a batch
        out = np.empty((len(ss), 384), np.float32)
        for i in range(0, len(ss), batch):
            idx = order[i : i + batch]
            out[idx] = best(teacher.tokenize([ss[j] for j in idx], padding="longest"))
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    e2e_s = held_s[:300]
    st.encode(e2e_s[:32], batch_size=32)
    perfkit_encode(e2e_s[:32])
    t0 = time.perf_counter()
    ref = st.encode(e2e_s, batch_size=32, normalize_embeddings=True)
    t_st = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = perfkit_encode(e2e_s)
    t_pk = time.perf_counter() - t0
    results["e2e_encode"] = {
        "sentences": len(e2e_s),
        "sentence_transformers_fp32_s": t_st,
        "perfkit_int8_s": t_pk,
        "speedup": t_st / t_pk,
        "cosine": float((ref * ours).sum(1).mean()),
    }
    print("e2e", results["e2e_encode"], flush=True)

    # --- digits -----------------------------------------------------------------------------------
    model = train_digits_classifier((256, 256, 256), epochs=40)
    d = digits(0)
    drep = compare_models(
        model,
        {
            "ort_dyn_int8": quantize_dynamic(model, {"x": d.val.x}),
            "ort_static_int8": quantize_static(model, {"x": d.train.x}),
            "torch_dyn_int8": quantize_dynamic(model, engine="torch"),
        },
        {"x": d.test.x},
        labels=d.test.y,
        batch_sizes=(1, 32),
        repeat=args.repeat,
        threads=args.threads,
    )
    print(drep.render(width=200))
    results["digits"] = drep.to_dict()
    results["total_s"] = time.perf_counter() - t_all
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    from perfkit._atomic import atomic_write_text

    atomic_write_text(args.out, json.dumps(results, indent=2, default=float))
    print(f"wrote {args.out} in {results['total_s']:.0f} s")


if __name__ == "__main__":
    main()
