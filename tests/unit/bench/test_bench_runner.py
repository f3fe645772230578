from __future__ import annotations

import pytest

from perfkit.bench import Case, SkipCase, Verdict
from perfkit.bench.runner import default_results_path, require_device, run_cases, run_point
from perfkit.errors import DeviceUnavailableError, UsageError


def _case(name: str, *, baseline=None, candidate=None, check=None, **kw) -> Case:
    return Case(
        name=name,
        group="t",
        make_inputs=lambda p: p.get("n", 10),
        baseline=baseline or (lambda n: sum(range(n))),
        candidate=candidate or (lambda n: n * (n - 1) // 2),
        check=check or (lambda b, c: Verdict(b == c, f"{b} vs {c}")),
        **kw,
    )


def test_passing_case_has_both_timings_and_verdict() -> None:
    r = run_point(_case("ok"), {"n": 100}, "cpu", 5)
    assert r.status == "passed"
    assert len(r.baseline.times_s) == len(r.candidate.times_s) == 5
    assert r.verdict.ok and r.id == "ok[n=100]"
    assert r.baseline.peak_bytes is not None


def test_wrong_answer_is_failed_whatever_its_speed() -> None:
    r = run_point(_case("wrong", candidate=lambda n: 0), {"n": 100}, "cpu", 5)
    assert r.status == "failed"
    assert not r.verdict.ok


def test_raising_side_is_an_error_naming_the_stage_and_the_run_goes_on() -> None:
    def boom(n):
        raise RuntimeError("kaput")

    cases = [_case("a_boom", candidate=boom), _case("b_fine")]
    run = run_cases(cases, repeat=5)
    assert [r.status for r in run.results] == ["error", "passed"]
    assert "candidate: RuntimeError: kaput" in run.results[0].error
    assert run.failed == [run.results[0]]


def test_check_returning_something_else_is_an_error() -> None:
    r = run_point(_case("badcheck", check=lambda b, c: True), {}, "cpu", 5)
    assert r.status == "error" and "expected a Verdict" in r.error


def test_case_without_the_device_is_skipped() -> None:
    r = run_point(_case("cpu_only"), {}, "cuda", 5)
    assert r.status == "skipped" and "no cuda form" in r.error


def test_a_case_that_cannot_run_here_is_skipped_with_its_reason_not_an_error() -> None:
    def needs_wheel(p):
        raise SkipCase("needs onnxruntime-gpu, which is not installed")

    cases = [
        Case(
            name="a_gpu_wheel",
            group="t",
            make_inputs=needs_wheel,
            baseline=lambda x: x,
            candidate=lambda x: x,
            check=lambda b, c: Verdict(True),
        ),
        _case("b_fine"),
    ]
    run = run_cases(cases, repeat=5)
    assert [r.status for r in run.results] == ["skipped", "passed"]
    assert "needs onnxruntime-gpu" in run.results[0].error
    assert run.failed == []


def test_make_inputs_receives_the_device() -> None:
    seen = []
    c = Case(
        name="dev",
        group="t",
        make_inputs=lambda p: seen.append(p) or 1,
        baseline=lambda x: x,
        candidate=lambda x: x,
        check=lambda b, c: Verdict(True),
    )
    run_point(c, {"n": 2}, "cpu", 5)
    assert seen == [{"n": 2, "device": "cpu"}]


def test_empty_selection_and_bad_repeat_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="no case matches 'zzz'"):
        run_cases([], pattern="zzz")
    with pytest.raises(UsageError, match="at least 5"):
        run_cases([_case("x")], repeat=2)


def test_devices() -> None:
    require_device("cpu")
    with pytest.raises(UsageError, match="unknown device 'tpu'"):
        require_device("tpu")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceUnavailableError, match="CUDA is not available"):
            require_device("cuda")


def test_run_metadata_and_results_path() -> None:
    run = run_cases([_case("meta")], repeat=5)
    assert run.settings["device"] == "cpu"
    assert run.machine_info["cpu_count"] >= 1
    assert run.datetime.endswith("Z")
    p = default_results_path(run)
    assert p.parent.as_posix() == "reports/bench"
    assert "-cpu-" in p.name and p.suffix == ".json"
