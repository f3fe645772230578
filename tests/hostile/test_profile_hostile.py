"""Hostile input for ``perfkit profile``: bad options, hostile output names and program arguments.

``perfkit profile`` runs the program, so it is driven as a user would drive it (a subprocess).
Every run ends in the program's own exit status (0 here) or 2 for a refused option, with no
perfkit traceback, the script's bytes unchanged, and on a refusal no report folder left behind.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _harness import HOSTILE_SETTINGS, HOSTILE_STRINGS, assert_contract, run_cli, snapshot
from hypothesis import given
from hypothesis import strategies as st

SCRIPT = "import sys\nt = 0\nfor i in range(20000):\n    t += i\nprint(len(sys.argv))\n"

#: Command lines cannot carry a NUL byte; every other hostile string can.
ARG_STRINGS = [s for s in HOSTILE_STRINGS if "\x00" not in s]


def _script(folder: Path) -> Path:
    path = folder / "prog.py"
    path.write_text(SCRIPT)
    return path


@HOSTILE_SETTINGS
@given(
    out=st.sampled_from([*ARG_STRINGS, "rep"]),
    interval=st.sampled_from(["0.001", "0", "-1", "nan", "inf", "1e309", "x", "1e-9", "61"]),
    fmt=st.sampled_from(["json", "all", "pdf", "json,,html", "", "terminal"]),
    arg=st.sampled_from(ARG_STRINGS),
)
def test_hostile_options_and_names(tmp_path_factory, out, interval, fmt, arg):
    # run three folders deep, so an --out such as ../../x stays inside this example's folder
    folder = tmp_path_factory.mktemp("profile") / "a" / "b" / "c"
    folder.mkdir(parents=True)
    script = _script(folder)
    snap = snapshot([script])
    argv = ["profile", "--quiet", "--interval", interval, "--format", fmt, "--out", out]
    result = run_cli([*argv, str(script), arg], cwd=folder, timeout=120)
    target = folder / out if out else None
    # a name longer than the file system allows cannot exist (and cannot even be stat'ed)
    checkable = target is not None and out.strip() and len(out) < 255
    assert_contract(result, snap, [target] if checkable else [])
    if result.rc == 0:
        assert result.out.strip() == "2"  # the program saw its one argument, untouched


@pytest.mark.parametrize(
    "argv",
    [
        ["--out", "afile"],  # an existing file where the folder should go
        ["--lines", "nope:f"],
        ["--lines", "__main__:missing"],
        ["--lines-top", "0", "--lines", "auto"],
        ["--memory-lines", "x:y"],
        ["--tracemalloc", "zz"],
        ["--cpu", "gpu"],
    ],
)
def test_refused_options_leave_nothing(tmp_path, argv):
    script = _script(tmp_path)
    (tmp_path / "afile").write_text("keep me")
    snap = snapshot([script, tmp_path / "afile"])
    result = run_cli(["profile", *argv, str(script)], cwd=tmp_path, timeout=120)
    assert_contract(result, snap, [tmp_path / "reports"])
    assert result.rc == 2


@pytest.mark.parametrize(
    "content", [b"\x00\x01binary", b"\xff\xfe not utf-8", b"def broken(:\n", b""]
)
def test_hostile_script_files(tmp_path, content):
    script = tmp_path / "s.py"
    script.write_bytes(content)
    snap = snapshot([script])
    result = run_cli(["profile", "--quiet", "--out", "rep", str(script)], cwd=tmp_path)
    # a syntax error ends as python's own (exit 1, python's message); the rest are refused (2)
    allowed = (0, 1, 2) if content.startswith(b"def") else (0, 2)
    assert result.rc in allowed
    assert_contract(result, snap, [] if result.rc == 1 else [tmp_path / "rep"], allowed_rcs=allowed)
    if result.rc == 0:
        assert json.loads((tmp_path / "rep" / "profile.json").read_text())["kind"]
