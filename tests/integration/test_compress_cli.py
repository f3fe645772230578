"""``perfkit compress`` end to end in subprocesses: outputs, exit codes, nothing half-written."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")


def _main(capsys, *args: str) -> subprocess.CompletedProcess:
    """The CLI in-process (same ``main`` as the console script): cheap enough for many cases."""
    from perfkit.cli.__main__ import main

    code = main(["compress", *args])
    cap = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, cap.out, cap.err)


def _run(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "perfkit", "compress", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory):
    from perfkit.compress.data import digits
    from perfkit.compress.models import MLPClassifier, save_model, train_classifier

    root = tmp_path_factory.mktemp("cli")
    torch.manual_seed(0)
    d = digits(0)
    model = train_classifier(MLPClassifier(64, (32, 32, 32), 10), d.train.x, d.train.y, epochs=3)
    save_model(model, root / "model")
    np.savez(root / "calib.npz", x=d.train.x, labels=d.train.y)
    np.savez(root / "eval.npz", x=d.test.x, labels=d.test.y)
    return root


def test_dynamic_writes_model_and_report(digits_dir, tmp_path):
    out = tmp_path / "out"
    r = _run(
        str(digits_dir / "model"),
        "--method", "dynamic",
        "--calibration", str(digits_dir / "calib.npz"),
        "--eval", str(digits_dir / "eval.npz"),
        "--repeat", "2",
        "--out", str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "dynamic-int8" in r.stdout and "x smaller" in r.stdout
    assert sorted(p.name for p in out.iterdir()) == ["model.onnx", "report.json"]
    rep = json.loads((out / "report.json").read_text())
    names = [m["name"] for m in rep["results"]]
    assert names == ["fp32", "dynamic"]
    acc = [m["fidelity"]["accuracy"] for m in rep["results"]]
    assert abs(acc[0] - acc[1]) <= 0.02
    # The written model loads and reproduces the report's accuracy.
    from perfkit.compress.io import load_compressed

    q = load_compressed(out / "model.onnx")
    with np.load(digits_dir / "eval.npz") as e:
        assert (q({"x": e["x"]}).argmax(1) == e["labels"]).mean() == pytest.approx(acc[1])


def test_static_with_target_and_torch_distill(digits_dir, tmp_path, capsys):
    out = tmp_path / "s"
    r = _run(
        str(digits_dir / "model"),
        "--method", "static",
        "--calibration", str(digits_dir / "calib.npz"),
        "--calibration-method", "percentile",
        "--target-cosine", "0.999",
        "--repeat", "2",
        "--out", str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "fidelity target: met" in r.stdout
    assert json.loads((out / "report.json").read_text())["results"][1]["fallback"]["met"]
    out = tmp_path / "d"
    r = _main(
        capsys,
        str(digits_dir / "model" / "model.pt"),
        "--method", "distill",
        "--data", str(digits_dir / "calib.npz"),
        "--keep", "0",
        "--steps", "20",
        "--lr", "1e-3",
        "--repeat", "2",
        "--out", str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.pt", "report.json"]
    assert json.loads((out / "config.json").read_text())["hidden"] == [32, 32]


@pytest.mark.parametrize(
    "case, message",
    [
        ("pickle", "pickled Python objects"),
        ("missing", "not found"),
        ("corrupt_npz", "cannot read"),
        ("wrong_shape", "cannot run on the"),
        ("empty", "holds no samples"),
        ("keep", "out of range"),
        ("temperature", "--temperature must be > 0"),
        ("torch_static", "no static int8 path"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(digits_dir, tmp_path, capsys, case, message):
    model = str(digits_dir / "model")
    calib = str(digits_dir / "calib.npz")
    extra: list[str] = ["--method", "dynamic"]
    if case == "pickle":
        torch.save(torch.nn.Linear(2, 2), tmp_path / "evil.pt")
        model = str(tmp_path / "evil.pt")
    elif case == "missing":
        model = str(tmp_path / "no-model")
    elif case == "corrupt_npz":
        (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 truncated")
        calib = str(tmp_path / "bad.npz")
    elif case == "wrong_shape":
        np.savez(tmp_path / "w.npz", x=np.zeros((8, 10), np.float32))
        calib = str(tmp_path / "w.npz")
        extra = ["--method", "static"]
    elif case == "empty":
        np.savez(tmp_path / "e.npz", x=np.zeros((0, 64), np.float32))
        calib = str(tmp_path / "e.npz")
    elif case == "keep":
        extra = ["--method", "distill", "--keep", "0,7"]
    elif case == "temperature":
        extra = ["--method", "distill", "--temperature", "0"]
    elif case == "torch_static":
        extra = ["--method", "static", "--engine", "torch"]
    out = tmp_path / "out"
    args = (model, *extra, "--calibration", calib, "--out", str(out))
    # Two cases cross the process boundary (console script); the rest run main() in-process.
    r = _run(*args) if case in ("pickle", "wrong_shape") else _main(capsys, *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert message in r.stderr
    assert r.stderr.startswith("perfkit: error:") and "Traceback" not in r.stderr
    assert not out.exists() or not any(out.iterdir())


def test_help_does_not_import_torch():
    code = (
        "import sys\n"
        "from perfkit.cli.__main__ import main\n"
        "try:\n    main(['compress', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'onnxruntime', 'numpy') if m in sys.modules))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    assert "--method" in r.stdout and r.stdout.strip().endswith("[]")


@pytest.mark.slow
def test_minilm_directory_end_to_end(tmp_path):
    from perfkit.compress.data import sentence_corpus
    from perfkit.compress.models import minilm_path

    sentences = tmp_path / "s.txt"
    sentences.write_text("\n".join(sentence_corpus(24, source="docstrings")))
    out = tmp_path / "m"
    r = _run(
        str(minilm_path()),
        "--method", "dynamic",
        "--calibration", str(sentences),
        "--batch-sizes", "8",
        "--repeat", "2",
        "--out", str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    rep = json.loads((out / "report.json").read_text())
    assert rep["results"][1]["fidelity"]["cosine"] >= 0.99
    assert rep["results"][0]["size_bytes"] / rep["results"][1]["size_bytes"] > 3.5
