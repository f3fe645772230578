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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from perfkit.errors import SchemaError

#: Bump when the JSON layout changes incompatibly; add a step to :func:`_upgrade` for the old one.
SCHEMA_VERSION = 2
#: The ``kind`` tag that tells a profile file from the other perfkit JSON files.
KIND = "perfkit-profile"


#: The numbers of a call-tree node, in the order the flat JSON form lists them.
_NODE_NUMBERS = ("line", "wall_s", "self_wall_s", "cpu_s", "self_cpu_s", "samples")


class _Record:
    """``==`` and ``repr`` by fields, shared by the records instead of generated per class.

    The same semantics as a dataclass's own (equal when of the same class with equal fields;
    unhashable), without compiling two methods for each of 13 classes at every start-up.
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in fields(self))  # type: ignore[arg-type]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        inner = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))  # type: ignore[arg-type]
        return f"{self.__class__.__qualname__}({inner})"


@dataclass(eq=False, repr=False)
class FrameNode:
    """One node of the call tree: a function reached by one call path.

    ``wall_s`` is inclusive (the node and everything it called), ``self_wall_s`` the time spent
    in the function's own code; the same for CPU time. ``samples`` counts the stack samples that
    went through the node (0 for engines that do not sample). ``children`` are in the order
    they were first seen (time order); renderers sort them by weight where that reads better.

    Trees can be as deep as the program's stack (10 000 frames of recursion), so every method
    here (equality, JSON form) walks the tree with an explicit stack, never by recursion.
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

    def _fields(self) -> tuple[Any, ...]:
        return (
            self.function,
            self.file,
            self.line,
            self.wall_s,
            self.self_wall_s,
            self.cpu_s,
            self.self_cpu_s,
            self.samples,
            len(self.children),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FrameNode):
            return NotImplemented
        stack = [(self, other)]
        while stack:
            a, b = stack.pop()
            if a is b:
                continue
            if a._fields() != b._fields():
                return False
            stack.extend(zip(a.children, b.children, strict=True))
        return True

    __hash__ = None  # type: ignore[assignment]  # mutable record, like a plain dataclass

    def __repr__(self) -> str:
        return (
            f"FrameNode({self.function!r}, {self.file!r}, {self.line}, wall_s={self.wall_s!r}, "
            f"self_wall_s={self.self_wall_s!r}, {len(self.children)} children)"
        )

    def to_dict(self) -> dict[str, Any]:
        """The nested dict form (schema version 1); built without recursion."""
        out: dict[str, Any] = {}
        stack: list[tuple[FrameNode, dict[str, Any]]] = [(self, out)]
        while stack:
            node, d = stack.pop()
            d.update(_node_fields(node))
            kids: list[dict[str, Any]] = [{} for _ in node.children]
            d["children"] = kids
            stack.extend(zip(node.children, kids, strict=True))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FrameNode:
        """Read the nested dict form (schema version 1) without recursion."""
        return _from_flat(_flatten_nested(data))

    def to_flat(self) -> list[dict[str, Any]]:
        """The nodes in pre-order, each with the index of its ``parent`` (-1 for this node).

        This is the JSON form of schema version 2: flat, so no JSON reader or writer has to
        nest as deep as the program's stack did.
        """
        out: list[dict[str, Any]] = []
        stack: list[tuple[FrameNode, int]] = [(self, -1)]
        while stack:
            node, parent = stack.pop()
            row = _node_fields(node)
            row["parent"] = parent
            me = len(out)
            out.append(row)
            stack.extend((c, me) for c in reversed(node.children))
        return out

    @classmethod
    def from_flat(cls, rows: Sequence[Mapping[str, Any]]) -> FrameNode:
        """Rebuild a tree from :meth:`to_flat` rows (parents listed before their children)."""
        return _from_flat(rows)


def _node_fields(node: FrameNode) -> dict[str, Any]:
    return {
        "function": node.function,
        "file": node.file,
        "line": node.line,
        "wall_s": node.wall_s,
        "self_wall_s": node.self_wall_s,
        "cpu_s": node.cpu_s,
        "self_cpu_s": node.self_cpu_s,
        "samples": node.samples,
    }


def _flatten_nested(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Nested (version 1) node dicts -> flat pre-order rows with parent indexes, iteratively."""
    rows: list[dict[str, Any]] = []
    stack: list[tuple[Any, int]] = [(data, -1)]
    while stack:
        node, parent = stack.pop()
        if not isinstance(node, Mapping):
            raise TypeError(f"a call-tree node is {type(node).__name__}, not an object")
        row = {k: v for k, v in node.items() if k != "children"}
        row["parent"] = parent
        me = len(rows)
        rows.append(row)
        kids = node.get("children", ())
        if not isinstance(kids, list | tuple):
            raise TypeError("a call-tree node's children are not a list")
        stack.extend((c, me) for c in reversed(kids))
    return rows


def _from_flat(rows: Sequence[Mapping[str, Any]]) -> FrameNode:
    if not rows:
        raise ValueError("a call tree has no nodes")
    kids: list[list[FrameNode]] = [[] for _ in rows]
    parents: list[int] = []
    for i, row in enumerate(rows):
        parent = row.get("parent", -1)
        if not isinstance(parent, int) or isinstance(parent, bool):
            raise TypeError(f"call-tree node {i}: parent is not an integer")
        if (i == 0) != (parent == -1) or parent >= i:
            raise ValueError(f"call-tree node {i}: parent {parent} does not precede it")
        parents.append(parent)
    built: FrameNode | None = None
    for i in range(len(rows) - 1, -1, -1):  # children come after their parent: build bottom-up
        kw = _known(FrameNode, rows[i], exclude=("children",))
        kids[i].reverse()
        built = FrameNode(**kw, children=tuple(kids[i]))
        if parents[i] >= 0:
            kids[parents[i]].append(built)
    assert built is not None
    return built


@dataclass(eq=False, repr=False)
class ThreadTree(_Record):
    """The call tree of one thread (``root`` is a synthetic node named after the thread)."""

    thread_id: int
    name: str
    root: FrameNode

    def to_dict(self) -> dict[str, Any]:
        """``{"thread_id", "name", "nodes"}`` with the tree flat (see :meth:`FrameNode.to_flat`)."""
        return {"thread_id": self.thread_id, "name": self.name, "nodes": self.root.to_flat()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ThreadTree:
        """Read the flat form (or the nested ``root`` of schema version 1)."""
        if "nodes" in data:
            root = FrameNode.from_flat(data["nodes"])
        else:
            root = FrameNode.from_dict(data["root"])
        return cls(int(data["thread_id"]), str(data["name"]), root)


@dataclass(eq=False, repr=False)
class CallerEdge(_Record):
    """Who called a function and how much time those calls took (cProfile's caller records)."""

    function: str
    file: str
    line: int
    calls: int
    primitive_calls: int
    self_s: float
    total_s: float


@dataclass(eq=False, repr=False)
class FunctionStat(_Record):
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

    @property
    def waiting(self) -> bool:
        """True for a function where threads block rather than work (see :func:`is_waiting`)."""
        return is_waiting(self)


#: Where threads block without working: file (path suffix) -> qualified names. A sampler sees
#: the innermost Python frame, so ``lock.acquire()`` inside ``Condition.wait`` shows as the latter.
WAIT_FUNCTIONS: dict[str, frozenset[str]] = {
    "threading.py": frozenset(
        {
            "Condition.wait",
            "Condition.wait_for",
            "Event.wait",
            "Semaphore.acquire",
            "Barrier.wait",
            "Thread.join",
            "Thread._wait_for_tstate_lock",
        }
    ),
    "queue.py": frozenset({"Queue.get", "Queue.join"}),
    "selectors.py": frozenset(
        {
            "SelectSelector.select",
            "PollSelector.select",
            "EpollSelector.select",
            "DevpollSelector.select",
            "KqueueSelector.select",
            "_PollLikeSelector.select",
        }
    ),
    "subprocess.py": frozenset(
        {"Popen.wait", "Popen._wait", "Popen._try_wait", "Popen.communicate", "Popen._communicate"}
    ),
    "socket.py": frozenset({"socket.accept"}),
    "multiprocessing/connection.py": frozenset(
        {
            "wait",
            "_ConnectionBase.recv",
            "_ConnectionBase.recv_bytes",
            "_ConnectionBase.poll",
            "Connection._recv",
            "Connection._recv_bytes",
            "Connection._poll",
        }
    ),
    "multiprocessing/synchronize.py": frozenset(
        {"SemLock.__enter__", "Condition.wait", "Event.wait", "Barrier.wait"}
    ),
    "multiprocessing/popen_fork.py": frozenset({"Popen.poll", "Popen.wait"}),
    "multiprocessing/pool.py": frozenset({"ApplyResult.wait", "ApplyResult.get", "Pool.join"}),
    "concurrent/futures/_base.py": frozenset(
        {"Future.result", "Future.exception", "wait", "as_completed"}
    ),
}
#: A library function whose own CPU is under this share of its own wall time, over at least
#: :data:`WAIT_MIN_SAMPLES` samples, is waiting too (``time.sleep`` polling loops such as
#: joblib's result retrieval, blocking reads). The program's own code is never classed so: a
#: user function that sleeps is shown where the user looks for it.
WAIT_CPU_SHARE = 0.05
WAIT_MIN_SAMPLES = 10


def is_waiting(f: FunctionStat) -> bool:
    """Whether ``f`` is a place where threads wait (locks, sleep, select, queue get, join).

    Known blocking functions of the standard library (:data:`WAIT_FUNCTIONS`), and library
    functions whose own time had almost no CPU (measured by the default sampler only).
    Reports list these apart from the top functions, so the top rows are where work happens.
    """
    path = f.file.replace("\\", "/")
    for suffix, names in WAIT_FUNCTIONS.items():
        if f.function in names and (path == suffix or path.endswith("/" + suffix)):
            return True
    return (
        not f.user_code
        and f.self_cpu_s is not None
        and f.samples >= WAIT_MIN_SAMPLES
        and f.self_s > 0
        and f.self_cpu_s <= WAIT_CPU_SHARE * f.self_s
    )


@dataclass(eq=False, repr=False)
class HotLine(_Record):
    """Time measured on one source line by the sampler (self = on the line, total = incl. calls)."""

    file: str
    line: int
    function: str
    self_s: float
    total_s: float
    source: str = ""
    samples: int = 0


@dataclass(eq=False, repr=False)
class LineTiming(_Record):
    """One line of a line_profiler table."""

    line: int
    hits: int
    time_s: float
    source: str = ""


@dataclass(eq=False, repr=False)
class LineTable(_Record):
    """line_profiler's per-line timings of one function, with the function's source lines."""

    function: str
    file: str
    first_line: int
    total_s: float
    lines: tuple[LineTiming, ...] = ()
    module: str = ""


@dataclass(eq=False, repr=False)
class AllocationSite(_Record):
    """Bytes attributed to one line: by tracemalloc (exact) or by RSS growth (sampled)."""

    file: str
    line: int
    function: str
    size_bytes: int
    count: int
    source: str = ""
    method: str = "tracemalloc"


@dataclass(eq=False, repr=False)
class ArrayObservation(_Record):
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


@dataclass(eq=False, repr=False)
class MemoryLine(_Record):
    """One line of memory_profiler's table: memory increment and usage after the line."""

    line: int
    increment_bytes: int
    usage_bytes: int
    occurrences: int
    source: str = ""


@dataclass(eq=False, repr=False)
class MemoryLineTable(_Record):
    """memory_profiler's per-line increments of one function."""

    function: str
    file: str
    lines: tuple[MemoryLine, ...] = ()


@dataclass(eq=False, repr=False)
class MemoryReport(_Record):
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


@dataclass(eq=False, repr=False)
class Hint(_Record):
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


@dataclass(eq=False, repr=False)
class ProcessProfile(_Record):
    """One process of the run: the profiled program (``role == "main"``) or a child it started.

    ``role`` says what the process was (``main``, ``loky worker``, ``Pool worker (spawn)``,
    ``ProcessPoolExecutor worker (fork)``, ``subprocess``, ...); ``threads`` are its call trees
    (empty for the main process, whose trees are :attr:`Profile.threads`).
    """

    pid: int
    ppid: int
    role: str
    command: str
    start_method: str = ""
    name: str = ""
    wall_s: float = 0.0
    cpu_s: float = 0.0
    sample_count: int = 0
    ended: str = ""
    threads: tuple[ThreadTree, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        body = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "threads"}
        body["threads"] = [t.to_dict() for t in self.threads]
        return body

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProcessProfile:
        return cls(
            **_known(cls, data, exclude=("threads",)),
            threads=tuple(ThreadTree.from_dict(t) for t in data.get("threads", ())),
        )


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
    #: Every process of the run when child processes were followed (main first); else empty.
    processes: tuple[ProcessProfile, ...] = ()

    # -- derived views -----------------------------------------------------------------

    def _repr_html_(self) -> str:
        """The notebook view: the report as HTML (see :mod:`perfkit.display`)."""
        from perfkit.display import repr_html

        return repr_html(self)

    def __repr__(self) -> str:
        from perfkit.display import short_repr

        return short_repr(self)

    def print(self, file: Any = None) -> None:
        """Print the terminal summary (as ``perfkit profile`` does) to ``file`` (stdout)."""
        import sys

        from perfkit.render.terminal import print_summary

        print_summary(self, file=file or sys.stdout)

    def open_in_browser(self, path: str | None = None) -> str:
        """Write the HTML report (to ``path`` or a temp file) and open it; return the path."""
        import tempfile
        import webbrowser

        from perfkit._atomic import atomic_write_text
        from perfkit.render.base import get_renderer

        doc = get_renderer("html").render(self)
        if path is None:
            fd, path = tempfile.mkstemp(prefix="perfkit-", suffix=".html")
            os.close(fd)
        atomic_write_text(path, doc if isinstance(doc, str) else doc.decode("utf-8"))
        webbrowser.open(_file_uri(path))
        return path

    def top_functions(
        self, n: int = 10, by: str = "self_s", waiting: bool | None = None
    ) -> list[FunctionStat]:
        """The ``n`` functions with the most ``by`` time (``self_s`` or ``total_s``).

        ``waiting=False`` leaves out the functions where threads wait (:func:`is_waiting`),
        ``waiting=True`` keeps only those; ``None`` (the default) takes every function.
        """
        funcs = self.functions
        if waiting is not None:
            funcs = tuple(f for f in funcs if f.waiting == waiting)
        return sorted(funcs, key=lambda f: getattr(f, by), reverse=True)[:n]

    def top_lines(self, n: int = 10) -> list[HotLine]:
        """The ``n`` source lines with the most self time."""
        return sorted(self.hot_lines, key=lambda h: h.self_s, reverse=True)[:n]

    def with_hints(self, hints: tuple[Hint, ...]) -> Profile:
        """A copy of this profile carrying ``hints``."""
        return replace(self, hints=hints)

    # -- serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The versioned JSON form (pytest-benchmark-like top level, the run under ``profile``)."""
        doc = self._document()
        doc["profile"] = _clean_floats(doc["profile"])
        return doc

    def _document(self) -> dict[str, Any]:
        """:meth:`to_dict` before its one copy: the run still holds records and tuples."""
        # Fields in order; records become dicts in _clean_floats' one iterative copy (asdict
        # copied everything a second time, recursively).
        body: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        body["threads"] = [t.to_dict() for t in self.threads]
        body["processes"] = [p.to_dict() for p in self.processes]
        env = dict(self.environment)
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": KIND,
            "version": env.get("perfkit_version", ""),
            "datetime": self.started_at,
            "machine_info": env.get("machine_info", {}),
            "commit_info": env.get("commit_info", {}),
            "profile": body,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        """Read the JSON form; older schema versions are upgraded, newer ones refused.

        The (upgraded) document is validated against ``profile.schema.json`` first: a field of
        the wrong type, a NaN or a missing key raises :class:`SchemaError` naming the field.
        """
        from perfkit.profiling import _schema

        if not isinstance(data, Mapping) or (
            data.get("kind") != KIND and data.get("schema_version") != 0
        ):
            raise SchemaError(
                "not a perfkit profile (missing kind 'perfkit-profile')",
                "pass a profile.json written by `perfkit profile`",
            )
        data = _upgrade(dict(data))
        problems = _schema.errors(data, _schema.profile_schema())
        if problems:
            raise SchemaError(
                f"profile JSON is malformed: {problems[0]}", "re-create it with `perfkit profile`"
            )
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

        return atomic_write_text(path, to_json(self))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Profile:
        """Read a profile JSON file; missing, unreadable or corrupt files raise SchemaError."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SchemaError(f"{p}: no such file", "check the path") from None
        except IsADirectoryError:
            raise SchemaError(f"{p}: is a directory", "name the profile.json inside it") from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:  # ValueError: a NUL in the path
            raise SchemaError(f"{p!r}: cannot read ({exc})", "check the path") from None
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except json.JSONDecodeError as exc:
            raise SchemaError(
                f"{p}: not valid JSON ({exc.msg} at line {exc.lineno})",
                "the file is corrupt; re-create it with `perfkit profile`",
            ) from None
        except ValueError as exc:
            raise SchemaError(f"{p}: {exc}", "re-create it with `perfkit profile`") from None
        except RecursionError:
            raise SchemaError(
                f"{p}: JSON nested too deeply to be a profile",
                "re-create it with `perfkit profile`",
            ) from None
        try:
            return cls.from_dict(data)
        except SchemaError as exc:
            raise SchemaError(f"{p}: {exc.message}", exc.hint) from None


def to_json(profile: Profile) -> str:
    """The strict JSON text of ``profile`` (what ``profile.json`` holds; never a bare NaN)."""
    import json

    # Fast path: json's C encoder walks the document itself (records through ``default``,
    # tuples as arrays) with no Python copy first. A NaN or infinity (strict mode refuses it)
    # or a key json cannot write sends the document through to_dict's copy, which turns
    # non-finite floats into None (what dumps_strict would do) and keys into strings: the same
    # text either way (a profile's dicts are keyed by str; a non-dict mapping with keys json
    # would spell unlike str(), True -> "true", is refused by _json_default and goes the slow
    # way). No indent: json's C encoder runs only without one.
    try:
        return json.dumps(profile._document(), allow_nan=False, default=_json_default)
    except (ValueError, TypeError):
        return json.dumps(profile.to_dict(), allow_nan=False)


def _json_default(item: Any) -> Any:
    """What json's encoder cannot write itself: records (their fields, as asdict) and mappings."""
    if hasattr(type(item), "__dataclass_fields__"):
        return {f.name: getattr(item, f.name) for f in fields(item)}
    if isinstance(item, Mapping):
        if not all(type(k) is str or type(k) is int for k in item):
            raise TypeError("keys json would spell unlike str()")
        return dict(item)
    raise TypeError(f"not JSON: {type(item).__name__}")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"contains {name}, which is not a JSON number")


def _upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """Migrate a profile dict of an older schema version to :data:`SCHEMA_VERSION`.

    Version 0 (pre-release files) kept the run at top level, without ``kind`` or ``profile``;
    it is moved under ``profile``. Version 1 nested each thread's call tree under ``root``;
    version 2 lists the nodes flat (``nodes`` with parent indexes). Files from a newer perfkit
    are refused with a clear message.
    """
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
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
    if data["schema_version"] < 2:
        body = dict(data["profile"])
        threads = body.get("threads")
        if isinstance(threads, list):
            body["threads"] = [_thread_v1_to_v2(t) for t in threads]
        data = {**data, "schema_version": 2, "profile": body}
    return data


def _thread_v1_to_v2(thread: Any) -> Any:
    if not isinstance(thread, Mapping) or "nodes" in thread or "root" not in thread:
        return thread  # left for the schema check to name
    try:
        nodes = _flatten_nested(thread["root"])
    except TypeError as exc:
        raise SchemaError(f"profile JSON is malformed: {exc}", "re-create the file") from None
    return {k: v for k, v in thread.items() if k != "root"} | {"nodes": nodes}


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
            "processes",
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
        processes=tuple(ProcessProfile.from_dict(p) for p in body.get("processes", ())),
    )


def _known(cls: type, data: Mapping[str, Any], exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """The entries of ``data`` that are fields of ``cls`` (keys from newer files dropped)."""
    names = {f.name for f in fields(cls)} - set(exclude)
    return {k: v for k, v in data.items() if k in names}


def _jsonable(value: Any) -> Any:
    """Tuples become lists and mapping keys strings, at any depth (iteratively)."""
    return _rebuild(value, clean_floats=False)


def _clean_floats(value: Any) -> Any:
    """NaN and infinities become ``None`` (JSON has neither), at any depth (iteratively)."""
    return _rebuild(value, clean_floats=True)


def _rebuild(value: Any, clean_floats: bool) -> Any:
    holder: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(holder, 0, value)]
    while stack:
        parent, key, item = stack.pop()
        if isinstance(item, float):
            parent[key] = None if clean_floats and not math.isfinite(item) else item
        elif isinstance(item, Mapping):
            new: dict[str, Any] = {}
            for k, v in item.items():
                new[str(k)] = None
                stack.append((new, str(k), v))
            parent[key] = new
        elif isinstance(item, list | tuple):
            new_list: list[Any] = [None] * len(item)
            stack.extend((new_list, i, v) for i, v in enumerate(item))
            parent[key] = new_list
        elif hasattr(type(item), "__dataclass_fields__"):  # a record: its fields, as asdict
            rec: dict[str, Any] = {}
            for f in fields(item):
                rec[f.name] = None
                stack.append((rec, f.name, getattr(item, f.name)))
            parent[key] = rec
        else:
            parent[key] = item
    return holder[0]


def _file_uri(path: str) -> str:
    from pathlib import Path

    return Path(path).resolve().as_uri()
