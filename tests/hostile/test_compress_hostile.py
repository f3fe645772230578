"""Hostile input for ``perfkit compress``: mutated config.json, calibration data and options.

Every run must end in exit 0 or 2 with no traceback, the model folder's and data files' bytes
unchanged, and on failure no output folder and no temp files; a successful run writes strict JSON.
A model folder is data: nothing in it may run. The model is a tiny MLP the test builds itself.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from _harness import (
    HOSTILE_SETTINGS,
    HOSTILE_STRINGS,
    assert_contract,
    is_strict_json,
    json_mutations,
    run_main,
    snapshot,
)
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

FAST = ["--repeat", "1", "--batch-sizes", "2"]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A saved 8-input MLP (one distillable layer) and a valid calibration file."""
    from perfkit.compress.models import MLPClassifier, save_model

    root = tmp_path_factory.mktemp("compress-hostile")
    torch.manual_seed(0)
    save_model(MLPClassifier(8, (8, 8), 3), root / "model")
    rng = np.random.default_rng(0)
    np.savez(root / "calib.npz", x=rng.random((16, 8), np.float32), labels=rng.integers(0, 3, 16))
    return root


def _check(template: Path, prepare: Callable[[Path], list[str]], method: str = "dynamic") -> None:
    """Copy the template, let ``prepare`` mutate it and name extra options, run, check."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(template, work, dirs_exist_ok=True)
        extra = prepare(work)
        out = work / "out"
        inputs = [work / "model", work / "calib.npz"]
        before = snapshot(inputs)
        argv = ["compress", str(work / "model"), "--method", method, "--calibration"]
        argv += [str(work / "calib.npz"), "--out", str(out), *FAST, *extra]
        if method == "distill":
            argv += ["--keep", "0", "--steps", "2"]
        result = run_main(argv, work, stdin="y\ny\n")
        assert_contract(result, before, [out])
        if result.rc == 0:
            assert is_strict_json((out / "report.json").read_bytes())


VALID_CONFIG = {
    "format": "perfkit.compress.model/1",
    "arch": "mlp",
    "in_features": 8,
    "hidden": [8, 8],
    "num_classes": 3,
}


@HOSTILE_SETTINGS
@given(data=json_mutations(VALID_CONFIG), method=st.sampled_from(["dynamic", "distill"]))
def test_mutated_config_json(template: Path, data: bytes, method: str) -> None:
    def prepare(work: Path) -> list[str]:
        (work / "model" / "config.json").write_bytes(data)
        return []

    _check(template, prepare, method)


def _npz(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


_RNG = np.random.default_rng(1)
_X = _RNG.random((16, 8), np.float32)
_Y = _RNG.integers(0, 3, 16)
CALIBRATIONS: dict[str, bytes] = {
    "all_nan": _npz(x=np.full((16, 8), np.nan, np.float32)),
    "some_inf": _npz(x=np.where(_X > 0.9, np.inf, _X).astype(np.float32)),
    "huge": _npz(x=np.full((16, 8), 3e38, np.float32)),
    "empty": _npz(x=np.zeros((0, 8), np.float32)),
    "scalar": _npz(x=np.float32(1.0)),
    "wide": _npz(x=np.ones((16, 9), np.float32)),
    "three_d": _npz(x=np.ones((16, 8, 2), np.float32)),
    "ints": _npz(x=np.ones((16, 8), np.int64)),
    "bools": _npz(x=np.ones((16, 8), bool)),
    "strings": _npz(x=np.array([["a"] * 8] * 16)),
    "complex": _npz(x=np.ones((16, 8), np.complex64)),
    "no_x": _npz(y=_X),
    "float_labels": _npz(x=_X, labels=_Y.astype(float)),
    "short_labels": _npz(x=_X, labels=_Y[:3]),
    "matrix_labels": _npz(x=_X, labels=np.ones((16, 2), np.int64)),
    "negative_labels": _npz(x=_X, labels=-_Y - 1),
    "one_row": _npz(x=_X[:1]),
    "truncated": _npz(x=_X)[:200],
    "garbage": b"\x00\x01not a zip",
    "empty_file": b"",
}


@HOSTILE_SETTINGS
@given(
    name=st.sampled_from(sorted(CALIBRATIONS)),
    method=st.sampled_from(["dynamic", "static", "distill"]),
)
def test_mutated_calibration_data(template: Path, name: str, method: str) -> None:
    def prepare(work: Path) -> list[str]:
        (work / "calib.npz").write_bytes(CALIBRATIONS[name])
        return []

    _check(template, prepare, method)


OPTION_VALUES = [*HOSTILE_STRINGS, "0", "nan", "inf", "-inf", "1e-300", "2", "0,0", "1,,2"]


@HOSTILE_SETTINGS
@given(
    option=st.sampled_from(
        ["--batch-sizes", "--keep", "--target-cosine", "--temperature", "--lr", "--steps"]
    ),
    value=st.sampled_from(OPTION_VALUES),
    method=st.sampled_from(["dynamic", "distill"]),
)
def test_hostile_option_values(template: Path, option: str, value: str, method: str) -> None:
    _check(template, lambda work: [option, value], method)


@HOSTILE_SETTINGS
@given(
    where=st.sampled_from(
        ["model", "inside_model", "model_pt", "calib", "parent", "nul", "file", "full_dir"]
    )
)
def test_hostile_out(template: Path, where: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(template, work, dirs_exist_ok=True)
        (work / "file").write_text("not a folder")
        (work / "full").mkdir()
        (work / "full" / "keep.txt").write_text("user file")
        out = {
            "model": work / "model",
            "inside_model": work / "model" / "o",
            "model_pt": work / "model" / "model.pt",
            "calib": work / "calib.npz",
            "parent": work,
            "nul": work / "a\x00b",
            "file": work / "file",
            "full_dir": work / "full",
        }[where]
        inputs = [work / "model", work / "calib.npz", work / "file", work / "full"]
        before = snapshot(inputs)
        argv = ["compress", str(work / "model"), "--method", "dynamic", "--calibration"]
        argv += [str(work / "calib.npz"), "--out", str(out), *FAST]
        result = run_main(argv, work)
        assert result.rc == 2, result
        assert_contract(result, before, [])
