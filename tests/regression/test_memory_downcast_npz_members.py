"""Regression (issue 11, finding 8): an .npz member that is not an array ended in "got bytes —
wrap plain sequences..." with no member named; members named like np.savez's own arguments
("file", "allow_pickle") broke the writer. The member is now named, and every name round-trips."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from perfkit.cli.__main__ import main


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def test_member_that_is_not_an_array_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "mixed.npz"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("a.npy", _npy(np.arange(3.0)))
        zf.writestr("readme.txt", b"hello")
    rc = main(["downcast", str(src)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "'readme.txt'" in err and "not a NumPy" in err
    assert "wrap plain sequences" not in err
    assert not (tmp_path / "mixed.downcast.npz").exists()


def test_pickled_member_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "obj.npz"
    np.savez(src, good=np.arange(3), bad=np.array([b"x", 1], dtype=object))
    assert main(["downcast", str(src)]) == 2
    assert "member 'bad'" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["file", "allow_pickle", "../up", "é🙂", ""])
def test_member_names_round_trip(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "names.npz"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr(f"{name}.npy", _npy(np.array([1.5, 2.5, 3.0])))
        zf.writestr("other.npy", _npy(np.arange(10, dtype=np.int64)))
    out = tmp_path / "small.npz"
    assert main(["downcast", str(src), "--out", str(out)]) == 0, capsys.readouterr().err
    with np.load(out) as z:
        assert sorted(z.files) == sorted([name, "other"])
        assert z[name].dtype == np.float16 and z[name].tolist() == [1.5, 2.5, 3.0]
        assert z["other"].dtype == np.int8
