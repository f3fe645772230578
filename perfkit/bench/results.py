"""The results of one ``perfkit bench`` run: a frozen model that owns its JSON form.

The top level follows pytest-benchmark's shape (``machine_info``, ``commit_info``, ``datetime``,
``version``) plus ``schema_version``; units live in key names. Readers accept fields added later
(with defaults) and refuse files from a newer schema with a clear error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from perfkit._atomic import atomic_write_text
from perfkit.bench.case import Verdict
from perfkit.bench.timer import Timing
from perfkit.errors import SchemaError

SCHEMA_VERSION = 1
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
            "results": [r.to_dict() for r in self.results],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<data>") -> BenchRun:
        data = _upgrade(data, source)
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
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n")

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
            data = json.loads(text)
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
    if not isinstance(version, int):
        raise SchemaError(f"{source} has no schema_version")
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"{source} has schema version {version}, newer than this perfkit reads "
            f"({SCHEMA_VERSION})",
            "upgrade perfkit",
        )
    # Version 1 is the first; later versions add their migrations here, oldest first.
    return data
