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
        self._sampler: Any = None

    def prepare(self, program: object | None) -> None:
        """Nothing to instrument ahead."""

    def start(self) -> None:
        """Start pyinstrument, its sampling held to half the run time (:func:`throttle`)."""
        self._sampler = throttle()
        self.profiler.start()
        self._running = True

    def stop(self) -> None:
        """Stop pyinstrument."""
        if self._running:
            self.profiler.stop()
            self._running = False
            if self._sampler is not None:
                self._sampler.__dict__.pop("_sample", None)  # the class's own method again

    def contribute(self, collector: Collector) -> None:
        """Convert pyinstrument's frame tree; derive the function table from it."""
        session = self.profiler.last_session
        if session is None:
            return
        recorded = len(session.frame_records)
        session.frame_records, k = thin_records(session.frame_records, MAX_TREE_FRAMES)
        root = session.root_frame(trim_stem=False)
        if root is None:
            return
        if k > 1:
            collector.notes.append(
                f"--cpu pyinstrument: {recorded} samples of deep stacks; the call tree was "
                f"built from every {k}th sample (each weighted with its group's time), as "
                "pyinstrument's tree building costs samples x stack depth (use the default "
                "sampler for deep recursion)"
            )
        children = _convert_children(root)
        total = sum(c.wall_s for c in children)
        tree = FrameNode("MainThread", "", 0, total, 0.0, total, 0.0, 0, tuple(children))
        collector.threads = [ThreadTree(0, "MainThread", tree)]
        collector.functions = functions_from_tree([tree])
        collector.interval_s = self.interval_s
        collector.sample_count = recorded
        collector.notes.append("--cpu pyinstrument: pyinstrument's sampler (main thread only)")


def throttle() -> Any:
    """Keep pyinstrument's sampling to at most half of the run; returns the patched sampler.

    pyinstrument samples on the first call or return event ``interval`` after the *start* of
    the previous sample, and a sample copies the whole stack. When one sample costs more than
    the interval (a 10 000-frame recursion: ~17 ms), every call event samples again, and the
    descent into the recursion alone costs depth x depth frame copies: a 10 000-frame
    recursion did not finish in 300 s. The wrapper skips events until as long as the last
    sample took has passed; the skipped time is not lost (pyinstrument weighs the next sample
    with the time since the last one). None when pyinstrument's internals are not the ones
    this knows (the run is then unthrottled).
    """
    try:
        from pyinstrument.stack_sampler import get_stack_sampler

        sampler = get_stack_sampler()
        sample = type(sampler)._sample
    except (ImportError, AttributeError):
        return None
    from time import perf_counter

    bound = sample.__get__(sampler)
    next_ok = [0.0]

    def throttled(frame: Any, event: str, arg: Any) -> None:
        if event == "context_changed":
            bound(frame, event, arg)
            return
        t0 = perf_counter()
        if t0 < next_ok[0]:
            return
        bound(frame, event, arg)
        t1 = perf_counter()
        next_ok[0] = t1 + (t1 - t0)

    sampler._sample = throttled  # read by pyinstrument when it (re)installs its hook
    return sampler


#: At most this many frames (samples x stack depth) go into pyinstrument's tree building. Its
#: ``build_frame_tree`` costs ~10 us per frame of every sample: a 10 000-frame recursion sampled
#: for a minute is 60 million frames, many minutes after the program ended (~2 s here).
MAX_TREE_FRAMES = 500_000


def thin_records(records: list[Any], max_frames: int) -> tuple[list[Any], int]:
    """``(records, k)``: pyinstrument's ``(stack, seconds)`` records, one kept in ``k``.

    ``k`` is the smallest step that brings the frames of the kept records (each stack's length,
    estimated from the records' mean) to ``max_frames`` or fewer; each kept record carries the
    summed time of its group of ``k``, so the total time is exact. ``k == 1`` returns
    ``records`` itself.
    """
    frames = sum(len(stack) for stack, _ in records)
    if frames <= max_frames or len(records) < 2:
        return records, 1
    k = -(-frames // max_frames)
    out = [
        (records[i][0], sum(t for _, t in records[i : i + k])) for i in range(0, len(records), k)
    ]
    return out, k


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
