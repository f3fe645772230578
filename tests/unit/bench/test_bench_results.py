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


# --- schema validation on load --------------------------------------------------------------------


def _write(tmp_path: Path, doc: dict, allow_nan: bool = False) -> Path:
    p = tmp_path / "odd.json"
    p.write_text(json.dumps(doc, allow_nan=allow_nan))
    return p


def _mutate(path: tuple, value) -> dict:
    doc = _run().to_dict()
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("results", 0, "baseline", "times_s"), [], "results[0].baseline.times_s"),
        (("results", 0, "baseline", "times_s"), [0, 0, 0], "results[0].baseline.times_s"),
        (("results", 0, "baseline", "times_s"), ["0.4"] * 5, "results[0].baseline.times_s[0]"),
        (("results", 0, "baseline", "times_s"), "fast", "results[0].baseline.times_s"),
        (("results", 0, "candidate", "peak_bytes"), "2 MB", "results[0].candidate.peak_bytes"),
        (("results", 0, "candidate", "number"), 1.5, "results[0].candidate.number"),
        (("results", 0, "candidate"), KeyError, "results[0].candidate: is missing"),
        (("results", 0, "status"), "great", "results[0].status"),
        (("results", 0, "verdict", "ok"), "yes", "results[0].verdict.ok"),
        (("results", 0, "verdict", "figures"), {"x": "1"}, "results[0].verdict.figures.x"),
        (("results", 0, "case"), KeyError, "results[0].case: is missing"),
        (("results",), {}, "results: must be a list"),
        (("datetime",), 5, "datetime"),
        (("machine_info",), [], "machine_info"),
        (("duration_s",), -1, "duration_s"),
        (("schema_version",), True, "schema_version"),
    ],
)
def test_malformed_fields_are_refused_naming_file_and_field(tmp_path, path, value, field) -> None:
    p = _write(tmp_path, _mutate(path, value))
    with pytest.raises(SchemaError) as info:
        BenchRun.load(p)
    assert "odd.json" in str(info.value) and field in str(info.value)
    assert info.value.exit_code == 2


def test_nan_in_a_file_is_refused(tmp_path) -> None:
    p = _write(tmp_path, _mutate(("results", 0, "baseline", "times_s"), [float("nan")] * 5), True)
    with pytest.raises(SchemaError, match="odd.json holds a non-finite number"):
        BenchRun.load(p)


def test_newer_schema_is_refused(tmp_path) -> None:
    p = _write(tmp_path, _mutate(("schema_version",), SCHEMA_VERSION + 1))
    with pytest.raises(SchemaError, match="newer than this perfkit reads"):
        BenchRun.load(p)


def test_load_many_skips_and_lists_bad_files(tmp_path) -> None:
    from perfkit.bench.results import load_many

    _run().save(tmp_path / "good.json")
    (tmp_path / "bad.json").write_text("{")
    runs, skipped = load_many([tmp_path])
    assert [p.name for p, _ in runs] == ["good.json"]
    assert [p.name for p, _ in skipped] == ["bad.json"] and "bad.json" in skipped[0][1]


def test_memory_per_allocator_round_trips_and_is_listed(tmp_path) -> None:
    from perfkit.bench.timer import MemoryPeak

    mem = MemoryPeak({"tracemalloc": 100, "torch_cpu": 40_000_000}, 39_000_000)
    base = Timing((0.4,) * 5, 1, mem.total_bytes, mem)
    run = _run()
    first = CaseResult(**{**run.results[0].__dict__, "baseline": base})
    run = run.with_results((first, run.results[1]))
    data = run.to_dict()
    assert data["results"][0]["allocators_seen"] == ["tracemalloc", "torch_cpu"]
    assert data["allocators_seen"] == ["tracemalloc", "torch_cpu"]
    assert data["results"][0]["baseline"]["memory"]["rss_hwm_bytes"] == 39_000_000
    assert BenchRun.load(run.save(tmp_path / "r.json")) == run


# --- the pytest-benchmark view ----------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 5, 6, 7, 8, 15])
def test_benchmark_stats_match_pytest_benchmark(n) -> None:
    stats_mod = pytest.importorskip("pytest_benchmark.stats")
    import random

    data = [random.Random(n).uniform(1e-4, 5e-4) for _ in range(n)]
    ref = stats_mod.Stats()
    for x in data:
        ref.update(x)
    from perfkit.bench.results import benchmark_stats

    ours = benchmark_stats(data)
    for field in stats_mod.Stats.fields:
        if field == "total":
            continue
        assert ours[field] == pytest.approx(getattr(ref, field)), field


def test_results_file_has_a_pytest_benchmark_list() -> None:
    data = _run().to_dict()
    entries = data["benchmarks"]
    assert [e["name"] for e in entries] == ["c1[n=1]-cpu-baseline", "c1[n=1]-cpu-candidate"]
    assert {e["group"] for e in entries} == {"c1[n=1]-cpu"}
    assert entries[0]["params"] == {"n": 1, "device": "cpu", "side": "baseline"}
    assert entries[0]["stats"]["median"] == 0.5 and entries[0]["stats"]["rounds"] == 5
    assert entries[1]["stats"]["iterations"] == 2
    assert all(e["fullname"].startswith("perfkit bench::c1::") for e in entries)
