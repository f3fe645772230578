"""Digits classifier: train, quantize (dynamic and static int8, two engines), prove the accuracy.

Everything ships offline: the data is scikit-learn's digits, the model is trained here.
Run: ``python examples/compress_digits.py``.
"""

from __future__ import annotations


def main() -> None:
    from perfkit.compress import compare_models, quantize_dynamic, quantize_static
    from perfkit.compress.data import digits
    from perfkit.compress.models import train_digits_classifier

    d = digits(0)
    model = train_digits_classifier((256, 256, 256), epochs=40)
    report = compare_models(
        model,
        {
            "ort_dynamic": quantize_dynamic(model, {"x": d.val.x}),
            "ort_static": quantize_static(model, {"x": d.train.x}, method="minmax"),
            "torch_dynamic": quantize_dynamic(model, engine="torch"),
        },
        {"x": d.test.x},
        labels=d.test.y,
        batch_sizes=(1, 64),
    )
    print(report.render())
    base = report["fp32"].fidelity["accuracy"]
    for m in report.models[1:]:
        drop = 100 * (base - m.fidelity["accuracy"])
        print(f"{m.name}: accuracy drop {drop:+.2f} points (bound 0.5)")


if __name__ == "__main__":
    main()
