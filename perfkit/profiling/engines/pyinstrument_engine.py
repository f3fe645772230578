"""``--cpu pyinstrument``: pyinstrument's own sampler and call tree, converted to the model."""

from __future__ import annotations

from typing import Any, ClassVar

from perfkit.errors import MissingDependencyError
from perfkit.profiling._source import is_internal, is_user_code
from perfkit.profiling.engines import _stacks
from perfkit.profiling.engines.base import Collector
from perfkit.profiling.model import FrameNode, FunctionStat, ThreadTree


class PyinstrumentEngine:
    """pyinstrument's Profiler (main thread, its interval); tree and function table."""

    name: ClassVar[str] = "pyinstrument"
    provides: ClassVar[frozenset[str]] = frozenset({"tree", "functions"})
    hooks_calls: ClassVar[bool] = True  # pyinstrument's sampler is a setprofile hook

    def __init__(self, interval_s: float = 0.01) -> None:
        try:
            from pyinstrument import Profiler
        except ImportError:
            raise MissingDependencyError("pyinstrument", "all", "--cpu pyinstrument") from None
        self.interval_s = interval_s
        self.profiler = Profiler(interval=interval_s, async_mode="disabled")
        self._running = False

    def prepare(self, program: object | None) -> None:
        """Nothing to instrument ahead."""

    def start(self) -> None:
        """Start pyinstrument."""
        self.profiler.start()
        self._running = True

    def stop(self) -> None:
        """Stop pyinstrument."""
        if self._running:
            self.profiler.stop()
            self._running = False

    def contribute(self, collector: Collector) -> None:
        """Convert pyinstrument's frame tree; derive the function table from it."""
        session = self.profiler.last_session
        root = session.root_frame(trim_stem=False) if session else None
        if root is None:
            return
        children = _convert_children(root)
        total = sum(c.wall_s for c in children)
        tree = FrameNode("MainThread", "", 0, total, 0.0, total, 0.0, 0, tuple(children))
        collector.threads = [ThreadTree(0, "MainThread", tree)]
        collector.functions = functions_from_tree([tree])
        collector.interval_s = self.interval_s
        collector.sample_count = len(session.frame_records)
        collector.notes.append("--cpu pyinstrument: pyinstrument's sampler (main thread only)")


def _convert_children(top: Any) -> list[FrameNode]:
    """pyinstrument's frames under ``top`` as model nodes, perfkit's own frames lifted out.

    Post-order with an explicit stack: no recursion, whatever the program's stack depth.
    """
    converted: dict[int, list[FrameNode]] = {}
    stack: list[tuple[Any, bool]] = [(top, False)]
    while stack:
        frame, expanded = stack.pop()
        kids = [c for c in frame.children if not c.is_synthetic]
        if not expanded:
            stack.append((frame, True))
            stack.extend((c, False) for c in kids)
            continue
        out: list[FrameNode] = []
        for child in kids:
            sub = converted.pop(id(child))
            if is_internal(child.file_path or ""):
                out.extend(sub)  # lift the program's frames over perfkit's
                continue
            self_t = max(child.time - sum(k.wall_s for k in sub), 0.0)
            out.append(
                FrameNode(
                    function=child.function,
                    file=child.file_path or "",
                    line=child.line_no or 0,
                    wall_s=child.time,
                    self_wall_s=self_t,
                    cpu_s=child.time,
                    self_cpu_s=self_t,
                    samples=0,
                    children=tuple(sub),
                )
            )
        converted[id(frame)] = out
    return converted[id(top)]


def functions_from_tree(roots: list[FrameNode]) -> list[FunctionStat]:
    """Per-function own and total time from call trees (recursion counted once per path)."""
    self_t: dict[tuple[str, str, int], float] = {}
    total_t: dict[tuple[str, str, int], float] = {}
    on_path: dict[tuple[str, str, int], int] = {}
    # (node, entering): entering adds the node's times, leaving takes it off the path
    stack: list[tuple[FrameNode, bool]] = [
        (c, True) for root in reversed(roots) for c in reversed(root.children)
    ]
    while stack:
        node, entering = stack.pop()
        key = (node.function, node.file, node.line)
        if not entering:
            on_path[key] -= 1
            continue
        self_t[key] = self_t.get(key, 0.0) + node.self_wall_s
        if not on_path.get(key):
            total_t[key] = total_t.get(key, 0.0) + node.wall_s
        on_path[key] = on_path.get(key, 0) + 1
        stack.append((node, False))
        stack.extend((c, True) for c in reversed(node.children))
    names = _stacks.ModuleNames()
    out = [
        FunctionStat(
            function=k[0],
            file=k[1],
            line=k[2],
            self_s=self_t[k],
            total_s=total_t.get(k, 0.0),
            module=names(k[1]),
            user_code=is_user_code(k[1]),
        )
        for k in self_t
    ]
    out.sort(key=lambda f: -f.self_s)
    return out
