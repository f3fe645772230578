"""Regression (found by the hostile layer): an .npy whose header dict is garbled reached NumPy's
header parser and escaped as ``SyntaxError`` / ``tokenize.TokenError`` tracebacks. Now exit 2
naming the file, for .npy files and .npz members alike."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from perfkit.cli.__main__ import main


def _garbled(replace: bytes, by: bytes) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.linspace(-3, 3, 64))
    data = buf.getvalue()
    assert replace in data
    return data.replace(replace, by, 1)


CASES = [
    _garbled(b"'<f8', ", b"'<f8'( "),  # tokenize.TokenError
    _garbled(b"'shape': (64,)", b"'shape': (64,("),  # SyntaxError
    _garbled(b"'descr': '<f8'", b"'descr': '<zz'"),  # unknown dtype
    _garbled(b"'shape': (64,)", b"'shape': (-1,)"),  # negative dimension
]


@pytest.mark.parametrize("data", CASES)
def test_garbled_npy_header_is_exit_2(
    data: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "x.npy"
    src.write_bytes(data)
    assert main(["downcast", str(src)]) == 2
    err = capsys.readouterr().err
    assert "x.npy" in err and "intact" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]


@pytest.mark.parametrize("data", CASES)
def test_garbled_npz_member_is_named(
    data: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "z.npz"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("bad.npy", data)
    assert main(["downcast", str(src)]) == 2
    assert "member 'bad'" in capsys.readouterr().err
