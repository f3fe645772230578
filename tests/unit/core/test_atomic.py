from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from perfkit._atomic import atomic_open, atomic_write_bytes, atomic_write_text
from perfkit.errors import UsageError


def test_writes_with_normal_permissions(tmp_path: Path) -> None:
    p = atomic_write_text(tmp_path / "a" / "b.txt", "hello")
    assert p.read_text() == "hello"
    mode = stat.S_IMODE(os.stat(p).st_mode)
    assert mode & 0o044  # readable by group/others under a normal umask, unlike mkstemp's 0600


def test_failure_inside_the_block_leaves_old_content_and_no_temp(tmp_path: Path) -> None:
    p = tmp_path / "out.bin"
    atomic_write_bytes(p, b"old")
    with pytest.raises(RuntimeError), atomic_open(p, "wb") as fh:
        fh.write(b"half")
        raise RuntimeError("interrupted")
    assert p.read_bytes() == b"old"
    assert [x.name for x in tmp_path.iterdir()] == ["out.bin"]


def test_unwritable_directory_is_a_usage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError, match="cannot write"):
        atomic_write_text(blocker / "sub" / "out.txt", "x")
