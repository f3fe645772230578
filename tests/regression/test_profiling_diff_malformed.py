"""Issue 11: ``perfkit diff`` on a profile.json whose fields have the wrong types crashed with a
traceback (``wall_s`` a string or null, ``functions`` holding non-objects), and ``wall_s: NaN``
passed ``--fail-if-slower``. Each file is now validated against ``profile.schema.json`` before
use: the file is named, exit 2, no traceback. profile.json is written strictly (no bare NaN)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from perfkit.cli.__main__ import main
from perfkit.profiling.model import (
    SCHEMA_VERSION,
    FrameNode,
    FunctionStat,
    Profile,
    ThreadTree,
    to_json,
)


def small_profile(wall_s: float = 1.0) -> Profile:
    leaf = FrameNode("work", "/src/a.py", 3, wall_s, wall_s, wall_s, wall_s, 10)
    root = FrameNode("MainThread", "", 0, wall_s, 0.0, wall_s, 0.0, 10, (leaf,))
    return Profile(
        program="a.py",
        kind="script",
        argv=("a.py",),
        cwd="/src",
        modes=("sampling",),
        started_at="2026-01-01T00:00:00Z",
        wall_s=wall_s,
        cpu_s=wall_s,
        threads=(ThreadTree(1, "MainThread", root),),
        functions=(FunctionStat("work", "/src/a.py", 3, wall_s, wall_s, samples=10),),
    )


def _write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc, allow_nan=True))
    return path


def _mutated(tmp_path: Path, change) -> Path:
    doc = small_profile().to_dict()
    change(doc)
    return _write(tmp_path / "after.json", doc)


CASES = {
    "wall_s string": lambda d: d["profile"].__setitem__("wall_s", "1.0"),
    "wall_s null": lambda d: d["profile"].__setitem__("wall_s", None),
    "wall_s NaN": lambda d: d["profile"].__setitem__("wall_s", float("nan")),
    "wall_s Infinity": lambda d: d["profile"].__setitem__("wall_s", float("inf")),
    "wall_s negative": lambda d: d["profile"].__setitem__("wall_s", -1.0),
    "functions non-objects": lambda d: d["profile"].__setitem__("functions", [1, "x", None]),
    "function self_s string": lambda d: d["profile"]["functions"][0].__setitem__("self_s", "1"),
    "missing functions": lambda d: d["profile"].pop("functions"),
    "missing wall_s": lambda d: d["profile"].pop("wall_s"),
    "newer version": lambda d: d.__setitem__("schema_version", SCHEMA_VERSION + 1),
    "bool version": lambda d: d.__setitem__("schema_version", True),
    "threads not a list": lambda d: d["profile"].__setitem__("threads", {"a": 1}),
    "node parent out of order": lambda d: d["profile"]["threads"][0]["nodes"][0].__setitem__(
        "parent", 1
    ),
    "memory empty object": lambda d: d["profile"].__setitem__("memory", {}),
    "hint not an object": lambda d: d["profile"].__setitem__("hints", ["fix it"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_profile_is_named_and_refused(tmp_path, capsys, case):
    before = small_profile().save(tmp_path / "before.json")
    after = _mutated(tmp_path, CASES[case])
    rc = main(["diff", str(before), str(after), "--fail-if-slower", "5"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "after.json" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_nan_wall_never_passes_fail_if_slower(tmp_path, capsys):
    before = small_profile().save(tmp_path / "before.json")
    for value in ("NaN", "Infinity", "-Infinity"):
        text = to_json(small_profile()).replace('"wall_s": 1.0', f'"wall_s": {value}', 1)
        assert value in text
        (tmp_path / "after.json").write_text(text)
        assert (
            main(["diff", str(before), str(tmp_path / "after.json"), "--fail-if-slower", "5"]) == 2
        )
        assert (
            main(["diff", str(tmp_path / "after.json"), str(before), "--fail-if-slower", "5"]) == 2
        )
    capsys.readouterr()


def test_fail_if_slower_still_gates_a_valid_regression(tmp_path, capsys):
    before = small_profile(1.0).save(tmp_path / "before.json")
    after = small_profile(1.5).save(tmp_path / "after.json")
    assert main(["diff", str(before), str(after), "--fail-if-slower", "10"]) == 1
    assert main(["diff", str(before), str(after), "--fail-if-slower", "60"]) == 0
    assert main(["diff", str(before), str(after), "--fail-if-slower", "nan"]) == 2
    capsys.readouterr()


def test_profile_json_is_written_strictly(tmp_path):
    path = replace(small_profile(), cpu_s=float("nan")).save(tmp_path / "p.json")

    def refuse(token: str) -> float:
        raise ValueError(token)

    doc = json.loads(path.read_text(), parse_constant=refuse)
    assert doc["profile"]["cpu_s"] is None
    assert Profile.load(path).cpu_s is None


def test_a_directory_or_deeply_nested_file_is_refused(tmp_path, capsys):
    before = small_profile().save(tmp_path / "before.json")
    assert main(["diff", str(before), str(tmp_path)]) == 2
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    assert main(["diff", str(before), str(tmp_path / "deep.json")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "deep.json" in err
