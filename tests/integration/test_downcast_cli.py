"""``perfkit downcast FILE`` end to end in a subprocess: outputs, reports, exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def test_npy_is_shrunk_and_written_atomically(run_perfkit, tmp_path: Path):
    src = tmp_path / "x.npy"
    x = np.array([1.5, -0.0, np.nan, 70000.25, 16777217.0])
    np.save(src, x)
    res = run_perfkit("downcast", str(src), "--out", str(tmp_path / "small.npy"))
    assert res.returncode == 0, res.stderr
    assert "float64" in res.stdout and "float32" in res.stdout and "saved" in res.stdout
    out = np.load(tmp_path / "small.npy")
    assert out.dtype == np.float32  # 16777217 -> 16777216 is within rtol=1e-6
    assert np.signbit(out[1]) and np.isnan(out[2])
    # with rtol=0, 16777217 does not fit float32: the array stays float64, losing nothing
    res = run_perfkit("downcast", str(src), "--rtol", "0", "--out", str(tmp_path / "exact.npy"))
    assert res.returncode == 0, res.stderr
    exact = np.load(tmp_path / "exact.npy")
    assert exact.dtype == np.float64 and np.array_equal(exact, x, equal_nan=True)
    assert "16777217.0 -> 16777216.0" in res.stdout
    assert not list(tmp_path.glob(".*.tmp"))


def test_csv_to_parquet_with_report_json(run_perfkit, tmp_path: Path):
    pytest.importorskip("pyarrow")
    src = tmp_path / "t.csv"
    pd.DataFrame(
        {"price": [1.25, 2.5, 3.75, 4.0], "qty": [1, None, 3, 4], "city": ["a", "a", "b", "a"]}
    ).to_csv(src, index=False)
    out = tmp_path / "t.parquet"
    res = run_perfkit("downcast", str(src), "--out", str(out), "--categories", "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert {c["name"]: c["new_dtype"] for c in report["columns"]} == {
        "price": "float16",
        "qty": "Int8",
        "city": "category",
    }
    back = pd.read_parquet(out)
    assert str(back["qty"].dtype) == "Int8" and back["qty"].isna().sum() == 1
    assert back["price"].tolist() == [1.25, 2.5, 3.75, 4.0]


def test_npz_dry_run_writes_nothing(run_perfkit, tmp_path: Path):
    src = tmp_path / "z.npz"
    np.savez(src, a=np.arange(10), b=np.array([0.1, 0.2]))
    res = run_perfkit("downcast", str(src), "--dry-run")
    assert res.returncode == 0, res.stderr
    assert "would save" in res.stdout and "dry run" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["z.npz"]
    res = run_perfkit("downcast", str(src))
    assert res.returncode == 0
    with np.load(tmp_path / "z.downcast.npz") as z:
        assert z["a"].dtype == np.int8 and z["b"].dtype == np.float32


def test_strict_failure_exits_1_without_output(run_perfkit, tmp_path: Path):
    src = tmp_path / "x.npy"
    np.save(src, np.array([0.1, 12345.6789]))
    res = run_perfkit("downcast", str(src), "--strict", "--floats", "float16")
    assert res.returncode == 1
    assert "cannot be shrunk within tolerance" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "x.downcast.npy").exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.npy", None, "no such file"),
        ("data.txt", b"1,2,3", "unsupported file type '.txt'"),
        ("bad.npy", b"not numpy at all", "not a NumPy .npy file"),
        ("bad.npz", b"PK\x03\x04garbage", "cannot read"),
        ("bad.parquet", b"not parquet", "cannot read"),
    ],
)
def test_bad_files_exit_2_with_one_line(run_perfkit, tmp_path: Path, name, content, message):
    src = tmp_path / name
    if content is not None:
        src.write_bytes(content)
    out = tmp_path / f"out{src.suffix}"
    res = run_perfkit("downcast", str(src), "--out", str(out))
    assert res.returncode == 2
    assert res.stderr.startswith("perfkit: error:") and message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_object_arrays_are_never_unpickled(run_perfkit, tmp_path: Path):
    src = tmp_path / "obj.npy"
    np.save(src, np.array([1, "a", None], dtype=object), allow_pickle=True)
    res = run_perfkit("downcast", str(src))
    assert res.returncode == 2
    assert "pickled object array" in res.stderr
    assert not (tmp_path / "obj.downcast.npy").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_exits_2(run_perfkit, tmp_path: Path):
    src = tmp_path / "x.npy"
    np.save(src, np.arange(3))
    src.chmod(0)
    res = run_perfkit("downcast", str(src))
    assert res.returncode == 2 and "permission denied" in res.stderr


def test_bad_options_exit_2(run_perfkit, tmp_path: Path):
    src = tmp_path / "x.npy"
    np.save(src, np.arange(3.0))
    res = run_perfkit("downcast", str(src), "--rtol", "-1")
    assert res.returncode == 2 and "rtol must be a finite number >= 0" in res.stderr
    res = run_perfkit("downcast", str(src), "--floats", "float8")
    assert res.returncode == 2 and "unknown dtype name 'float8'" in res.stderr
    res = run_perfkit("downcast", str(src), "--out", str(tmp_path / "x.csv"))
    assert res.returncode == 2 and "can be written as .npy" in res.stderr
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "x.downcast.npy").exists()


def test_out_over_the_input_or_a_folder_is_refused_as_a_user_sees_it(run_perfkit, tmp_path: Path):
    """Issue 11: --out equal to the input once wrote float16 over it; a folder gave a traceback."""
    src = tmp_path / "x.npy"
    np.save(src, np.array([1.0000001, 2.5, 70000.1]))
    before = src.read_bytes()
    (tmp_path / "folder").mkdir()
    for out, message in (
        ("x.npy", "is the input"),
        (".", "contains the input"),
        ("folder", "existing directory"),
    ):
        res = run_perfkit("downcast", "x.npy", "--rtol", "1e-3", "--out", out, cwd=tmp_path)
        assert res.returncode == 2, res.stderr
        assert message in res.stderr and "Traceback" not in res.stderr and res.stdout == ""
        assert len(res.stderr.strip().splitlines()) == 1
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "x.npy"]


def test_parquet_that_cannot_hold_a_column_fails_before_the_report(run_perfkit, tmp_path: Path):
    pytest.importorskip("pyarrow")
    src = tmp_path / "big.csv"
    src.write_text(f"a,b\n1,{2**64 + 5}\n2,3\n")
    res = run_perfkit("downcast", str(src), "--out", str(tmp_path / "big.parquet"))
    assert res.returncode == 2 and res.stdout == ""
    assert "column 'b'" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "big.parquet").exists()
