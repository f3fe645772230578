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


# ---- output safety (issue 11) -----------------------------------------------------------------

import json as _json  # noqa: E402
import math as _math  # noqa: E402
import os as _os  # noqa: E402
import time as _time  # noqa: E402

from hypothesis import given  # noqa: E402
from hypothesis import strategies as _st  # noqa: E402

from perfkit._atomic import (  # noqa: E402
    TEMP_PREFIX,
    atomic_dir,
    clean_stale_temps,
    dumps_strict,
    refuse_output_over_input,
)


def test_existing_directory_target_is_refused_before_writing(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(UsageError, match="existing directory"):
        atomic_write_text(tmp_path / "out", "x")
    assert list(tmp_path.iterdir()) == [tmp_path / "out"]


def test_atomic_dir_commits_all_files_in_one_step(tmp_path: Path) -> None:
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "model.pt").write_text("new")
        (tmp / "report.json").write_text("{}")
        assert not target.exists()
    assert sorted(p.name for p in target.iterdir()) == ["model.pt", "report.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_atomic_dir_keeps_the_old_folder_when_the_writer_fails(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "model.pt").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(target) as tmp:
        (tmp / "model.pt").write_text("half")
        raise RuntimeError("killed")
    assert (target / "model.pt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_atomic_dir_replaces_an_existing_folder(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    with atomic_dir(target) as tmp:
        (tmp / "model.pt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["model.pt"]


def test_stale_temps_of_a_killed_run_are_cleaned(tmp_path: Path) -> None:
    stale = tmp_path / f"{TEMP_PREFIX}out.json.abc"
    stale.write_text("x")
    fresh = tmp_path / f"{TEMP_PREFIX}out.json.def"
    fresh.write_text("x")
    old = _time.time() - 7200
    _os.utime(stale, (old, old))
    assert clean_stale_temps(tmp_path) == 1
    assert not stale.exists() and fresh.exists()  # a concurrent writer's temp is left alone


@pytest.mark.parametrize(
    ("out", "inp"),
    [("x.npy", "x.npy"), ("m", "m"), ("m/sub", "m"), (".", "x.npy"), ("./m/../x.npy", "x.npy")],
)
def test_output_over_input_is_refused(tmp_path: Path, out: str, inp: str) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "x.npy").write_text("data")
    with pytest.raises(UsageError):
        refuse_output_over_input(tmp_path / out, [tmp_path / inp])


def test_output_beside_input_is_allowed(tmp_path: Path) -> None:
    (tmp_path / "x.npy").write_text("data")
    refuse_output_over_input(tmp_path / "y.npy", [tmp_path / "x.npy"])


def test_output_through_a_symlink_to_the_input_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.npy").write_text("data")
    (tmp_path / "link.npy").symlink_to(tmp_path / "x.npy")
    with pytest.raises(UsageError):
        refuse_output_over_input(tmp_path / "link.npy", [tmp_path / "x.npy"])


_json_values = _st.recursive(
    _st.none() | _st.booleans() | _st.floats() | _st.integers() | _st.text(max_size=5),
    lambda inner: _st.lists(inner, max_size=4) | _st.dictionaries(_st.text(max_size=4), inner),
    max_leaves=20,
)


@given(_json_values)
def test_dumps_strict_always_writes_strict_json(value: object) -> None:
    text = dumps_strict(value)

    def refuse(token: str) -> float:
        raise ValueError(token)

    back = _json.loads(text, parse_constant=refuse)
    if isinstance(value, float):
        assert back is None if not _math.isfinite(value) else back == value


def test_dumps_strict_handles_deep_documents() -> None:
    doc: object = 1.0
    for _ in range(5000):
        doc = [doc]
    assert dumps_strict({"a": float("nan")}) == '{"a": null}'
    import sys

    old = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(max(old, 12000))
        assert dumps_strict(doc).count("[") == 5000
    finally:
        sys.setrecursionlimit(old)


def test_wait_for_idle_returns_at_once_when_told_not_to_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    from perfkit import _env

    monkeypatch.setattr(_env, "load_average", lambda: 3.0)
    slept: list[float] = []
    me, real_sleep = threading.get_ident(), _time.sleep

    def sleep(s: float) -> None:  # other threads (xdist's) still really sleep
        if threading.get_ident() == me:
            slept.append(s)
        else:
            real_sleep(s)

    # asserts "never sleeps" instead of timing the call (< 1 s), which a loaded CI machine can break
    monkeypatch.setattr(_env.time, "sleep", sleep)
    assert _env.wait_for_idle(max_wait_s=0) == 3.0
    assert slept == []
    readings = iter([2.0, 1.0, 0.3])
    monkeypatch.setattr(_env, "load_average", lambda: next(readings))
    monkeypatch.setattr(_env.time, "sleep", lambda s: None)
    assert _env.wait_for_idle(max_wait_s=60) == 0.3
