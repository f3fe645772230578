"""Hostile input for ``perfkit diff``: mutated profile.json files and bad arguments.

Every run ends in exit 0, 1 (only the ``--fail-if-slower`` gate) or 2, with no traceback and
both inputs' bytes unchanged; a file that was not refused is strict JSON that perfkit reads
back (so a NaN can never reach the ``--fail-if-slower`` comparison).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _harness import (
    HOSTILE_SETTINGS,
    HOSTILE_STRINGS,
    assert_contract,
    is_strict_json,
    json_mutations,
    run_main,
    snapshot,
)
from hypothesis import given
from hypothesis import strategies as st

from perfkit.profiling.model import FrameNode, FunctionStat, MemoryReport, Profile, ThreadTree


def valid_profile() -> Profile:
    work = FrameNode("work", "/src/a.py", 3, 0.8, 0.8, 0.7, 0.7, 80)
    main = FrameNode("<module>", "/src/a.py", 1, 1.0, 0.2, 0.9, 0.2, 100, (work,))
    root = FrameNode("MainThread", "", 0, 1.0, 0.0, 0.9, 0.0, 100, (main,))
    return Profile(
        program="a.py",
        kind="script",
        argv=("a.py", "--n", "3"),
        cwd="/src",
        modes=("sampling", "memory"),
        started_at="2026-01-01T00:00:00Z",
        wall_s=1.0,
        cpu_s=0.9,
        interval_s=0.001,
        sample_count=100,
        threads=(ThreadTree(1, "MainThread", root),),
        functions=(
            FunctionStat("work", "/src/a.py", 3, 0.8, 0.8, 0.7, 0.7, samples=80, user_code=True),
            FunctionStat("<module>", "/src/a.py", 1, 0.2, 1.0, samples=100, user_code=True),
        ),
        memory=MemoryReport(10_000_000, 30_000_000, 20_000_000, ((0.0, 10_000_000),)),
    )


VALID = valid_profile().to_dict()


@pytest.fixture(scope="module")
def before_file(tmp_path_factory) -> Path:
    return valid_profile().save(tmp_path_factory.mktemp("diff") / "before.json")


@HOSTILE_SETTINGS
@given(data=json_mutations(VALID), gate=st.booleans(), first=st.booleans())
def test_mutated_profile_json(tmp_path_factory, before_file, data, gate, first):
    folder = tmp_path_factory.mktemp("case")
    mutated = folder / "mutated.json"
    mutated.write_bytes(data)
    pair = [str(mutated), str(before_file)] if first else [str(before_file), str(mutated)]
    argv = ["diff", *pair] + (["--fail-if-slower", "5"] if gate else [])
    snap = snapshot([mutated, before_file])
    result = run_main(argv, cwd=folder)
    assert_contract(result, snap, allowed_rcs=(0, 1, 2) if gate else (0, 2))
    if result.rc == 2:
        assert "mutated.json" in result.err
    else:
        assert is_strict_json(data)
        Profile.load(mutated)  # what diff accepted reads back cleanly


@HOSTILE_SETTINGS
@given(
    name=st.sampled_from(HOSTILE_STRINGS),
    extra=st.sampled_from(
        [
            [],
            ["--top", "-1"],
            ["--top", "0"],
            ["--fail-if-slower", "-5"],
            ["--fail-if-slower", "inf"],
            ["--fail-if-slower", "nan"],
            ["--top", "x"],
        ]
    ),
)
def test_hostile_paths_and_options(tmp_path_factory, before_file, name, extra):
    folder = tmp_path_factory.mktemp("args")
    snap = snapshot([before_file])
    result = run_main(["diff", str(before_file), name, *extra], cwd=folder)
    assert_contract(result, snap)
    assert result.rc == 2


def test_existing_directory_and_same_file(tmp_path, before_file):
    snap = snapshot([before_file])
    assert_contract(run_main(["diff", str(before_file), str(tmp_path)], cwd=tmp_path), snap)
    same = run_main(["diff", str(before_file), str(before_file)], cwd=tmp_path)
    assert_contract(same, snap)
    assert same.rc == 0
    assert json.loads(before_file.read_text())["profile"]["wall_s"] == 1.0
    nul = run_main(["diff", str(before_file), "a\x00b.json"], cwd=tmp_path)
    assert_contract(nul, snap)
    assert nul.rc == 2
