"""The seed's speech case: a small wav2vec2-style model on synthetic audio, compressed and compared.

Builds a wav2vec2 encoder from a ``transformers`` config (no download), trains it briefly on
audio perfkit generates, then compares fp32 against ORT dynamic int8, torch dynamic int8 and a
distilled 2-layer student. Run: ``python examples/compress_wav2vec2.py [--json out.json]``.
A few minutes on 2 busy CPU cores.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--json", help="also write the comparison as JSON here")
    args = ap.parse_args()

    import torch

    from perfkit.compress import (
        compare_models,
        distill,
        quantize_dynamic,
        student_from_teacher,
    )
    from perfkit.compress.data import synthetic_audio
    from perfkit.compress.models import predict, tiny_wav2vec2, train_classifier

    torch.manual_seed(0)
    train = synthetic_audio(128, seconds=0.25, num_classes=4, seed=0)
    test = synthetic_audio(64, seconds=0.25, num_classes=4, seed=1)
    model = tiny_wav2vec2(num_layers=4, hidden=48, num_classes=4)
    t0 = time.perf_counter()
    train_classifier(model, train.x, train.y, epochs=args.epochs, lr=1e-3, batch_size=16)
    acc = (predict(model, {"input_values": test.x}).argmax(1) == test.y).mean()
    print(f"trained in {time.perf_counter() - t0:.0f} s: test accuracy {acc:.3f}")

    student = student_from_teacher(model, "alternate")
    distill(
        model,
        student,
        {"input_values": train.x, "labels": train.y},
        epochs=2,
        lr=1e-3,
        batch_size=16,
        gamma_ce=0.5,
    )
    example = {"input_values": train.x[:8]}
    report = compare_models(
        model,
        {
            "ort_int8": quantize_dynamic(model, example),
            "torch_int8": quantize_dynamic(model, engine="torch"),
            "student": student,
            "student_int8": quantize_dynamic(student, example),
        },
        {"input_values": test.x},
        labels=test.y,
        batch_sizes=(1, 16),
        repeat=5,
    )
    print(report.render())
    if args.json:
        report.save(args.json)


if __name__ == "__main__":
    main()
