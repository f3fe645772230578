"""Regression (issue 11, finding 3): ``perfkit downcast --out`` naming an existing directory
ended in a traceback from the failed rename, and a read-only folder failed only after the work.
Both are now exit 2 before the input is read."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from perfkit.cli import downcast as cli
from perfkit.cli.__main__ import main


def _never_read(*_args: object) -> None:
    raise AssertionError("the input was read before the --out check")


@pytest.fixture
def src(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "x.npy"
    path.parent.mkdir()
    np.save(path, np.array([1.5, 2.5, 3.25]))
    return path


@pytest.mark.parametrize("name", ["out.npy", "out", "out.parquet"])
def test_out_is_an_existing_directory(
    name: str,
    src: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = tmp_path / name
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    monkeypatch.setattr(cli, "_read", _never_read)
    rc = main(["downcast", str(src), "--out", str(target)])
    assert rc == 2
    assert "existing directory" in capsys.readouterr().err
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_out_in_a_read_only_folder(
    src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    real_access = os.access

    def access(path: object, mode: int, **kw: object) -> bool:  # root ignores permissions
        if Path(os.fspath(path)).resolve() == locked.resolve() and mode & os.W_OK:
            return False
        return real_access(path, mode, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(cli, "_read", _never_read)
    try:
        rc = main(["downcast", str(src), "--out", str(locked / "y.npy")])
    finally:
        locked.chmod(0o755)
    assert rc == 2
    assert "permission denied" in capsys.readouterr().err
    assert list(locked.iterdir()) == []
