"""Turn aggregated stack samples into the call tree, the function table and hot lines."""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Mapping
from dataclasses import dataclass, field

from perfkit.profiling._source import is_internal, is_user_code, source_line
from perfkit.profiling.model import FrameNode, FunctionStat, HotLine, ThreadTree

#: Call-tree nodes under this share of their thread's time are folded into their parent's self
#: time, so a long run does not produce a tree of thousands of one-sample leaves.
MIN_NODE_SHARE = 0.0005


@dataclass
class _Node:
    code: types.CodeType | None
    name: str
    wall: float = 0.0
    self_wall: float = 0.0
    cpu: float = 0.0
    self_cpu: float = 0.0
    samples: int = 0
    children: dict[int, _Node] = field(default_factory=dict)


def qualname(code: types.CodeType) -> str:
    """The qualified name of a code object (``Class.method``), ``<module>`` for module code."""
    return getattr(code, "co_qualname", code.co_name)


class ModuleNames:
    """File of a code object -> importable module name, from the loaded modules' ``__file__``.

    Built lazily and matched on the raw path first (what ``co_filename`` usually is), so a
    profile of a short script does not pay a ``realpath`` per loaded module.
    """

    def __init__(self) -> None:
        self._raw: dict[str, str] | None = None
        self._real: dict[str, str] | None = None

    def __call__(self, filename: str) -> str:
        if filename == "<string>":
            return "__main__"
        if filename.startswith("<"):
            return ""
        if self._raw is None:
            self._raw = {}
            for name, mod in list(sys.modules.items()):
                path = getattr(mod, "__file__", None)
                if isinstance(path, str):
                    self._raw.setdefault(path, name)
            main_file = getattr(sys.modules.get("__main__"), "__file__", None)
            if isinstance(main_file, str):
                self._raw[main_file] = "__main__"
        hit = self._raw.get(filename)
        if hit is not None:
            return hit
        if self._real is None:
            self._real = {os.path.realpath(p): n for p, n in self._raw.items()}
        return self._real.get(os.path.realpath(filename), "")


def build(
    stacks: Mapping[tuple[int, tuple[tuple[int, int], ...]], list[float]],
    codes: Mapping[int, types.CodeType],
    thread_names: Mapping[int, str],
    base_depth: Mapping[int, int] | None = None,
    fold_imports: bool = True,
) -> tuple[list[ThreadTree], list[FunctionStat], list[HotLine]]:
    """Aggregate ``(thread, leaf-first stack) -> [wall_s, cpu_s, samples]`` into the model.

    perfkit's own frames are removed from every stack; for a thread listed in ``base_depth``
    the outermost frames (the code around a ``with perfkit.profile()`` block) are removed too.
    With ``fold_imports`` (the default; ``--show-all`` turns it off) the import machinery's
    frames (``<frozen importlib._bootstrap…>``) are folded away as pyinstrument does: their time
    goes to the ``import`` line that caused it and to the imported module's code.
    """
    base_depth = base_depth or {}
    folded: dict[int, bool] = {}
    roots: dict[int, _Node] = {}
    func_self: dict[int, list[float]] = {}
    func_total: dict[int, list[float]] = {}
    line_self: dict[tuple[int, int], list[float]] = {}
    line_total: dict[tuple[int, int], list[float]] = {}
    for (tid, leaf_first), (wall, cpu, n) in stacks.items():
        if thread_names.get(tid, "").startswith("perfkit-"):
            continue  # perfkit's own helper threads (run metadata lookup)
        frames = list(reversed(leaf_first))
        cut = base_depth.get(tid, 0)
        if cut:  # the code around a `with perfkit.profile()` block (raw depth, so cut first)
            frames = frames[cut:]
        # Everything up to the deepest perfkit frame is perfkit's launcher and runner (or the
        # caller of a profiled function): the program's frames start after it.
        for i in range(len(frames) - 1, -1, -1):
            if is_internal(codes[frames[i][0]].co_filename):
                frames = frames[i + 1 :]
                break
        if fold_imports:
            kept = []
            for fr in frames:
                hide = folded.get(fr[0])
                if hide is None:
                    hide = folded[fr[0]] = is_import_machinery(codes[fr[0]].co_filename)
                if not hide:
                    kept.append(fr)
            frames = kept
        if not frames:
            continue
        root = roots.get(tid)
        if root is None:
            root = roots[tid] = _Node(None, thread_names.get(tid, f"thread {tid}"))
        node = root
        node.wall += wall
        node.cpu += cpu
        node.samples += int(n)
        for cid, _line in frames:
            child = node.children.get(cid)
            if child is None:
                child = node.children[cid] = _Node(codes[cid], qualname(codes[cid]))
            child.wall += wall
            child.cpu += cpu
            child.samples += int(n)
            node = child
        node.self_wall += wall
        node.self_cpu += cpu
        leaf = frames[-1]
        _add(func_self, leaf[0], wall, cpu, n)
        _add(line_self, leaf, wall, cpu, n)
        for cid in {cid for cid, _ in frames}:
            _add(func_total, cid, wall, cpu, n)
        for fr in set(frames):
            _add(line_total, fr, wall, cpu, n)

    threads = [
        ThreadTree(tid, root.name, _freeze(root, root.wall * MIN_NODE_SHARE))
        for tid, root in sorted(roots.items(), key=lambda kv: -kv[1].wall)
    ]
    names = ModuleNames()
    functions = []
    for cid, (twall, tcpu, tn) in func_total.items():
        code = codes[cid]
        swall, scpu, _sn = func_self.get(cid, [0.0, 0.0, 0])
        functions.append(
            FunctionStat(
                function=qualname(code),
                file=code.co_filename,
                line=code.co_firstlineno,
                self_s=swall,
                total_s=twall,
                self_cpu_s=scpu,
                total_cpu_s=tcpu,
                samples=int(tn),
                module=names(code.co_filename),
                user_code=is_user_code(code.co_filename),
            )
        )
    functions.sort(key=lambda f: -f.self_s)
    hot = []
    for (cid, line), (twall, _tcpu, tn) in line_total.items():
        code = codes[cid]
        swall = line_self.get((cid, line), [0.0])[0]
        hot.append(
            HotLine(
                file=code.co_filename,
                line=line,
                function=qualname(code),
                self_s=swall,
                total_s=twall,
                source=source_line(code.co_filename, line),
                samples=int(tn),
            )
        )
    hot.sort(key=lambda h: (-h.self_s, -h.total_s))
    return threads, functions, hot


def is_import_machinery(filename: str) -> bool:
    """True for the frames of Python's import system (``<frozen importlib._bootstrap…>``)."""
    return filename.startswith(("<frozen importlib._bootstrap", "<frozen zipimport"))


def _add(table: dict, key: object, wall: float, cpu: float, n: float) -> None:
    row = table.get(key)
    if row is None:
        table[key] = [wall, cpu, n]
    else:
        row[0] += wall
        row[1] += cpu
        row[2] += n


def _freeze(top: _Node, min_wall: float) -> FrameNode:
    """The model tree of ``top``: children in first-seen (time) order, tiny ones folded.

    Iterative (post-order with an explicit stack): a stack 10 000 frames deep is a tree
    10 000 levels deep.
    """
    done: dict[int, FrameNode] = {}
    stack: list[tuple[_Node, bool]] = [(top, False)]
    while stack:
        node, expanded = stack.pop()
        kept = [c for c in node.children.values() if c.wall >= min_wall]
        if not expanded:
            stack.append((node, True))
            stack.extend((c, False) for c in kept)
            continue
        folded = [c for c in node.children.values() if c.wall < min_wall]
        code = node.code
        done[id(node)] = FrameNode(
            function=node.name,
            file=code.co_filename if code else "",
            line=code.co_firstlineno if code else 0,
            wall_s=node.wall,
            self_wall_s=node.self_wall + sum(c.wall for c in folded),
            cpu_s=node.cpu,
            self_cpu_s=node.self_cpu + sum(c.cpu for c in folded),
            samples=node.samples,
            children=tuple(done.pop(id(c)) for c in kept),
        )
    return done[id(top)]


def thread_names() -> dict[int, str]:
    """Thread ident -> name for the live threads (``MainThread`` included)."""
    import threading

    return {t.ident: t.name for t in threading.enumerate() if t.ident is not None}
