"""The parent side of child-process following: set up, collect at the end, merge into the model.

:class:`Follower` makes a private temp folder (``tempfile.mkdtemp``: never the user's working
directory), names it to the children through the environment (``PERFKIT_CHILDREN_DIR`` and
``PYTHONPATH`` led by the ``sitecustomize`` bootstrap), and arms the fork hook of
:mod:`._child`. When the program ends, :meth:`Follower.stop` restores the environment, asks the
children that are still alive (joblib's loky workers outlive the call that used them) to write
their data, waits for them at most :data:`DEFAULT_WAIT_S`, reads every record and removes the
folder. A child that crashed or was killed contributes what it last wrote; a record that cannot
be read is left out with a note. :meth:`Follower.contribute` turns the records into
:class:`~perfkit.profiling.model.ProcessProfile` entries and merges the children's functions and
hot lines into the main table, so the hints and every renderer see the workers' code the same
way they see the main process's.
"""

from __future__ import annotations

import marshal
import os
import shutil
import tempfile
import time
import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from perfkit.profiling.children import _child
from perfkit.profiling.model import FrameNode, FunctionStat, HotLine, ProcessProfile, Profile

#: The most the parent waits, after the program ends, for live children to send their data.
DEFAULT_WAIT_S = 3.0
#: Where perfkit's package root is, for children whose interpreter does not have it installed.
ENV_ROOT = "PERFKIT_CHILDREN_ROOT"
BOOT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_boot")
_PERFKIT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(BOOT_DIR))))
_ENV_KEYS = ("PYTHONPATH", _child.ENV_DIR, _child.ENV_INTERVAL, ENV_ROOT)
_RECORD_KEYS = {
    "format": int,
    "pid": int,
    "ppid": int,
    "role": str,
    "name": str,
    "start_method": str,
    "argv": list,
    "wall_s": float,
    "cpu_s": float,
    "samples": int,
    "ended": str,
    "answered": int,
    "codes": list,
    "threads": dict,
    "stacks": list,
}


@dataclass(eq=False)
class Follower:
    """Follow the child processes of the program this process runs.

    Parameters
    ----------
    interval_s
        The children's sampling interval (the parent's).
    wait_s
        The most :meth:`stop` waits for live children to answer.
    """

    interval_s: float
    wait_s: float = DEFAULT_WAIT_S
    folder: str = ""
    records: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    pid: int = field(default_factory=os.getpid)
    _saved: dict[str, str | None] = field(default_factory=dict)

    def start(self) -> None:
        """Create the temp folder, export it to children and arm the fork hook."""
        self.pid = os.getpid()
        tmp = tempfile.gettempdir()
        if os.path.realpath(tmp) == os.path.realpath(os.getcwd()):
            # tempfile falls back to the working directory when no temp folder is writable;
            # children must never write there.
            self.notes.append(
                "child processes were not followed: no writable temp folder (set TMPDIR)"
            )
            return
        self.folder = tempfile.mkdtemp(prefix="perfkit-children-", dir=tmp)
        self._saved = {k: os.environ.get(k) for k in _ENV_KEYS}
        old = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = BOOT_DIR + (os.pathsep + old if old else "")
        os.environ[_child.ENV_DIR] = self.folder
        os.environ[_child.ENV_INTERVAL] = repr(float(self.interval_s))
        os.environ[ENV_ROOT] = _PERFKIT_ROOT
        _child.install_hooks()
        _child.MAIN_FOLLOW = (self.folder, float(self.interval_s))

    def forked_copy(self) -> bool:
        """True in a child forked from the profiled process (not the process that started us)."""
        return os.getpid() != self.pid

    def stop(self) -> None:
        """Restore the environment, gather the children's records and remove the folder."""
        if self.forked_copy() or not self.folder:
            return
        _child.MAIN_FOLLOW = None
        self._restore_env()
        try:
            self.records, self.notes = collect(self.folder, self.wait_s)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = ""

    def _restore_env(self) -> None:
        for key, value in self._saved.items():
            current = os.environ.get(key)
            if key == "PYTHONPATH" and current is not None:
                if not current.startswith(BOOT_DIR):
                    continue  # the program set its own PYTHONPATH: leave it
                rest = current[len(BOOT_DIR) :].lstrip(os.pathsep)
                value = rest or value
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def contribute(
        self,
        collector: Any,
        command: Sequence[str],
        wall_s: float,
        cpu_s: float,
        main_file: str = "",
    ) -> None:
        """Add the process list and merge the children's functions and hot lines.

        ``collector`` already holds the main process's engines' data; ``command``, ``wall_s``
        and ``cpu_s`` describe the main process. Functions of ``main_file`` that reached a
        worker by value (cloudpickle, as joblib sends ``__main__`` functions, names their file
        ``<dynamic-code>``) are given back their file, so they merge with the script's own.
        """
        main = ProcessProfile(
            pid=self.pid,
            ppid=os.getppid(),
            role="main",
            command=" ".join(command),
            wall_s=wall_s,
            cpu_s=cpu_s,
            sample_count=collector.sample_count,
            ended="exit",
        )
        children, functions, hot = [], [collector.functions], [collector.hot_lines]
        # parsing the script costs milliseconds per thousand lines: only when a child reported
        aliases = function_lines(main_file) if main_file and self.records else {}
        for rec in sorted(self.records, key=lambda r: (r["started_at"], r["pid"])):
            proc, funcs, lines = process_from_record(rec, aliases)
            children.append(proc)
            functions.append(funcs)
            hot.append(lines)
        if not children:
            collector.notes.extend(self.notes)
            return
        collector.processes = [main, *children]
        collector.functions = merge_functions(functions)
        collector.hot_lines = merge_hot_lines(hot)
        kinds: dict[str, int] = {}
        for p in children:
            kinds[p.role] = kinds.get(p.role, 0) + 1
        summary = ", ".join(f"{n} {role}" for role, n in kinds.items())
        collector.notes.append(
            f"followed {len(children)} child process{'es' if len(children) > 1 else ''} "
            f"({summary}): the function table, hot lines and hints include their time; "
            "times add up across processes (see Processes); --no-subprocesses turns this off"
        )
        collector.notes.extend(self.notes)


def collect(folder: str, wait_s: float) -> tuple[list[dict[str, Any]], list[str]]:
    """Ask live children for their data, wait for them (at most ``wait_s``), read every record."""
    _write_request(folder, 1)
    deadline = time.monotonic() + wait_s
    final: dict[int, dict[str, Any]] = {}
    bad: dict[int, str] = {}
    latest: dict[int, tuple[dict[str, Any] | None, str | None]] = {}
    while True:
        latest.clear()
        for name in sorted(os.listdir(folder)):
            stem = name[: -len(_child.SUFFIX)]
            if not name.endswith(_child.SUFFIX) or not stem.isdigit() or int(stem) in final:
                continue
            pid = int(stem)
            rec, problem = load_record(os.path.join(folder, name))
            if rec is not None and (rec["ended"] != "running" or rec["answered"] >= 1):
                final[pid] = rec
            elif not _child.alive(pid):
                if rec is not None:
                    rec["ended"] = "killed (data up to its last flush)"
                    final[pid] = rec
                else:
                    bad[pid] = problem or "no data"
            else:
                latest[pid] = (rec, problem)
        if not latest or time.monotonic() >= deadline:
            break
        time.sleep(0.01)
    for pid, (rec, problem) in latest.items():  # alive but silent: keep what it last wrote
        if rec is not None:
            rec["ended"] = "running (did not answer in time; partial data)"
            final[pid] = rec
        else:
            bad[pid] = problem or "no data"
    notes = [f"child process {pid} left no readable data ({why})" for pid, why in bad.items()]
    return list(final.values()), notes


def _write_request(folder: str, seq: int) -> None:
    path = os.path.join(folder, _child.REQUEST)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="ascii") as fh:
        fh.write(str(seq))
    os.replace(tmp, path)


def load_record(path: str) -> tuple[dict[str, Any] | None, str | None]:
    """A child's record, checked field by field; ``(None, why)`` when unreadable or malformed."""
    try:
        with open(path, "rb") as fh:
            rec = marshal.loads(fh.read())
    except (OSError, EOFError, ValueError, TypeError) as exc:
        return None, f"unreadable: {exc.__class__.__name__}"
    if not isinstance(rec, dict):
        return None, "malformed record"
    for key, typ in _RECORD_KEYS.items():
        value = rec.get(key)
        if typ is float and isinstance(value, int) and not isinstance(value, bool):
            continue
        if not isinstance(value, typ) or isinstance(value, bool):
            return None, f"malformed record (field {key})"
    if rec["format"] != _child.FORMAT:
        return None, f"record format {rec['format']} (this perfkit reads {_child.FORMAT})"
    rec.setdefault("started_at", 0.0)
    return rec, None


#: The file name cloudpickle gives the code of functions it pickles by value.
DYNAMIC_CODE = "<dynamic-code>"


def function_lines(filename: str) -> dict[tuple[str, int], str]:
    """``(qualname, first line) -> filename`` for every function defined in ``filename``.

    The first line is what ``co_firstlineno`` holds: the first decorator's line, if any.
    """
    import ast

    from perfkit.profiling._source import source_lines

    try:
        tree = ast.parse("\n".join(source_lines(filename)))
    except (SyntaxError, ValueError):
        return {}
    out: dict[tuple[str, int], str] = {}
    stack: list[tuple[ast.AST, str]] = [(tree, "")]
    while stack:
        node, prefix = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([d.lineno for d in child.decorator_list] + [child.lineno])
                out[(prefix + child.name, first)] = filename
                stack.append((child, f"{prefix}{child.name}.<locals>."))
            elif isinstance(child, ast.ClassDef):
                stack.append((child, f"{prefix}{child.name}."))
            else:
                stack.append((child, prefix))
    return out


def process_from_record(
    rec: dict[str, Any], aliases: dict[tuple[str, int], str] | None = None
) -> tuple[ProcessProfile, list[FunctionStat], list[HotLine]]:
    """One child's record -> its process entry (call trees) and its functions and hot lines.

    ``aliases`` (from :func:`function_lines`) gives ``<dynamic-code>`` functions their file.
    """
    from perfkit.profiling.engines import _stacks

    aliases = aliases or {}
    codes = {}
    for i, row in enumerate(rec["codes"]):
        filename, qualname, first = (str(row[0]), str(row[1]), int(row[2]))
        if filename == DYNAMIC_CODE:
            filename = aliases.get((qualname, first), filename)
        codes[i] = types.SimpleNamespace(
            co_filename=filename,
            co_qualname=qualname,
            co_name=qualname.rsplit(".", 1)[-1],
            co_firstlineno=first,
        )
    stacks: dict[tuple[int, tuple[tuple[int, int], ...]], list[float]] = {}
    for tid, flat, wall, cpu, n in rec["stacks"]:
        key = tuple((int(flat[j]), int(flat[j + 1])) for j in range(0, len(flat) - 1, 2))
        if not key or any(c not in codes for c, _ in key):
            continue
        row = stacks.setdefault((int(tid), key), [0.0, 0.0, 0])
        row[0] += float(wall)
        row[1] += float(cpu)
        row[2] += int(n)
    names = {int(k): str(v) for k, v in rec["threads"].items()}
    threads, functions, hot = _stacks.build(stacks, codes, names)  # type: ignore[arg-type]
    argv = [str(a) for a in rec["argv"]]
    if rec["start_method"] in ("fork", "forkserver"):
        command = f"{rec['name'] or 'fork'} (forked from {rec['ppid']})"
    else:
        command = " ".join(argv)
    proc = ProcessProfile(
        pid=rec["pid"],
        ppid=rec["ppid"],
        role=rec["role"],
        command=command,
        start_method=rec["start_method"],
        name=rec["name"],
        wall_s=float(rec["wall_s"]),
        cpu_s=float(rec["cpu_s"]),
        sample_count=rec["samples"],
        ended=rec["ended"],
        threads=tuple(threads),
    )
    return proc, functions, hot


def _merge(
    groups: Iterable[Sequence[Any]], key: Callable[[Any], tuple[Any, ...]], summed: Sequence[str]
) -> list[Any]:
    """Records of several processes, those with the same ``key`` added field by field."""
    merged: dict[tuple[Any, ...], Any] = {}
    for group in groups:
        for item in group:
            k = key(item)
            m = merged.get(k)
            if m is None:
                merged[k] = replace(item)
                continue
            for name in summed:
                setattr(m, name, _add_opt(getattr(m, name), getattr(item, name)))
            if isinstance(m, FunctionStat):
                m.module = m.module or item.module
                m.user_code = m.user_code or item.user_code
    return list(merged.values())


def merge_functions(groups: Iterable[Sequence[FunctionStat]]) -> list[FunctionStat]:
    """One function table from several processes' (same function: times and samples added)."""
    summed = ("self_s", "total_s", "self_cpu_s", "total_cpu_s", "samples")
    merged = _merge(groups, lambda f: (f.file, f.function, f.line), summed)
    return sorted(merged, key=lambda f: -f.self_s)


def merge_hot_lines(groups: Iterable[Sequence[HotLine]]) -> list[HotLine]:
    """One hot-line list from several processes' (same line of the same function: added)."""
    summed = ("self_s", "total_s", "samples")
    merged = _merge(groups, lambda h: (h.file, h.line, h.function), summed)
    return sorted(merged, key=lambda h: (-h.self_s, -h.total_s))


def _add_opt(a: Any, b: Any) -> Any:
    if a is None:
        return b
    return a if b is None else a + b


def process_trees(profile: Profile) -> list[tuple[ProcessProfile | None, Sequence[Any]]]:
    """``(process, its thread trees)`` for every process; the main one's are ``profile.threads``."""
    out: list[tuple[ProcessProfile | None, Sequence[Any]]] = []
    main = next((p for p in profile.processes if p.role == "main"), None)
    out.append((main, profile.threads))
    out.extend((p, p.threads) for p in profile.processes if p.role != "main")
    return out


def merged_tree(profile: Profile) -> FrameNode:
    """One call tree of every thread of every process, merged by call path (iteratively).

    Workers that ran the same code fold into one branch, so the function the workers ran shows
    with all of their time; the root's children are the processes' outermost frames.
    """
    top: dict[str, Any] = {"node": None, "kids": {}, "acc": [0.0, 0.0, 0.0, 0.0, 0]}
    for _proc, threads in process_trees(profile):
        for thread in threads:
            root = thread.root
            _acc(top["acc"], root)
            stack = [(c, top) for c in root.children]
            while stack:
                node, parent = stack.pop()
                key = (node.function, node.file, node.line)
                slot = parent["kids"].get(key)
                if slot is None:
                    slot = parent["kids"][key] = {
                        "node": node,
                        "kids": {},
                        "acc": [0.0, 0.0, 0.0, 0.0, 0],
                    }
                _acc(slot["acc"], node)
                stack.extend((c, slot) for c in node.children)
    # freeze bottom-up without recursion
    order: list[dict[str, Any]] = []
    stack2 = [top]
    while stack2:
        slot = stack2.pop()
        order.append(slot)
        stack2.extend(slot["kids"].values())
    built: dict[int, FrameNode] = {}
    for slot in reversed(order):
        wall, self_wall, cpu, self_cpu, samples = slot["acc"]
        kids = sorted((built.pop(id(k)) for k in slot["kids"].values()), key=lambda n: -n.wall_s)
        src = slot["node"]
        built[id(slot)] = FrameNode(
            function=src.function if src is not None else "all processes",
            file=src.file if src is not None else "",
            line=src.line if src is not None else 0,
            wall_s=wall,
            self_wall_s=self_wall,
            cpu_s=cpu,
            self_cpu_s=self_cpu,
            samples=int(samples),
            children=tuple(kids),
        )
    return built[id(top)]


def _acc(acc: list[float], node: FrameNode) -> None:
    acc[0] += node.wall_s
    acc[1] += node.self_wall_s
    acc[2] += node.cpu_s
    acc[3] += node.self_cpu_s
    acc[4] += node.samples


def top_function(proc_threads: Sequence[Any]) -> tuple[str, float, float]:
    """``(function, its own CPU, the process's CPU)``: where one process spent its CPU."""
    own: dict[str, float] = {}
    total = 0.0
    for thread in proc_threads:
        for _d, node in thread.root.walk():
            if node is thread.root:
                continue
            own[node.function] = own.get(node.function, 0.0) + node.self_cpu_s
            total += node.self_cpu_s
    if not own:
        return "", 0.0, 0.0
    name = max(own, key=lambda k: own[k])
    return name, own[name], total


__all__ = [
    "DEFAULT_WAIT_S",
    "Follower",
    "collect",
    "load_record",
    "merge_functions",
    "merge_hot_lines",
    "merged_tree",
    "process_from_record",
    "process_trees",
    "top_function",
]
