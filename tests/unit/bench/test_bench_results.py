from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfkit.bench import Verdict
from perfkit.bench.results import SCHEMA_VERSION, BenchRun, CaseResult
from perfkit.bench.timer import Timing
from perfkit.errors import SchemaError

GOLDEN = Path(__file__).parent / "golden"


def _run(**kw) -> BenchRun:
    ok = CaseResult(
        case="c1",
        id="c1[n=1]",
        group="g",
        params={"n": 1},
        device="cpu",
        status="passed",
        baseline=Timing((0.4, 0.5, 0.6, 0.5, 0.5), 1, 8_000_000),
        candidate=Timing((0.1, 0.1, 0.1, 0.2, 0.1), 2, 2_000_000),
        verdict=Verdict(True, "same", max_abs_error=0.0),
    )
    err = CaseResult(
        case="c2", id="c2", group="g", params={}, device="cpu", status="error", error="boom"
    )
    return BenchRun(
        results=(ok, err),
        datetime="2026-11-26T00:00:00Z",
        duration_s=1.5,
        machine_info={"cpu_model": "X"},
        commit_info={"id": "abc"},
        settings={"device": "cpu", "repeat": 5},
        version="0.1.0",
        **kw,
    )


def test_ratios_are_derived_not_stored() -> None:
    r = _run().results[0]
    assert r.speedup == pytest.approx(5.0)
    assert r.memory_ratio == pytest.approx(4.0)
    assert _run().results[1].speedup is None


def test_memory_ratio_floors_tiny_peaks_at_one_page() -> None:
    r = CaseResult(
        case="c",
        id="c",
        group="g",
        params={},
        device="cpu",
        status="passed",
        baseline=Timing((1.0,) * 5, 1, 8192),
        candidate=Timing((1.0,) * 5, 1, 0),
    )
    assert r.memory_ratio == pytest.approx(2.0)


def test_round_trip_through_json(tmp_path: Path) -> None:
    run = _run()
    path = run.save(tmp_path / "sub" / "r.json")
    loaded = BenchRun.load(path)
    assert loaded == run
    data = json.loads(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION
    assert {"machine_info", "commit_info", "datetime", "version", "results"} <= set(data)
    assert data["results"][0]["baseline"]["median_s"] == 0.5
    assert data["results"][0]["speedup"] == pytest.approx(5.0)


def test_counts_and_failed() -> None:
    run = _run()
    assert run.counts() == {"passed": 1, "failed": 0, "error": 1, "skipped": 0}
    assert [r.id for r in run.failed] == ["c2"]


def test_golden_v1_file_loads() -> None:
    run = BenchRun.load(GOLDEN / "bench_v1.json")
    assert run.results[0].id == "fib_divisible_by_3[n=100]"
    assert run.results[0].status == "passed"
    assert run.results[0].speedup == pytest.approx(1.0 / 1.05, rel=1e-3)


def test_reader_accepts_fields_added_later(tmp_path: Path) -> None:
    data = _run().to_dict()
    data["some_future_field"] = {"x": 1}
    data["results"][0]["another_new_field"] = 3
    p = tmp_path / "r.json"
    p.write_text(json.dumps(data))
    assert BenchRun.load(p).results[0].id == "c1[n=1]"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"kind": "something-else"}', "not a perfkit bench results file"),
        ("[1, 2]", "not a perfkit bench results file"),
        ('{"kind": "perfkit.bench", "schema_version": 99}', "newer than this perfkit reads"),
        ('{"kind": "perfkit.bench", "schema_version": 1}', "results: is missing"),
    ],
)
def test_bad_files_raise_schema_error_naming_the_file(
    tmp_path: Path, content: str, message: str
) -> None:
    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(SchemaError, match=message) as info:
        BenchRun.load(p)
    assert "bad.json" in str(info.value)
    assert info.value.exit_code == 2


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="does not exist"):
        BenchRun.load(tmp_path / "nope.json")


def test_failed_save_keeps_the_previous_file(tmp_path: Path, monkeypatch) -> None:
    p = tmp_path / "r.json"
    p.write_text("previous")

    def explode(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(json, "dumps", explode)
    with pytest.raises(KeyboardInterrupt):
        _run().save(p)
    assert p.read_text() == "previous"
    assert [x.name for x in tmp_path.iterdir()] == ["r.json"]
