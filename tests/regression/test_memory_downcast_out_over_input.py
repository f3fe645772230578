"""Regression (issue 11, finding 2): ``perfkit downcast x.npy --out x.npy`` wrote float16 values
over the float64 input. An --out that is the input, its folder, or a folder holding the input is
now refused before the input is read."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from perfkit.cli import downcast as cli
from perfkit.cli.__main__ import main


def _never_read(*_args: object) -> None:
    raise AssertionError("the input was read before the --out check")


@pytest.mark.parametrize(
    "out",
    ["x.npy", "./x.npy", "sub/../x.npy", ".", "..", "{cwd}"],
)
def test_out_over_input_is_refused_before_any_work(
    out: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "data"
    (work / "sub").mkdir(parents=True)
    src = work / "x.npy"
    np.save(src, np.array([1.0000001, 2.5, 70000.1]))
    before = src.read_bytes()
    monkeypatch.chdir(work)
    monkeypatch.setattr(cli, "_read", _never_read)
    rc = main(["downcast", "x.npy", "--rtol", "1e-3", "--out", out.format(cwd=work)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "input" in err and "--out" in err
    assert src.read_bytes() == before
    assert sorted(p.name for p in work.iterdir()) == ["sub", "x.npy"]


def test_hard_link_to_the_input_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "x.npy"
    np.save(src, np.array([1.5, 2.5]))
    os.link(src, tmp_path / "alias.npy")
    monkeypatch.setattr(cli, "_read", _never_read)
    rc = main(["downcast", str(src), "--out", str(tmp_path / "alias.npy")])
    assert rc == 2 and "is the input" in capsys.readouterr().err
    assert np.load(src).dtype == np.float64


def test_dry_run_with_out_equal_to_input_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "x.npy"
    np.save(src, np.array([1.5, 2.5]))
    before = src.read_bytes()
    assert main(["downcast", str(src), "--out", str(src), "--dry-run"]) == 0
    assert src.read_bytes() == before
    assert "nothing written" in capsys.readouterr().err
