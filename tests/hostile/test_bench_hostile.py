"""``perfkit bench --compare`` under hostile input: mutated results files, bad outputs.

A saved results file is written once by a real (in-process) run of one small case; each example
mutates it (wrong types, NaN/inf, string figures, empty or zero samples, deleted keys,
truncation, garbage) and runs ``bench --compare`` in-process:

- one mutated *file*: exit 0/3 when it is still a valid results file (a mutated timing may make
  the run look slower), else exit 2 naming the file; never a traceback, the input unchanged;
- a *folder* holding a valid file and the mutated one: never exit 2 for the odd file; when it is
  invalid it is skipped and listed on stderr;
- an ``--out`` that is an existing directory or the compared file: exit 2 before any work.
"""

from __future__ import annotations

import json

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

from perfkit.bench.results import load_results
from perfkit.errors import SchemaError

CASE = ["bench", "-k", "small_sequence", "--repeat", "5"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("saved")
    result = run_main([*CASE, "--out", str(folder / "run.json")], cwd=folder)
    assert result.rc == 0, result.err
    return json.loads((folder / "run.json").read_text())


def _valid_doc() -> dict:
    # The strategy needs the document at collection time; a fixture's file is not ready then,
    # so mutate a template and fill in this machine's identity inside each test.
    from perfkit._env import machine_info

    return {
        "kind": "perfkit.bench",
        "schema_version": 2,
        "version": "0.1.0",
        "datetime": "2026-11-26T00:00:00Z",
        "duration_s": 0.5,
        "machine_info": dict(machine_info()),
        "gpu_info": None,
        "commit_info": {"id": "abc", "branch": "main", "dirty": False, "time": ""},
        "settings": {"device": "cpu", "repeat": 5},
        "results": [
            {
                "case": "small_sequence_literal",
                "id": "small_sequence_literal",
                "group": "playbook",
                "params": {},
                "device": "cpu",
                "status": "passed",
                "description": "d",
                "baseline_label": "list",
                "candidate_label": "tuple",
                "baseline": {
                    "median_s": 1e-7,
                    "min_s": 1e-7,
                    "max_s": 1e-7,
                    "times_s": [1e-7, 1e-7, 1e-7, 1e-7, 1e-7],
                    "number": 20000,
                    "peak_bytes": 200,
                    "memory": {
                        "allocators": {"tracemalloc": 200},
                        "seen": ["tracemalloc"],
                        "rss_hwm_bytes": 0,
                        "notes": [],
                    },
                },
                "candidate": {
                    "median_s": 3e-8,
                    "min_s": 3e-8,
                    "max_s": 3e-8,
                    "times_s": [3e-8, 3e-8, 3e-8, 3e-8, 3e-8],
                    "number": 50000,
                    "peak_bytes": 0,
                    "memory": None,
                },
                "speedup": 3.3,
                "memory_ratio": 1.0,
                "verdict": {
                    "ok": True,
                    "detail": "same",
                    "max_abs_error": None,
                    "max_rel_error": None,
                    "agreement": 1.0,
                    "figures": {},
                },
                "error": None,
            }
        ],
    }


VALID = _valid_doc()


@HOSTILE_SETTINGS
@given(data=json_mutations(VALID))
def test_compare_with_a_mutated_results_file(tmp_path_factory, saved, data) -> None:
    folder = tmp_path_factory.mktemp("one")
    odd = folder / "odd.json"
    odd.write_bytes(data)
    snap = snapshot([odd])
    result = run_main([*CASE, "--no-save", "--compare", str(odd)], cwd=folder)
    assert_contract(result, snap, allowed_rcs=(0, 2, 3))
    if result.rc == 2:
        assert "odd.json" in result.err or "no case in common" in result.err
    else:
        assert is_strict_json(data)
        load_results(odd)  # what --compare accepted reads back cleanly


@HOSTILE_SETTINGS
@given(data=json_mutations(VALID))
def test_compare_with_a_folder_skips_and_lists_a_bad_file(tmp_path_factory, saved, data) -> None:
    folder = tmp_path_factory.mktemp("dir")
    results = folder / "results"
    results.mkdir()
    (results / "a-good.json").write_text(json.dumps(saved))
    odd = results / "b-odd.json"
    odd.write_bytes(data)
    snap = snapshot([results])
    result = run_main([*CASE, "--no-save", "--compare", str(results)], cwd=folder)
    assert_contract(result, snap, allowed_rcs=(0, 3))
    try:
        load_results(odd)
    except SchemaError:
        assert "skipped invalid results file" in result.err and "b-odd.json" in result.err


@pytest.mark.parametrize("value", ["fast", [], {}, None, -1, 0, True])
def test_string_or_odd_sample_times_are_refused_naming_the_field(tmp_path, value) -> None:
    doc = json.loads(json.dumps(VALID))
    doc["results"][0]["baseline"]["times_s"] = value
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps(doc))
    result = run_main([*CASE, "--no-save", "--compare", str(odd)], cwd=tmp_path)
    assert result.rc == 2 and "Traceback" not in result.err
    assert "odd.json" in result.err and "results[0].baseline.times_s" in result.err


@pytest.mark.parametrize("times", [[0, 0, 0, 0, 0], [float("nan")] * 5, ["1e-7"] * 5])
def test_all_zero_nan_or_string_samples_are_refused(tmp_path, times) -> None:
    doc = json.loads(json.dumps(VALID))
    doc["results"][0]["candidate"]["times_s"] = times
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps(doc, allow_nan=True))
    result = run_main([*CASE, "--no-save", "--compare", str(odd)], cwd=tmp_path)
    assert result.rc == 2 and "odd.json" in result.err and "Traceback" not in result.err


@given(name=st.sampled_from(HOSTILE_STRINGS))
@HOSTILE_SETTINGS
def test_hostile_case_ids_in_a_saved_file_never_crash(tmp_path_factory, saved, name) -> None:
    folder = tmp_path_factory.mktemp("ids")
    doc = json.loads(json.dumps(saved))
    doc["results"].append({**doc["results"][0], "id": name, "case": name or "x"})
    odd = folder / "ids.json"
    odd.write_text(json.dumps(doc))
    snap = snapshot([odd])
    result = run_main([*CASE, "--no-save", "--compare", str(odd)], cwd=folder)
    assert_contract(result, snap, allowed_rcs=(0, 3))


def test_out_an_existing_directory_is_exit_2_before_running(tmp_path) -> None:
    (tmp_path / "out").mkdir()
    result = run_main([*CASE, "--out", str(tmp_path / "out")], cwd=tmp_path)
    assert result.rc == 2 and "existing directory" in result.err
    assert list((tmp_path / "out").iterdir()) == []
    assert "passed" not in result.err  # refused before any case ran


def test_out_equal_to_the_compared_file_is_refused(tmp_path, saved) -> None:
    f = tmp_path / "saved.json"
    f.write_text(json.dumps(saved))
    snap = snapshot([f])
    result = run_main([*CASE, "--compare", str(f), "--out", str(f)], cwd=tmp_path)
    assert_contract(result, snap)
    assert result.rc == 2 and "is the input" in result.err


def test_results_from_another_machine_are_refused_unless_allowed(tmp_path, saved) -> None:
    doc = json.loads(json.dumps(saved))
    doc["machine_info"]["cpu_model"] = "Some Other CPU"
    f = tmp_path / "other.json"
    f.write_text(json.dumps(doc))
    refused = run_main([*CASE, "--no-save", "--compare", str(f)], cwd=tmp_path)
    assert refused.rc == 2 and "another machine" in refused.err
    assert "--allow-other-machine" in refused.err
    allowed = run_main(
        [*CASE, "--no-save", "--compare", str(f), "--allow-other-machine"], cwd=tmp_path
    )
    assert allowed.rc in (0, 3), allowed.err
