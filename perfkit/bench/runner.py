"""Run selected cases: make inputs, check the candidate against the baseline, time both sides."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from perfkit import __version__
from perfkit._env import commit_info, gpu_info, machine_info, utc_now_iso
from perfkit.bench import registry
from perfkit.bench.case import DEVICES, Case, SkipCase, Verdict, case_id
from perfkit.bench.results import BenchRun, CaseResult
from perfkit.bench.timer import MIN_REPEAT, time_pair
from perfkit.errors import DeviceUnavailableError, UsageError

#: Called after each grid point with (done, total, result) — the CLI draws its progress bar here.
Progress = Callable[[int, int, CaseResult], None]


def require_device(device: str) -> None:
    """Raise a clear UsageError for an unknown device, or for CUDA on a machine without it."""
    if device not in DEVICES:
        raise UsageError(f"unknown device {device!r}", f"use one of: {', '.join(DEVICES)}")
    if device == "cuda":
        try:
            import torch
        except ImportError:
            raise DeviceUnavailableError(
                "--device cuda needs PyTorch with CUDA, and torch is not installed",
                "pip install 'perfkit[ml]' on a machine with a GPU",
            ) from None
        if not torch.cuda.is_available():
            raise DeviceUnavailableError(
                "--device cuda asked for, but CUDA is not available on this machine",
                "run on a machine with an NVIDIA GPU, or use --device cpu",
            )


def run_point(case: Case, params: dict, device: str, repeat: int) -> CaseResult:
    """Run one grid point of one case on one device; any exception becomes an ``error`` result."""
    common = dict(
        case=case.name,
        id=case_id(case.name, params),
        group=case.group,
        params=params,
        device=device,
        description=case.description,
        baseline_label=case.baseline_label,
        candidate_label=case.candidate_label,
    )
    if device not in case.devices:
        return CaseResult(status="skipped", error=f"no {device} form of this case", **common)
    stage = "make_inputs"
    try:
        inputs = case.make_inputs({**params, "device": device})
        stage = "baseline"
        base_out = case.baseline(inputs)
        stage = "candidate"
        cand_out = case.candidate(inputs)
        stage = "check"
        verdict = case.check(base_out, cand_out)
        if not isinstance(verdict, Verdict):
            raise TypeError(f"check returned {type(verdict).__name__}, expected a Verdict")
        del base_out, cand_out
        stage = "timing"
        base_t, cand_t = time_pair(
            case.baseline,
            case.candidate,
            inputs,
            repeat=max(repeat, case.repeat or 0, MIN_REPEAT),
            warmup=0,  # the check's calls above were the warm-up
            device=device,
        )
    except SkipCase as exc:
        return CaseResult(status="skipped", error=f"{stage}: {exc}", **common)
    except Exception as exc:  # a failing case is reported; the run goes on
        last = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(last.filename).name}:{last.lineno}"
        return CaseResult(
            status="error",
            error=f"{stage}: {type(exc).__name__}: {exc} ({where})",
            **common,
        )
    return CaseResult(
        status="passed" if verdict.ok else "failed",
        baseline=base_t,
        candidate=cand_t,
        verdict=verdict,
        **common,
    )


def run_cases(
    cases: Sequence[Case],
    *,
    device: str = "cpu",
    repeat: int = MIN_REPEAT,
    progress: Progress | None = None,
    pattern: str | None = None,
    quick: bool = False,
) -> BenchRun:
    """Run every grid point of ``cases`` on ``device`` and return the whole run.

    Raises
    ------
    UsageError
        ``cases`` is empty, ``repeat`` < 5, or the device is unknown or absent.
    """
    require_device(device)
    if repeat < MIN_REPEAT:
        raise UsageError(f"--repeat must be at least {MIN_REPEAT}, got {repeat}")
    if not cases:
        raise UsageError(
            f"no case matches {pattern!r}" if pattern else "no cases to run",
            "list them with 'perfkit bench --list'",
        )
    points = [(c, p) for c in cases for p in c.grid(quick)]
    started = time.perf_counter()
    when = utc_now_iso()
    results: list[CaseResult] = []
    for i, (c, p) in enumerate(points, 1):
        res = run_point(c, p, device, repeat)
        results.append(res)
        if progress is not None:
            progress(i, len(points), res)
    return BenchRun(
        results=tuple(results),
        datetime=when,
        duration_s=time.perf_counter() - started,
        machine_info=machine_info(),
        commit_info=commit_info(),
        settings={
            "device": device,
            "repeat": repeat,
            "pattern": pattern,
            "quick": quick,
            "unavailable_modules": registry.unavailable(),
        },
        gpu_info=gpu_info() if device == "cuda" else None,
        version=__version__,
    )


def default_results_path(run: BenchRun, root: str | Path = "reports/bench") -> Path:
    """``reports/bench/<UTC timestamp>-<device>-<short commit>.json``."""
    stamp = run.datetime.replace(":", "").replace("-", "").rstrip("Z")
    commit = (run.commit_info.get("id") or "nogit")[:8]
    return Path(root) / f"{stamp}-{run.device}-{commit}.json"
