"""Issue 11, findings 2, 3, 4, 6 and 7 for ``perfkit compress``: one regression test each.

A tiny MLP the test builds itself keeps every run to a second or two (in-process ``main``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def work(tmp_path):
    from perfkit.compress.models import MLPClassifier, save_model

    torch.manual_seed(0)
    save_model(MLPClassifier(8, (8,), 3), tmp_path / "model")
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "calib.npz", x=rng.random((16, 8), np.float32), labels=rng.integers(0, 3, 16)
    )
    return tmp_path


def _main(capsys, *args: str) -> tuple[int, str, str]:
    from perfkit.cli.__main__ import main

    rc = main(["compress", *args, "--repeat", "1", "--batch-sizes", "2"])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _dynamic(capsys, work: Path, out: str, *extra: str, data: str = "calib.npz"):
    """``perfkit compress WORK/model --method dynamic --calibration WORK/DATA --out OUT``."""
    return _main(capsys, str(work / "model"), "--method", "dynamic", *extra,
                 "--calibration", str(work / data), "--out", out)  # fmt: skip


def _bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(
    "config, key",
    [
        ([1, 2, 3], "must hold a JSON object"),
        ({"format": "perfkit.compress.model/1", "arch": "mlp", "hidden": [8]}, "'in_features'"),
        (
            {
                "format": "perfkit.compress.model/1",
                "arch": "mlp",
                "in_features": -8,
                "hidden": [8],
                "num_classes": 3,
            },
            "'in_features'",
        ),
        (
            {
                "format": "perfkit.compress.model/1",
                "arch": "mlp",
                "in_features": 8,
                "hidden": ["8"],
                "num_classes": 3,
            },
            "'hidden'",
        ),
        (
            {
                "format": "perfkit.compress.model/1",
                "arch": "mlp",
                "in_features": 8,
                "hidden": [8],
                "num_classes": "3",
            },
            "'num_classes'",
        ),
        (
            {
                "format": "perfkit.compress.model/1",
                "arch": "mlp",
                "in_features": 8,
                "hidden": [60000, 60000],
                "num_classes": 3,
            },
            "does not match the architecture",
        ),
        (
            {
                "format": "perfkit.compress.model/1",
                "arch": "sentence_embedder",
                "encoder_config": {"model_type": "bert", "hidden_size": "32"},
            },
            "'hidden_size'",
        ),
    ],
)
def test_bad_config_json_is_named_and_exits_2(work, capsys, config, key):
    (work / "model" / "config.json").write_text(json.dumps(config))
    rc, out, err = _dynamic(capsys, work, str(work / "o"))
    assert rc == 2, err
    assert key in err and "config.json" in err and "Traceback" not in err
    assert not (work / "o").exists()


@pytest.mark.parametrize("where", ["same", "inside", "parent"])
def test_out_over_input_is_refused_before_any_work(work, capsys, monkeypatch, where):
    import perfkit.compress.io as cio

    def boom(*a, **k):  # the refusal must come before the model is even read
        raise AssertionError("work started")

    monkeypatch.setattr(cio, "load_compressed", boom)
    before = _bytes(work / "model")
    out = {"same": work / "model", "inside": work / "model" / "o", "parent": work}[where]
    model = work / "model" if where == "inside" else work / "model" / "model.pt"
    rc, _, err = _main(
        capsys,
        str(model),
        "--method",
        "distill",
        "--keep",
        "0",
        "--data",
        str(work / "calib.npz"),
        "--out",
        str(out),
    )
    assert rc == 2 and "input" in err, err
    assert _bytes(work / "model") == before


def test_unwritable_out_is_refused_before_any_work(work, capsys, monkeypatch):
    import perfkit.compress.io as cio

    monkeypatch.setattr(cio, "load_compressed", lambda *a: pytest.fail("work started"))
    locked = work / "locked"
    locked.mkdir()
    real_access = os.access
    # Root ignores permission bits, so deny the folder the way a read-only mount would.
    monkeypatch.setattr(os, "access", lambda p, m: Path(p) != locked and real_access(p, m))
    rc, _, err = _dynamic(capsys, work, str(locked / "o"))
    assert rc == 2 and "permission denied" in err


def test_all_nan_calibration_exits_2_and_nan_never_reaches_the_report(work, capsys):
    np.savez(work / "nan.npz", x=np.full((16, 8), np.nan, np.float32))
    rc, _, err = _dynamic(capsys, work, str(work / "o"), data="nan.npz")
    assert rc == 2 and "non-finite" in err and "'x'" in err
    assert not (work / "o").exists()
    # A model that answers NaN is refused by compare_models (no "agreement 1.000" on NaN) ...
    from perfkit.compress import compare_models
    from perfkit.compress.models import load_model
    from perfkit.errors import UsageError

    model = load_model(work / "model")
    with torch.no_grad():
        model.head.bias.fill_(float("nan"))
    x = {"x": np.ones((4, 8), np.float32)}
    with pytest.raises(UsageError, match="NaN/inf"):
        compare_models(model, {"same": model}, x, repeat=1, batch_sizes=(2,))
    # ... and a non-finite figure is written as null: the report is strict JSON.
    from perfkit.compress.compare import ComparisonReport, ModelReport

    m = ModelReport(
        "a",
        "torch",
        "fp32",
        1,
        1,
        {2: {"median": float("nan")}},
        0,
        {"cosine": float("nan"), "agreement": 1.0},
    )
    text = ComparisonReport("a", (m,), "classification", (2,), 1, "now").to_json()
    assert "NaN" not in text and json.loads(text)["results"][0]["fidelity"]["cosine"] is None


def test_model_and_report_are_committed_together(work, capsys, monkeypatch):
    from perfkit.compress.compare import ComparisonReport

    out = work / "o"
    rc, _, err = _dynamic(capsys, work, str(out))
    assert rc == 0, err
    before = _bytes(out)

    def fail(self, path):  # dies after the model was written, before the report
        raise KeyboardInterrupt

    monkeypatch.setattr(ComparisonReport, "save", fail)
    rc, _, _ = _dynamic(capsys, work, str(out), "--per-tensor")
    assert rc == 130  # main() turns the interrupt into exit 130
    assert _bytes(out) == before  # the old model beside the old report, not a new one
    monkeypatch.undo()
    # A successful run moves the folder, never one file at a time into --out.
    moves = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (moves.append(Path(b)), real_replace(a, b)))
    rc, _, err = _dynamic(capsys, work, str(out))
    assert rc == 0, err
    assert out in moves and not [m for m in moves if m.parent == out]
    assert not [p for p in work.iterdir() if p.name.startswith(".perfkit-tmp-")]


def test_a_folder_of_other_files_is_not_replaced(work, capsys):
    (work / "mine").mkdir()
    (work / "mine" / "notes.txt").write_text("keep me")
    rc, _, err = _dynamic(capsys, work, str(work / "mine"))
    assert rc == 2 and "other files" in err
    assert (work / "mine" / "notes.txt").read_text() == "keep me"


def test_nothing_is_written_under_home(work):
    home = work / "home"
    home.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(home), "OMP_NUM_THREADS": "1"}
    for name in ("XDG_CACHE_HOME", "HF_HOME", "TORCH_HOME", "HF_HUB_CACHE"):
        env.pop(name, None)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "perfkit",
            "compress",
            str(work / "model"),
            "--method",
            "static",
            "--calibration",
            str(work / "calib.npz"),
            "--repeat",
            "1",
            "--out",
            str(work / "o"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (work / "o").iterdir()) == ["model.onnx", "report.json"]
    assert list(home.rglob("*")) == []
