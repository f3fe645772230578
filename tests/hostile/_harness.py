"""The hostile-input contract, checked the same way for every command.

A careless or malicious input must end in exit 0 or 2, one clear line and no traceback, with every
input's bytes unchanged and no partial output left behind. Tests import this module as
``from _harness import ...`` (pytest puts ``tests/hostile`` on ``sys.path``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]

#: Bounded and derandomized: the layer runs in every `make test`, so it must be fast and repeatable.
HOSTILE_SETTINGS = settings(
    max_examples=int(os.environ.get("PERFKIT_HOSTILE_EXAMPLES", "15")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

HOSTILE_STRINGS: tuple[str, ...] = (
    "",
    " ",
    "<script>alert('x')</script>",
    "\"'><img src=x onerror=alert(1)>",
    "$\\undefinedmacro{x}$",
    "../../etc/passwd",
    "a\x00b",
    "\u202etxt.exe",
    "é🙂漢字",
    "x" * 10_000,
    "{}",
    "null",
    "NaN",
    "-1",
    "1e309",
    "%s%n%x",
    "\r\n\t",
)


@dataclass(frozen=True)
class Result:
    """What a command did: its exit code and what it printed."""

    rc: int
    out: str
    err: str


def run_main(argv: Sequence[str], cwd: Path, stdin: str | None = None) -> Result:
    """Run ``perfkit ARGV`` in this process (fast): any non-perfkit exception propagates.

    ``SystemExit`` (argparse's usage errors) becomes the exit code; stdin is ``stdin`` or empty, so
    a command that prompts can never block.
    """
    from perfkit.cli.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    old_cwd = os.getcwd()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin or "")
    try:
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(list(argv))
            except SystemExit as exc:
                code = exc.code
                rc = code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        sys.stdin = old_stdin
        os.chdir(old_cwd)
    return Result(int(rc or 0), out.getvalue(), err.getvalue())


def run_cli(
    argv: Sequence[str],
    cwd: Path,
    stdin: str | None = None,
    timeout: float = 300,
    env: dict[str, str] | None = None,
) -> Result:
    """Run ``python -m perfkit ARGV`` in a subprocess, as a user would."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "perfkit", *argv],
        cwd=cwd,
        env=full_env,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def snapshot(paths: Iterable[Path]) -> dict[Path, bytes | None]:
    """The bytes of every file under ``paths`` (files or folders); ``None`` for a missing path."""
    snap: dict[Path, bytes | None] = {}
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for sub in sorted(path.rglob("*")):
                if sub.is_file():
                    snap[sub] = sub.read_bytes()
        elif path.is_file():
            snap[path] = path.read_bytes()
        else:
            snap[path] = None
    return snap


def _temp_leftovers(folders: Iterable[Path]) -> list[Path]:
    found = []
    for folder in folders:
        if folder.is_dir():
            found.extend(
                p
                for p in folder.iterdir()
                if p.name.startswith(".perfkit-tmp-")
                or (p.name.startswith(".") and p.name.endswith(".tmp"))
            )
    return found


def assert_contract(
    result: Result,
    before: dict[Path, bytes | None],
    outputs: Sequence[Path] = (),
    *,
    allowed_rcs: Iterable[int] = (0, 2),
) -> None:
    """Assert the hostile-input contract.

    ``before`` is :func:`snapshot` of the inputs (and of pre-existing outputs) taken before the
    command ran: each must still hold the same bytes. On failure (rc != 0) an output that did not
    exist before must not exist now, and no temp file may be left beside any output.
    """
    allowed = set(allowed_rcs)
    assert result.rc in allowed, f"exit {result.rc} not in {sorted(allowed)}\n{result.err[-3000:]}"
    assert "Traceback (most recent call last)" not in result.err, result.err[-3000:]
    assert "Traceback (most recent call last)" not in result.out, result.out[-3000:]
    if result.rc == 2:
        lines = [ln for ln in result.err.strip().splitlines() if ln.strip()]
        assert lines, "exit 2 without a message on stderr"
    for path, data in before.items():
        if data is None:
            continue
        assert path.exists(), f"input {path} was removed"
        assert path.read_bytes() == data, f"input {path} was changed"
    if result.rc != 0:
        for out in outputs:
            out = Path(out)
            if before.get(out) is None and out not in before:
                assert not out.exists(), f"partial output {out} left after exit {result.rc}"
    leftovers = _temp_leftovers({Path(o).parent for o in outputs} | {Path(o) for o in outputs})
    assert not leftovers, f"temp files left behind: {leftovers}"


# ---- mutations of valid JSON documents -------------------------------------------------------

_WEIRD_VALUES: tuple[Any, ...] = (
    None,
    True,
    "",
    "1.5",
    "<b>x</b>",
    "$\\undefinedmacro{x}$",
    -1,
    0,
    2**70,
    -(2**70),
    1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    [],
    {},
    [1, "a", None],
    {"x": float("nan")},
)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in a JSON document (iterative, so deep documents are fine)."""
    found: list[tuple[Any, ...]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [(prefix, obj)]
    while stack:
        path, value = stack.pop()
        found.append(path)
        if isinstance(value, dict):
            stack.extend((path + (k,), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((path + (i,), v) for i, v in enumerate(value))
    return sorted(found, key=lambda p: (len(p), [str(x) for x in p]))


def _set(doc: Any, path: tuple[Any, ...], value: Any, delete: bool = False) -> Any:
    if not path:
        return value
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        if isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
    else:
        parent[path[-1]] = value
    return doc


def _dump(doc: Any) -> bytes:
    # allow_nan: the point is to feed readers the bare NaN/Infinity that other writers emit.
    return json.dumps(doc, allow_nan=True).encode()


@st.composite
def json_mutations(draw: st.DrawFn, valid: Any) -> bytes:
    """Bytes of ``valid`` (a JSON document) with one hostile change.

    Changes: a value replaced by a wrong type, NaN/inf, a huge or empty value or a hostile string;
    a key deleted; the text truncated; garbage bytes; a different top-level type.
    """
    doc = json.loads(json.dumps(valid))
    paths = _paths(doc)
    kind = draw(
        st.sampled_from(
            ["replace", "replace", "replace", "delete", "truncate", "garbage", "toplevel", "string"]
        )
    )
    if kind == "truncate":
        text = _dump(doc)
        cut = draw(st.integers(0, max(0, len(text) - 1)))
        return text[:cut]
    if kind == "garbage":
        return draw(st.binary(min_size=0, max_size=64))
    if kind == "toplevel":
        return _dump(draw(st.sampled_from([[doc], "text", 1, None, []])))
    path = draw(st.sampled_from(paths))
    if kind == "delete" and path:
        return _dump(_set(doc, path, None, delete=True))
    if kind == "string":
        return _dump(_set(doc, path, draw(st.sampled_from(HOSTILE_STRINGS))))
    return _dump(_set(doc, path, draw(st.sampled_from(_WEIRD_VALUES))))


def is_strict_json(data: bytes | str) -> bool:
    """True when ``data`` parses as JSON with no NaN/Infinity literals."""

    def refuse(token: str) -> float:
        raise ValueError(token)

    try:
        json.loads(data, parse_constant=refuse)
    except ValueError:
        return False
    return True


__all__ = [
    "HOSTILE_SETTINGS",
    "HOSTILE_STRINGS",
    "Result",
    "assert_contract",
    "is_strict_json",
    "json_mutations",
    "run_cli",
    "run_main",
    "snapshot",
]
