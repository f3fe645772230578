"""The one result model of ``perfkit profile``: :class:`Profile` and the records it holds.

Every engine fills part of a :class:`Profile`; every renderer reads only a :class:`Profile`.
The model owns its JSON form (``to_dict`` / ``from_dict`` / ``save`` / ``load``) with a
top-level ``schema_version``; :class:`Profile` is frozen, while the records inside it are plain
dataclasses (never mutated after the engines build them): generating the frozen-only methods for
14 classes cost ~25 ms of every ``perfkit profile`` start-up, a quarter of its budget.
:func:`_upgrade` migrates files written by older versions, and readers accept fields added
later by giving them defaults.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from perfkit.errors import SchemaError

#: Bump when the JSON layout changes incompatibly; add a step to :func:`_upgrade` for the old one.
SCHEMA_VERSION = 1
#: The ``kind`` tag that tells a profile file from the other perfkit JSON files.
KIND = "perfkit-profile"


@dataclass
class FrameNode:
    """One node of the call tree: a function reached by one call path.

    ``wall_s`` is inclusive (the node and everything it called), ``self_wall_s`` the time spent
    in the function's own code; the same for CPU time. ``samples`` counts the stack samples that
    went through the node (0 for engines that do not sample).
    """

    function: str
    file: str
    line: int
    wall_s: float
    self_wall_s: float
    cpu_s: float = 0.0
    self_cpu_s: float = 0.0
    samples: int = 0
    children: tuple[FrameNode, ...] = ()

    def walk(self, depth: int = 0) -> Iterator[tuple[int, FrameNode]]:
        """Every node under (and including) this one, depth first, with its depth."""
        stack: list[tuple[int, FrameNode]] = [(depth, self)]
        while stack:
            d, node = stack.pop()
            yield d, node
            stack.extend((d + 1, c) for c in reversed(node.children))

    def to_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "file": self.file,
            "line": self.line,
            "wall_s": self.wall_s,
            "self_wall_s": self.self_wall_s,
            "cpu_s": self.cpu_s,
            "self_cpu_s": self.self_cpu_s,
            "samples": self.samples,
            "children": [c.to_dict() for c in self.children],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FrameNode:
        kwargs = _known(cls, data, exclude=("children",))
        return cls(**kwargs, children=tuple(cls.from_dict(c) for c in data.get("children", ())))


@dataclass
class ThreadTree:
    """The call tree of one thread (``root`` is a synthetic node named after the thread)."""

    thread_id: int
    name: str
    root: FrameNode

    def to_dict(self) -> dict[str, Any]:
        return {"thread_id": self.thread_id, "name": self.name, "root": self.root.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ThreadTree:
        return cls(int(data["thread_id"]), str(data["name"]), FrameNode.from_dict(data["root"]))


@dataclass
class CallerEdge:
    """Who called a function and how much time those calls took (cProfile's caller records)."""

    function: str
    file: str
    line: int
    calls: int
    primitive_calls: int
    self_s: float
    total_s: float


@dataclass
class FunctionStat:
    """One row of the function table: own and total time of one function, all call paths merged.

    ``calls`` is exact under ``--cpu tracing`` and ``None`` for sampling engines; ``module`` is
    the importable module name when known (``__main__`` for the profiled script).
    """

    function: str
    file: str
    line: int
    self_s: float
    total_s: float
    self_cpu_s: float | None = None
    total_cpu_s: float | None = None
    calls: int | None = None
    primitive_calls: int | None = None
    samples: int = 0
    module: str = ""
    user_code: bool = False
    callers: tuple[CallerEdge, ...] = ()

    @property
    def key(self) -> str:
        """``module:qualname`` when the module is known, else ``file:qualname``."""
        return f"{self.module or self.file}:{self.function}"


@dataclass
class HotLine:
    """Time measured on one source line by the sampler (self = on the line, total = incl. calls)."""

    file: str
    line: int
    function: str
    self_s: float
    total_s: float
    source: str = ""
    samples: int = 0


@dataclass
class LineTiming:
    """One line of a line_profiler table."""

    line: int
    hits: int
    time_s: float
    source: str = ""


@dataclass
class LineTable:
    """line_profiler's per-line timings of one function, with the function's source lines."""

    function: str
    file: str
    first_line: int
    total_s: float
    lines: tuple[LineTiming, ...] = ()
    module: str = ""


@dataclass
class AllocationSite:
    """Bytes attributed to one line: by tracemalloc (exact) or by RSS growth (sampled)."""

    file: str
    line: int
    function: str
    size_bytes: int
    count: int
    source: str = ""
    method: str = "tracemalloc"


@dataclass
class ArrayObservation:
    """A large NumPy array seen alive in a frame while memory grew (evidence for the dtype hint).

    ``float32_max_rel_error`` is the largest relative error of a float32 round trip over a strided
    sample of the array's values (``None`` for non-float arrays).
    """

    file: str
    line: int
    function: str
    name: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    float32_max_rel_error: float | None = None
    float32_overflow: bool = False


@dataclass
class MemoryLine:
    """One line of memory_profiler's table: memory increment and usage after the line."""

    line: int
    increment_bytes: int
    usage_bytes: int
    occurrences: int
    source: str = ""


@dataclass
class MemoryLineTable:
    """memory_profiler's per-line increments of one function."""

    function: str
    file: str
    lines: tuple[MemoryLine, ...] = ()


@dataclass
class MemoryReport:
    """What ``--memory`` measured: RSS over time and its peak, and where memory was allocated."""

    start_rss_bytes: int
    peak_rss_bytes: int
    end_rss_bytes: int
    series: tuple[tuple[float, int], ...] = ()
    tracemalloc_peak_bytes: int | None = None
    top_lines: tuple[AllocationSite, ...] = ()
    arrays: tuple[ArrayObservation, ...] = ()
    line_tables: tuple[MemoryLineTable, ...] = ()
    sample_interval_s: float = 0.0


@dataclass
class Hint:
    """One concrete suggestion: which line, what the profile showed, and what to use instead."""

    rule: str
    title: str
    file: str
    line: int
    function: str
    evidence: str
    suggestion: str
    source: str = ""
    time_s: float | None = None
    bytes_saved: int | None = None


@dataclass(frozen=True)
class Profile:
    """Everything one ``perfkit profile`` run measured, plus how and where it ran.

    Summaries (top functions, totals) are derived from these records on demand.
    """

    program: str
    kind: str
    argv: tuple[str, ...]
    cwd: str
    modes: tuple[str, ...]
    started_at: str
    wall_s: float
    cpu_s: float
    exit_status: int = 0
    ended_by: str = "exit"
    exception: str | None = None
    interval_s: float | None = None
    sample_count: int = 0
    threads: tuple[ThreadTree, ...] = ()
    functions: tuple[FunctionStat, ...] = ()
    hot_lines: tuple[HotLine, ...] = ()
    line_tables: tuple[LineTable, ...] = ()
    memory: MemoryReport | None = None
    hints: tuple[Hint, ...] = ()
    notes: tuple[str, ...] = ()
    environment: Mapping[str, Any] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)

    # -- derived views -----------------------------------------------------------------
    def top_functions(self, n: int = 10, by: str = "self_s") -> list[FunctionStat]:
        """The ``n`` functions with the most ``by`` time (``self_s`` or ``total_s``)."""
        return sorted(self.functions, key=lambda f: getattr(f, by), reverse=True)[:n]

    def top_lines(self, n: int = 10) -> list[HotLine]:
        """The ``n`` source lines with the most self time."""
        return sorted(self.hot_lines, key=lambda h: h.self_s, reverse=True)[:n]

    def with_hints(self, hints: tuple[Hint, ...]) -> Profile:
        """A copy of this profile carrying ``hints``."""
        return replace(self, hints=hints)

    # -- serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The versioned JSON form (pytest-benchmark-like top level, the run under ``profile``)."""
        body = _jsonable(asdict(replace(self, threads=())))
        body["threads"] = [t.to_dict() for t in self.threads]
        env = dict(self.environment)
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": KIND,
            "version": env.get("perfkit_version", ""),
            "datetime": self.started_at,
            "machine_info": env.get("machine_info", {}),
            "commit_info": env.get("commit_info", {}),
            "profile": _clean_floats(body),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        """Read the JSON form; older schema versions are upgraded, newer ones refused."""
        if not isinstance(data, Mapping) or (
            data.get("kind") != KIND and data.get("schema_version") != 0
        ):
            raise SchemaError(
                "not a perfkit profile (missing kind 'perfkit-profile')",
                "pass a profile.json written by `perfkit profile`",
            )
        data = _upgrade(dict(data))
        body = data["profile"]
        try:
            return _profile_from_body(body)
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(
                f"profile JSON is malformed: {exc.__class__.__name__}: {exc}",
                "re-create it with `perfkit profile`",
            ) from exc

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the JSON form atomically to ``path`` and return it."""
        from perfkit._atomic import atomic_write_text

        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1, allow_nan=False))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Profile:
        """Read a profile JSON file; missing, unreadable or corrupt files raise SchemaError."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SchemaError(f"{p}: no such file", "check the path") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SchemaError(f"{p}: cannot read ({exc})", "check the path") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SchemaError(
                f"{p}: not valid JSON ({exc.msg} at line {exc.lineno})",
                "the file is corrupt; re-create it with `perfkit profile`",
            ) from None
        try:
            return cls.from_dict(data)
        except SchemaError as exc:
            raise SchemaError(f"{p}: {exc.message}", exc.hint) from None


def _upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """Migrate a profile dict of an older schema version to :data:`SCHEMA_VERSION`.

    Version 0 (pre-release files) kept the run at top level, without ``kind`` or ``profile``;
    it is moved under ``profile``. Files from a newer perfkit are refused with a clear message.
    """
    version = data.get("schema_version")
    if not isinstance(version, int):
        raise SchemaError("profile JSON has no integer schema_version", "re-create the file")
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"profile schema_version {version} is newer than this perfkit reads ({SCHEMA_VERSION})",
            "upgrade perfkit",
        )
    if version < 0:
        raise SchemaError(f"profile schema_version {version} is invalid", "re-create the file")
    if version == 0:
        body = {k: v for k, v in data.items() if k != "schema_version"}
        data = {"schema_version": 1, "kind": KIND, "profile": body}
    if "profile" not in data or not isinstance(data["profile"], Mapping):
        raise SchemaError("profile JSON has no 'profile' object", "re-create the file")
    return data


def _profile_from_body(body: Mapping[str, Any]) -> Profile:
    mem = body.get("memory")
    memory = None
    if mem:
        memory = MemoryReport(
            **_known(MemoryReport, mem, exclude=("series", "top_lines", "arrays", "line_tables")),
            series=tuple((float(t), int(b)) for t, b in mem.get("series", ())),
            top_lines=tuple(
                AllocationSite(**_known(AllocationSite, a)) for a in mem.get("top_lines", ())
            ),
            arrays=tuple(
                ArrayObservation(
                    **_known(ArrayObservation, a, exclude=("shape",)),
                    shape=tuple(a.get("shape", ())),
                )
                for a in mem.get("arrays", ())
            ),
            line_tables=tuple(
                MemoryLineTable(
                    **_known(MemoryLineTable, t, exclude=("lines",)),
                    lines=tuple(MemoryLine(**_known(MemoryLine, ln)) for ln in t.get("lines", ())),
                )
                for t in mem.get("line_tables", ())
            ),
        )
    simple = _known(
        Profile,
        body,
        exclude=(
            "argv",
            "modes",
            "threads",
            "functions",
            "hot_lines",
            "line_tables",
            "memory",
            "hints",
            "notes",
        ),
    )
    for key in ("program", "kind", "cwd", "started_at", "wall_s", "cpu_s"):
        if key not in simple:
            raise KeyError(key)
    return Profile(
        **simple,
        argv=tuple(body.get("argv", ())),
        modes=tuple(body.get("modes", ())),
        threads=tuple(ThreadTree.from_dict(t) for t in body.get("threads", ())),
        functions=tuple(
            FunctionStat(
                **_known(FunctionStat, f, exclude=("callers",)),
                callers=tuple(CallerEdge(**_known(CallerEdge, c)) for c in f.get("callers", ())),
            )
            for f in body.get("functions", ())
        ),
        hot_lines=tuple(HotLine(**_known(HotLine, h)) for h in body.get("hot_lines", ())),
        line_tables=tuple(
            LineTable(
                **_known(LineTable, t, exclude=("lines",)),
                lines=tuple(LineTiming(**_known(LineTiming, ln)) for ln in t.get("lines", ())),
            )
            for t in body.get("line_tables", ())
        ),
        memory=memory,
        hints=tuple(Hint(**_known(Hint, h)) for h in body.get("hints", ())),
        notes=tuple(body.get("notes", ())),
    )


def _known(cls: type, data: Mapping[str, Any], exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """The entries of ``data`` that are fields of ``cls`` (keys from newer files dropped)."""
    names = {f.name for f in fields(cls)} - set(exclude)
    return {k: v for k, v in data.items() if k in names}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _clean_floats(value: Any) -> Any:
    """NaN and infinities become ``None`` (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_floats(v) for v in value]
    return value
