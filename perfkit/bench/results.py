"""The results of one ``perfkit bench`` run: a frozen model that owns its JSON form.

The file is a pytest-benchmark file as well as perfkit's: its top level has pytest-benchmark's
``machine_info``, ``commit_info``, ``datetime``, ``version`` and a ``benchmarks`` list (one entry
per side of each timed case, with ``group``, ``name``, ``fullname``, ``params`` and ``stats``), so
``pytest-benchmark compare FILE`` reads it. perfkit's own fields (``kind``, ``schema_version``,
``results``) sit beside them; units live in key names.

Every file is validated before use (:func:`validate`): wrong types, NaN or infinite figures,
figures written as strings, empty or all-zero sample times, missing keys and newer schema
versions raise :class:`~perfkit.errors.SchemaError` naming the file and the field. Readers accept
fields added later.
"""

from __future__ import annotations

import json
import math
import os
import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from perfkit._atomic import atomic_write_text, dumps_strict
from perfkit.bench.case import DEVICES, Verdict
from perfkit.bench.timer import ALLOCATORS, Timing
from perfkit.errors import SchemaError

#: 2: per-allocator peak memory (``memory``) on each side, a pytest-benchmark ``benchmarks`` list.
SCHEMA_VERSION = 2
KIND = "perfkit.bench"

STATUSES = ("passed", "failed", "error", "skipped")


@dataclass(frozen=True)
class CaseResult:
    """One grid point of one case on one device: both sides' timings and the check's verdict.

    ``status`` is ``passed`` (check ok), ``failed`` (check not ok — whatever the speed),
    ``error`` (a side or the check raised; ``error`` says what) or ``skipped`` (``error`` says why).
    """

    case: str
    id: str
    group: str
    params: Mapping[str, Any]
    device: str
    status: str
    baseline: Timing | None = None
    candidate: Timing | None = None
    verdict: Verdict | None = None
    error: str | None = None
    description: str = ""
    baseline_label: str = "baseline"
    candidate_label: str = "candidate"

    def _repr_html_(self) -> str:
        """The notebook view: the report as HTML (see :mod:`perfkit.display`)."""
        from perfkit.display import repr_html

        return repr_html(self)

    def __repr__(self) -> str:
        from perfkit.display import short_repr

        return short_repr(self)

    @property
    def speedup(self) -> float | None:
        """Baseline median time over candidate median time (>1 means the candidate is faster)."""
        if self.baseline is None or self.candidate is None or self.candidate.median_s <= 0:
            return None
        return self.baseline.median_s / self.candidate.median_s

    @property
    def memory_ratio(self) -> float | None:
        """Baseline peak bytes over candidate peak bytes (>1 means the candidate uses less)."""
        if self.baseline is None or self.candidate is None:
            return None
        b, c = self.baseline.peak_bytes, self.candidate.peak_bytes
        if b is None or c is None:
            return None
        # A side that allocates (almost) nothing: compare against one page, not zero.
        return max(b, 4096) / max(c, 4096)

    @property
    def allocators_seen(self) -> list[str]:
        """Allocators either side's peak came from (``tracemalloc``, ``torch_cpu``, ``cuda``)."""
        seen: set[str] = set()
        for side in (self.baseline, self.candidate):
            if side is not None and side.memory is not None:
                seen.update(side.memory.seen)
        return [a for a in ALLOCATORS if a in seen]

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "id": self.id,
            "group": self.group,
            "params": {k: _jsonable(v) for k, v in self.params.items()},
            "device": self.device,
            "status": self.status,
            "description": self.description,
            "baseline_label": self.baseline_label,
            "candidate_label": self.candidate_label,
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "candidate": self.candidate.to_dict() if self.candidate else None,
            "speedup": self.speedup,
            "memory_ratio": self.memory_ratio,
            "allocators_seen": self.allocators_seen,
            "verdict": self.verdict.to_dict() if self.verdict else None,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CaseResult:
        return cls(
            case=str(data["case"]),
            id=str(data.get("id", data["case"])),
            group=str(data.get("group", "")),
            params=dict(data.get("params") or {}),
            device=str(data.get("device", "cpu")),
            status=str(data["status"]),
            baseline=Timing.from_dict(data["baseline"]) if data.get("baseline") else None,
            candidate=Timing.from_dict(data["candidate"]) if data.get("candidate") else None,
            verdict=Verdict.from_dict(data["verdict"]) if data.get("verdict") else None,
            error=data.get("error"),
            description=str(data.get("description", "")),
            baseline_label=str(data.get("baseline_label", "baseline")),
            candidate_label=str(data.get("candidate_label", "candidate")),
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


@dataclass(frozen=True)
class BenchRun:
    """Every case result of one run, with the machine, versions and commit it ran on."""

    results: tuple[CaseResult, ...]
    datetime: str
    duration_s: float
    machine_info: Mapping[str, Any]
    commit_info: Mapping[str, Any]
    settings: Mapping[str, Any] = field(default_factory=dict)
    gpu_info: Mapping[str, Any] | None = None
    version: str = ""
    schema_version: int = SCHEMA_VERSION

    def _repr_html_(self) -> str:
        """The notebook view: the report as HTML (see :mod:`perfkit.display`)."""
        from perfkit.display import repr_html

        return repr_html(self)

    def __repr__(self) -> str:
        from perfkit.display import short_repr

        return short_repr(self)

    @property
    def failed(self) -> list[CaseResult]:
        """Results whose check failed or that raised."""
        return [r for r in self.results if r.status in ("failed", "error")]

    @property
    def device(self) -> str:
        return str(self.settings.get("device", "cpu"))

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "schema_version": self.schema_version,
            "version": self.version,
            "datetime": self.datetime,
            "duration_s": self.duration_s,
            "machine_info": dict(self.machine_info),
            "gpu_info": dict(self.gpu_info) if self.gpu_info else None,
            "commit_info": dict(self.commit_info),
            "settings": dict(self.settings),
            "allocators_seen": sorted(
                {a for r in self.results for a in r.allocators_seen}, key=ALLOCATORS.index
            ),
            "results": [r.to_dict() for r in self.results],
            "benchmarks": pytest_benchmark_entries(self.results),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<data>") -> BenchRun:
        """Build a run from a decoded results file; anything malformed raises SchemaError."""
        data = _upgrade(data, source)
        validate(data, source)
        try:
            return cls(
                results=tuple(CaseResult.from_dict(r) for r in data["results"]),
                datetime=str(data["datetime"]),
                duration_s=float(data.get("duration_s", 0.0)),
                machine_info=dict(data.get("machine_info") or {}),
                commit_info=dict(data.get("commit_info") or {}),
                settings=dict(data.get("settings") or {}),
                gpu_info=data.get("gpu_info"),
                version=str(data.get("version", "")),
                schema_version=SCHEMA_VERSION,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(
                f"{source} is not a valid perfkit bench results file (bad field: {exc})",
                "re-run 'perfkit bench' to write a fresh one",
            ) from None

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the run as JSON, atomically (an interrupted write leaves no half file)."""
        return atomic_write_text(path, dumps_strict(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BenchRun:
        """Read a results file; a missing, corrupt, foreign or newer file raises SchemaError."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SchemaError(f"results file {p} does not exist", "check the path") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SchemaError(f"cannot read results file {p}: {exc}") from None
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except _NonFinite as exc:
            raise SchemaError(
                f"{p} holds a non-finite number ({exc}); results files hold only finite figures",
                "the file was not written by perfkit or was edited; re-run 'perfkit bench'",
            ) from None
        except RecursionError:
            raise SchemaError(f"{p} is nested too deeply to be a results file") from None
        except json.JSONDecodeError as exc:
            raise SchemaError(
                f"{p} is not valid JSON (line {exc.lineno}: {exc.msg})",
                "the file is corrupt or truncated; re-run 'perfkit bench'",
            ) from None
        return cls.from_dict(data, source=str(p))

    def with_results(self, results: tuple[CaseResult, ...]) -> BenchRun:
        return replace(self, results=results)


def _upgrade(data: Any, source: str) -> Mapping[str, Any]:
    """Check the file is ours and migrate older schema versions to the current one."""
    if not isinstance(data, Mapping) or data.get("kind") != KIND:
        raise SchemaError(
            f"{source} is not a perfkit bench results file",
            "pass a file written by 'perfkit bench' (reports/bench/*.json)",
        )
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SchemaError(
            f"{source} has no valid schema_version (got {_show(version)})",
            "re-run 'perfkit bench' to write a fresh one",
        )
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"{source} has schema version {version}, newer than this perfkit reads "
            f"({SCHEMA_VERSION})",
            "upgrade perfkit",
        )
    # Version 1 -> 2 only added fields (per-allocator memory, the pytest-benchmark list), which
    # the readers default: nothing to migrate.
    return data


# --- reading: strict JSON, schema validation, folders -------------------------------------------


class _NonFinite(ValueError):
    """A bare NaN/Infinity in a JSON text (Python's json accepts them; JSON does not)."""


def _refuse_constant(name: str) -> Any:
    raise _NonFinite(name)


def load_results(path: str | os.PathLike[str]) -> BenchRun:
    """Load and validate one results file.

    Raises
    ------
    SchemaError
        The file is missing, unreadable, not JSON, not a perfkit results file, from a newer
        schema, or has a malformed field; the message names the file (and the field).
    """
    return BenchRun.load(path)


def results_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Every ``*.json`` among ``paths`` (files as given, folders searched recursively), sorted."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*.json") if not f.name.startswith(".")))
        else:
            out.append(p)
    return out


def load_many(
    paths: Iterable[str | os.PathLike[str]],
) -> tuple[list[tuple[Path, BenchRun]], list[tuple[Path, str]]]:
    """Load every results file under ``paths``, skipping bad ones.

    Returns
    -------
    runs, skipped
        ``(path, run)`` of the files that loaded, oldest run first; ``(path, reason)`` of the
        files refused by :func:`load_results`.
    """
    runs: list[tuple[Path, BenchRun]] = []
    skipped: list[tuple[Path, str]] = []
    for f in results_files(paths):
        try:
            runs.append((f, load_results(f)))
        except SchemaError as exc:
            skipped.append((f, str(exc)))
    runs.sort(key=lambda pr: (pr[1].datetime, str(pr[0])))
    return runs, skipped


class _Invalid(Exception):
    """One malformed field: ``where`` is its path in the file, ``what`` the problem."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _need(ok: bool, where: str, what: str, value: Any) -> None:
    if not ok:
        raise _Invalid(where, f"must be {what}, got {_show(value)}")


def _is_num(value: Any) -> bool:
    """A JSON number (not a bool) that is finite as a float (an int beyond 1e308 is not)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _num_or_none(value: Any, where: str) -> None:
    _need(value is None or _is_num(value), where, "a finite number or null", value)


def _str(value: Any, where: str, optional: bool = False) -> None:
    _need(isinstance(value, str) or (optional and value is None), where, "a string", value)


def _obj(data: Mapping[str, Any], key: str, where: str, optional: bool = True) -> None:
    if key not in data:
        if not optional:
            raise _Invalid(f"{where}.{key}", "is missing")
        return
    value = data[key]
    _need(value is None or isinstance(value, Mapping), f"{where}.{key}", "an object", value)


def _validate_timing(t: Any, where: str) -> None:
    _need(isinstance(t, Mapping), where, "an object", t)
    if "times_s" not in t:
        raise _Invalid(f"{where}.times_s", "is missing")
    times = t["times_s"]
    _need(
        isinstance(times, list) and len(times) > 0,
        f"{where}.times_s",
        "a non-empty list of seconds",
        times,
    )
    for i, x in enumerate(times):
        _need(_is_num(x) and x >= 0, f"{where}.times_s[{i}]", "a finite number >= 0", x)
    _need(any(x > 0 for x in times), f"{where}.times_s", "not all zero", times)
    number = t.get("number", 1)
    _need(
        isinstance(number, int) and not isinstance(number, bool) and number >= 1,
        f"{where}.number",
        "an integer >= 1",
        number,
    )
    peak = t.get("peak_bytes")
    _need(peak is None or (_is_num(peak) and peak >= 0), f"{where}.peak_bytes", "bytes >= 0", peak)
    for key in ("median_s", "min_s", "max_s"):
        _num_or_none(t.get(key), f"{where}.{key}")
    mem = t.get("memory")
    if mem is None:
        return
    _need(isinstance(mem, Mapping), f"{where}.memory", "an object", mem)
    allocs = mem.get("allocators", {})
    _need(isinstance(allocs, Mapping), f"{where}.memory.allocators", "an object", allocs)
    for name, value in allocs.items():
        _need(_is_num(value) and value >= 0, f"{where}.memory.allocators.{name}", "bytes", value)
    rss = mem.get("rss_hwm_bytes")
    _need(rss is None or (_is_num(rss) and rss >= 0), f"{where}.memory.rss_hwm_bytes", "bytes", rss)
    notes = mem.get("notes", [])
    _need(isinstance(notes, list), f"{where}.memory.notes", "a list", notes)


def _validate_verdict(v: Any, where: str) -> None:
    _need(isinstance(v, Mapping), where, "an object", v)
    _need(isinstance(v.get("ok"), bool), f"{where}.ok", "true or false", v.get("ok"))
    _str(v.get("detail", ""), f"{where}.detail")
    for key in ("max_abs_error", "max_rel_error", "agreement"):
        _num_or_none(v.get(key), f"{where}.{key}")
    figures = v.get("figures", {})
    _need(isinstance(figures, Mapping), f"{where}.figures", "an object", figures)
    for name, value in figures.items():
        _num_or_none(value, f"{where}.figures.{name}")


def _validate_result(r: Any, where: str) -> None:
    _need(isinstance(r, Mapping), where, "an object", r)
    for key in ("case", "status"):
        if key not in r:
            raise _Invalid(f"{where}.{key}", "is missing")
    _need(isinstance(r["case"], str) and r["case"] != "", f"{where}.case", "a case name", r["case"])
    for key in ("id", "group", "description", "baseline_label", "candidate_label"):
        if key in r:
            _str(r[key], f"{where}.{key}")
    _need(r["status"] in STATUSES, f"{where}.status", f"one of {', '.join(STATUSES)}", r["status"])
    device = r.get("device", "cpu")
    _need(device in DEVICES, f"{where}.device", f"one of {', '.join(DEVICES)}", device)
    _obj(r, "params", where)
    _str(r.get("error"), f"{where}.error", optional=True)
    for side in ("baseline", "candidate"):
        if r.get(side) is not None:
            _validate_timing(r[side], f"{where}.{side}")
        elif r["status"] in ("passed", "failed"):
            raise _Invalid(f"{where}.{side}", f"is missing for a {r['status']} case")
    if r.get("verdict") is not None:
        _validate_verdict(r["verdict"], f"{where}.verdict")


def validate(data: Any, source: str = "<data>") -> None:
    """Check a decoded results file against the schema (current and older versions).

    Raises
    ------
    SchemaError
        Naming ``source`` and the first malformed field, e.g.
        ``results[2].baseline.times_s[0]: must be a finite number >= 0, got 'fast'``.
    """
    try:
        _need(isinstance(data, Mapping), "top level", "an object", data)
        for key in ("results", "datetime"):
            if key not in data:
                raise _Invalid(key, "is missing")
        _str(data["datetime"], "datetime")
        _str(data.get("version", ""), "version")
        duration = data.get("duration_s", 0.0)
        _need(_is_num(duration) and duration >= 0, "duration_s", "seconds >= 0", duration)
        for key in ("machine_info", "commit_info", "settings", "gpu_info"):
            _obj(data, key, "")
        results = data["results"]
        _need(isinstance(results, list), "results", "a list", results)
        for i, r in enumerate(results):
            _validate_result(r, f"results[{i}]")
    except _Invalid as exc:
        raise SchemaError(
            f"{source} is not a valid perfkit bench results file: {str(exc).lstrip('.')}",
            "re-run 'perfkit bench' to write a fresh one",
        ) from None


# --- pytest-benchmark's view of a run -------------------------------------------------------------


def _quartiles(data: list[float]) -> tuple[float, float]:
    """Q1 and Q3 computed exactly as pytest-benchmark's ``Stats`` does."""
    n = len(data)
    if n == 1:
        return data[0], data[0]
    if n % 2:
        k, q = n // 4, n % 4
        if q == 1:
            q1 = 0.25 * data[k - 1] + 0.75 * data[k]
            q3 = 0.75 * data[3 * k] + 0.25 * data[3 * k + 1]
        else:
            q1 = 0.75 * data[k] + 0.25 * data[k + 1]
            q3 = 0.25 * data[3 * k + 1] + 0.75 * data[3 * k + 2]
        return q1, q3
    return statistics.median(data[: n // 2]), statistics.median(data[n // 2 :])


def benchmark_stats(times_s: Iterable[float], iterations: int = 1) -> dict[str, Any]:
    """pytest-benchmark's ``stats`` object for per-call sample times (seconds).

    Parameters
    ----------
    times_s
        One figure per round (a sample: seconds per call over ``iterations`` calls).
    iterations
        Calls per round.
    """
    data = [float(t) for t in times_s]
    if not data:
        raise ValueError("a benchmark needs at least one sample")
    srt = sorted(data)
    mean = statistics.mean(data)
    stddev = statistics.stdev(data) if len(data) > 1 else 0.0
    q1, q3 = _quartiles(srt)
    iqr = q3 - q1
    ld15 = srt[bisect_left(srt, q1 - 1.5 * iqr)] if len(srt) > 1 else srt[0]
    hd15 = srt[bisect_right(srt, q3 + 1.5 * iqr) - 1]
    iqr_out = sum(1 for x in data if x < q1 - 1.5 * iqr or x > q3 + 1.5 * iqr)
    sd_out = sum(1 for x in data if x < mean - stddev or x > mean + stddev)
    return {
        "min": srt[0],
        "max": srt[-1],
        "mean": mean,
        "stddev": stddev,
        "rounds": len(data),
        "median": statistics.median(data),
        "iqr": iqr,
        "q1": q1,
        "q3": q3,
        "iqr_outliers": iqr_out,
        "stddev_outliers": sd_out,
        "outliers": f"{sd_out};{iqr_out}",
        "ld15iqr": ld15,
        "hd15iqr": hd15,
        "ops": 1.0 / mean if mean > 0 else 0.0,
        "total": sum(data) * iterations,
        "data": data,
        "iterations": iterations,
    }


def pytest_benchmark_entries(results: Iterable[CaseResult]) -> list[dict[str, Any]]:
    """One pytest-benchmark ``benchmarks`` entry per timed side of each result.

    Both sides of a grid point share a ``group`` (``<id>-<device>``), as in
    ``tests/benchmarks``; ``name`` is ``<id>-<device>-<side>``.
    """
    out: list[dict[str, Any]] = []
    for r in results:
        for side in ("baseline", "candidate"):
            t: Timing | None = getattr(r, side)
            if t is None:
                continue
            name = f"{r.id}-{r.device}-{side}"
            params = {k: _jsonable(v) for k, v in r.params.items()}
            out.append(
                {
                    "group": f"{r.id}-{r.device}",
                    "name": name,
                    "fullname": f"perfkit bench::{r.case}::{name}",
                    "params": {**params, "device": r.device, "side": side},
                    "param": f"{r.id}-{r.device}-{side}",
                    "extra_info": {
                        "case": r.case,
                        "side": side,
                        "label": getattr(r, f"{side}_label"),
                        "status": r.status,
                        "peak_bytes": t.peak_bytes,
                    },
                    "options": {
                        "timer": "perf_counter",
                        "disable_gc": True,
                        "min_rounds": len(t.times_s),
                        "warmup": True,
                    },
                    "stats": benchmark_stats(t.times_s, t.number),
                }
            )
    return out
