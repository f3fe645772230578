"""Views versus copies: ask whether two objects share memory, why an expression copied, and
guard a block of code against hidden copies.

``no_copy`` relies on NumPy reporting every data buffer it allocates to :mod:`tracemalloc` under
its own domain (``np.lib.tracemalloc_domain``): buffers still alive when the block ends are
found by diffing two snapshots of that domain, with the file:line that allocated each; buffers
allocated *and freed* inside the block (``x[idx].sum()``) are caught line by line from the
traced-memory peak of the block's own frame.
"""

from __future__ import annotations

import ast
import linecache
import os
import sys
import tracemalloc
import warnings
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import FrameType, TracebackType
from typing import Any, Literal

import numpy as np

from perfkit.errors import CheckFailedError, UsageError

__all__ = [
    "CopyDetectedError",
    "CopyExplanation",
    "CopyRecord",
    "CopyWarning",
    "explain_copy",
    "is_view",
    "no_copy",
    "shares_memory",
    "sliding_windows",
]


# --------------------------------------------------------------------------------------------
# memory of arrays, frames and tensors


def _is_torch(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "data_ptr")


def _buffers(x: Any) -> list[Any]:
    """NumPy views of ``x``'s memory (no copies), or ``("ptr", lo, hi)`` ranges for GPU tensors."""
    if isinstance(x, np.ndarray):
        return [x]
    if _is_torch(x):
        if x.device.type == "cpu":
            try:
                return [x.detach().numpy()]
            except (TypeError, RuntimeError):  # bfloat16 and friends have no NumPy dtype
                pass
        lo = x.untyped_storage().data_ptr()
        return [("ptr", x.device, lo, lo + x.untyped_storage().nbytes())]
    module = type(x).__module__.split(".")[0]
    if module == "pandas":
        import pandas as pd

        if isinstance(x, pd.DataFrame):
            out: list[Any] = []
            for i in range(x.shape[1]):
                out.extend(_buffers(x.iloc[:, i]))
            return out
        if isinstance(x, (pd.Series, pd.Index)):
            arr = x.array
            data = getattr(arr, "_ndarray", None)
            if data is None:
                data = getattr(arr, "_data", None)
            if isinstance(data, np.ndarray):
                return [data]
            return [np.asarray(arr)] if isinstance(x.dtype, np.dtype) else []
    if isinstance(x, (memoryview, bytearray, bytes)):
        return [np.frombuffer(x, dtype=np.uint8)]
    if hasattr(x, "__array_interface__"):
        return [np.asarray(x)]
    raise UsageError(
        f"cannot inspect the memory of a {type(x).__name__}",
        "pass NumPy arrays, pandas objects, torch tensors or buffers",
    )


def shares_memory(a: Any, b: Any, *, exact: bool = True) -> bool:
    """True when ``a`` and ``b`` use some of the same bytes of memory.

    Parameters
    ----------
    a, b
        NumPy arrays, pandas Series/DataFrames/Index, torch tensors or buffer objects.
    exact
        Solve the overlap exactly (``np.shares_memory``); when that is too hard (huge strided
        views) or ``exact=False``, fall back to comparing the memory bounds, which can only err
        towards True.
    """
    for x in _buffers(a):
        for y in _buffers(b):
            if isinstance(x, tuple) or isinstance(y, tuple):
                if isinstance(x, tuple) and isinstance(y, tuple) and x[1] == y[1]:
                    if x[2] < y[3] and y[2] < x[3]:
                        return True
                continue
            if not exact:
                if np.may_share_memory(x, y):
                    return True
                continue
            try:
                if np.shares_memory(x, y, max_work=1_000_000):
                    return True
            except np.exceptions.TooHardError:
                if np.may_share_memory(x, y):
                    return True
    return False


def is_view(a: Any, of: Any = None) -> bool:
    """True when ``a`` does not own its memory (``of=None``) or uses ``of``'s memory.

    Examples
    --------
    >>> x = np.arange(10)
    >>> is_view(x[2:5], of=x), is_view(x[[2, 3, 4]], of=x)
    (True, False)
    """
    if of is not None:
        return shares_memory(a, of)
    if isinstance(a, np.ndarray):
        return not a.flags.owndata
    if _is_torch(a):
        return a._base is not None or a.storage_offset() != 0 or not a.is_contiguous()
    bufs = _buffers(a)
    return any(isinstance(b, np.ndarray) and not b.flags.owndata for b in bufs)


def sliding_windows(a: Any, w: int, *, axis: int = -1, step: int = 1) -> np.ndarray:
    """Read-only strided view of every length-``w`` window of ``a`` along ``axis`` (no copy).

    The windows run along a new last axis; ``step`` skips windows. Writing to the view is an
    error because its windows overlap in memory.

    Examples
    --------
    >>> sliding_windows(np.arange(5), 3)
    array([[0, 1, 2],
           [1, 2, 3],
           [2, 3, 4]])
    """
    arr = np.asarray(a)
    if arr.ndim == 0:
        raise UsageError("sliding_windows needs at least a 1-D array, got a 0-d one", "")
    if isinstance(w, bool) or not isinstance(w, (int, np.integer)):
        raise UsageError(f"window length must be an int, got {w!r}", "e.g. w=20")
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 1:
        raise UsageError(f"step must be an int >= 1, got {step!r}", "e.g. step=1")
    if not -arr.ndim <= axis < arr.ndim:
        raise UsageError(f"axis {axis} is out of range for a {arr.ndim}-D array", "")
    ax = axis % arr.ndim
    if not 1 <= w <= arr.shape[ax]:
        raise UsageError(
            f"window length {w} must be between 1 and the axis length {arr.shape[ax]}",
            "use a shorter window",
        )
    view = np.lib.stride_tricks.sliding_window_view(arr, int(w), axis=ax, writeable=False)
    if step > 1:
        index = [slice(None)] * view.ndim
        index[ax] = slice(None, None, int(step))
        view = view[tuple(index)]
    return view


# --------------------------------------------------------------------------------------------
# explain_copy


@dataclass(frozen=True)
class CopyExplanation:
    """Whether an expression's result is a view or a copy, with one note per step."""

    expr: str
    is_copy: bool
    result_bytes: int
    shares_with: tuple[str, ...]
    notes: tuple[str, ...]

    def __str__(self) -> str:
        head = (
            f"{self.expr}: copy ({self.result_bytes:,} new bytes)"
            if self.is_copy
            else f"{self.expr}: view of {', '.join(self.shares_with) or 'its input'}"
        )
        return "\n".join([head, *(f"  - {n}" for n in self.notes)])


def _nbytes(x: Any) -> int:
    if isinstance(x, np.ndarray):
        return int(x.nbytes)
    if _is_torch(x):
        return int(x.numel() * x.element_size())
    if hasattr(x, "memory_usage"):
        usage = x.memory_usage(index=False)
        return int(usage.sum() if hasattr(usage, "sum") else usage)
    return 0


def _arraylike(x: Any) -> bool:
    if isinstance(x, np.ndarray) or _is_torch(x):
        return True
    return type(x).__module__.split(".")[0] == "pandas" and hasattr(x, "memory_usage")


def _index_kind(idx: Any) -> str:
    items = idx if isinstance(idx, tuple) else (idx,)
    kinds = set()
    for it in items:
        if it is None or it is Ellipsis or isinstance(it, (slice, int, np.integer)):
            continue
        arr = np.asarray(it)
        kinds.add("mask" if arr.dtype == bool else "fancy")
    if "mask" in kinds:
        return "mask"
    return "fancy" if kinds else "basic"


_METHOD_NOTES = {
    "flatten": "flatten() always copies; ravel() returns a view when it can",
    "copy": "copy() copies on purpose",
    "astype": "astype() copies unless the dtype is unchanged and copy=False",
    "tolist": "tolist() builds Python objects (far larger than the array)",
}


def explain_copy(expr: str, namespace: Mapping[str, Any] | None = None) -> CopyExplanation:
    """Evaluate ``expr`` and say whether its result is a view or a copy, and which step copied.

    Each subscript and method call on an array inside ``expr`` is evaluated again on its own
    and classified (basic slice: view; integer-array index or boolean mask: copy; reshape of a
    non-contiguous array: copy; ``astype``/``flatten``/``np.array``: copy; pandas results
    under Copy-on-Write: lazy copies). Keep ``expr`` free of side effects.

    Parameters
    ----------
    expr
        A Python expression, e.g. ``"x[idx].reshape(-1)"``.
    namespace
        Names used by ``expr``; defaults to the caller's globals and locals.

    Examples
    --------
    >>> x = np.arange(12.0)
    >>> explain_copy("x[[1, 2]]", {"x": x}).is_copy
    True
    """
    if namespace is None:
        frame = sys._getframe(1)
        namespace = {**frame.f_globals, **frame.f_locals}
    ns = dict(namespace)
    ns.setdefault("np", np)
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        msg = f"not a Python expression: {expr!r} ({exc.msg})"
        raise UsageError(msg, "pass e.g. 'x[idx]'") from None

    def ev(node: ast.AST) -> Any:
        return eval(compile(ast.Expression(node), "<explain_copy>", "eval"), ns)  # noqa: S307

    try:
        result = ev(tree.body)
    except Exception as exc:
        raise UsageError(
            f"evaluating {expr!r} failed: {type(exc).__name__}: {exc}",
            "pass the names it uses in namespace=",
        ) from exc
    notes: list[str] = []
    for node in ast.walk(tree.body):
        note = _explain_node(node, ev)
        if note:
            notes.append(note)
    names = sorted({n.id for n in ast.walk(tree.body) if isinstance(n, ast.Name)})
    operands = {n: ns[n] for n in names if n in ns and _arraylike(ns[n])}
    if not _arraylike(result):
        notes.append(f"the result is a {type(result).__name__}, not an array")
        return CopyExplanation(expr, False, 0, (), tuple(reversed(notes)))
    shares = tuple(n for n, v in operands.items() if shares_memory(result, v))
    if type(result).__module__.split(".")[0] == "pandas":
        notes.append(
            "pandas Copy-on-Write: a derived frame/Series shares memory until one side is "
            "written, then the written side copies (a lazy copy)"
        )
    return CopyExplanation(
        expr=expr,
        is_copy=not shares,
        result_bytes=0 if shares else _nbytes(result),
        shares_with=shares,
        notes=tuple(reversed(notes)),
    )


def _explain_node(node: ast.AST, ev: Any) -> str | None:
    src = ast.unparse(node)
    try:
        if isinstance(node, ast.Subscript):
            base = ev(node.value)
            if not isinstance(base, np.ndarray):
                return None
            index = ev(node.slice)
            kind = _index_kind(index)
            out = base[index]
            copied = not np.shares_memory(out, base) if isinstance(out, np.ndarray) else True
            what = {
                "basic": "basic index (ints/slices)",
                "fancy": "integer-array (fancy) index",
                "mask": "boolean mask",
            }[kind]
            if copied:
                fix = {
                    "fancy": "; a slice, or np.take(..., out=buf), avoids the new buffer",
                    "mask": "; np.compress/np.where into a preallocated out= avoids it",
                }.get(kind, "")
                return f"{src}: {what} -> copy ({_nbytes(out):,} bytes){fix}"
            return f"{src}: {what} -> view"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            base = ev(node.func.value)
            if base is np and method in ("array", "asarray", "ascontiguousarray", "copy"):
                arg = ev(node.args[0]) if node.args else None
                out = ev(node)
                copied = not (
                    isinstance(arg, np.ndarray)
                    and isinstance(out, np.ndarray)
                    and np.shares_memory(out, arg)
                )
                if method == "array" and copied:
                    return (
                        f"{src}: np.array copies by default -> copy ({_nbytes(out):,} bytes); "
                        "np.asarray returns the array itself when no conversion is needed"
                    )
                return f"{src}: np.{method} -> {'copy' if copied else 'no copy (same memory)'}"
            if not isinstance(base, np.ndarray):
                if _arraylike(base) and method in ("to_numpy", "copy", "astype"):
                    return (
                        f"{src}: pandas {method}() -> "
                        f"{'view' if shares_memory(ev(node), base) else 'copy'}"
                    )
                return None
            if any(isinstance(a, ast.Starred) for a in node.args) or any(
                k.arg is None for k in node.keywords
            ):
                return None
            args = [ev(a) for a in node.args]
            kwargs = {k.arg: ev(k.value) for k in node.keywords}
            out = getattr(base, method)(*args, **kwargs)
            copied = not (isinstance(out, np.ndarray) and np.shares_memory(out, base))
            if method in ("reshape", "ravel"):
                if copied:
                    return (
                        f"{src}: {method} of a non-contiguous array -> copy "
                        f"({_nbytes(out):,} bytes); make it contiguous once, or keep the shape"
                    )
                return f"{src}: {method} of a contiguous array -> view"
            if method in _METHOD_NOTES:
                state = f"copy ({_nbytes(out):,} bytes)" if copied else "view"
                return f"{src}: {_METHOD_NOTES[method]} -> {state}"
            if method in ("transpose", "view", "swapaxes"):
                return f"{src}: {method} -> {'copy' if copied else 'view'}"
        if isinstance(node, ast.Attribute) and node.attr in ("T", "values"):
            base = ev(node.value)
            if _arraylike(base):
                out = ev(node)
                return f"{src}: .{node.attr} -> {'view' if shares_memory(out, base) else 'copy'}"
    except Exception:  # a sub-expression that cannot stand alone: no note for it
        return None
    return None


# --------------------------------------------------------------------------------------------
# no_copy


class CopyDetectedError(CheckFailedError):
    """``no_copy(action="raise")`` saw a new buffer of at least ``min_bytes`` (exit 1)."""


class CopyWarning(UserWarning):
    """``no_copy(action="warn")``: a new buffer of at least ``min_bytes`` was allocated."""


@dataclass(frozen=True)
class CopyRecord:
    """A buffer allocated inside a ``no_copy`` block.

    ``kind`` is ``"buffer"`` (a NumPy buffer still alive at the end of the block, traced
    exactly), ``"temporary"`` (the traced-memory peak rose by ``size_bytes`` during that line
    and fell again: a temporary copy), or ``"cuda"`` (torch CUDA memory, no line attribution
    beyond the block).
    """

    filename: str
    lineno: int
    size_bytes: int
    kind: str = "buffer"
    code: str = ""

    def __str__(self) -> str:
        what = {"buffer": "new buffer", "temporary": "temporary buffer", "cuda": "CUDA memory"}
        text = f"{self.filename}:{self.lineno}: {what.get(self.kind, self.kind)} of "
        text += f"{self.size_bytes:,} bytes"
        return text + (f" — {self.code}" if self.code else "")


def _library_dirs() -> tuple[str, ...]:
    dirs = [os.path.dirname(np.__file__), os.path.dirname(__file__)]
    for name in ("pandas", "torch"):
        mod = sys.modules.get(name)
        if mod is not None and getattr(mod, "__file__", None):
            dirs.append(os.path.dirname(mod.__file__))
    return tuple(d + os.sep for d in dirs)


@dataclass
class no_copy:  # noqa: N801 - used as ``with perfkit.no_copy():``, a verb like contextlib's
    """Context manager that catches new array buffers of at least ``min_bytes`` in a block.

    Parameters
    ----------
    min_bytes
        Smallest buffer worth reporting.
    action
        ``"raise"`` (:class:`CopyDetectedError` at the end of the block), ``"warn"``
        (:class:`CopyWarning` pointing at each allocating line) or ``"record"`` (just fill
        :attr:`copies`).
    temporaries
        Also catch buffers allocated and freed inside the block, line by line. Needs
        :mod:`tracemalloc` idle and no other tracer (a debugger, coverage) on entry; otherwise
        only surviving buffers are reported and :attr:`notes` says so.

    Attributes
    ----------
    copies
        The :class:`CopyRecord` found, in allocation order.

    Examples
    --------
    >>> x = np.arange(1_000_000.0)
    >>> with no_copy(min_bytes=1 << 20, action="record") as guard:
    ...     y = x[10:500_000]          # a slice: a view, silent
    ...     z = x[np.arange(500_000)]  # fancy index: a 4 MB copy
    >>> [c.size_bytes for c in guard.copies]
    [4000000]
    """

    min_bytes: int = 1 << 20
    action: Literal["raise", "warn", "record"] = "raise"
    temporaries: bool = True
    copies: list[CopyRecord] = field(default_factory=list, init=False)
    notes: list[str] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        if isinstance(self.min_bytes, bool) or not isinstance(self.min_bytes, (int, np.integer)):
            raise UsageError(f"min_bytes must be an int, got {self.min_bytes!r}", "e.g. 1 << 20")
        if self.min_bytes < 1:
            raise UsageError(f"min_bytes must be >= 1, got {self.min_bytes}", "e.g. 1 << 20")
        if self.action not in ("raise", "warn", "record"):
            raise UsageError(f"unknown action {self.action!r}", "use 'raise', 'warn' or 'record'")
        self._state: dict[str, Any] = {}

    # the two snapshots of NumPy's tracemalloc domain -----------------------------------------
    def _numpy_traces(self) -> Counter:
        snap = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.DomainFilter(True, np.lib.tracemalloc_domain)]
        )
        return Counter((t.traceback, t.size) for t in snap.traces if t.size >= self.min_bytes)

    def __enter__(self) -> no_copy:
        st = self._state
        if st.get("active"):
            raise UsageError(
                "this no_copy object is already active: a block cannot be entered twice at once",
                "use a new no_copy() for the inner block (one object may be reused after exit)",
            )
        self.copies.clear()
        self.notes.clear()
        st.clear()
        st["started"] = not tracemalloc.is_tracing()
        if st["started"]:
            tracemalloc.start(25)
        st["traced"] = False
        st["active"] = True
        try:
            st["before"] = self._numpy_traces()
            frame = sys._getframe(1)
            st["frame"] = frame
            st["temps"] = []
            if self.temporaries:
                if not st["started"]:
                    self.notes.append(
                        "temporaries not tracked: tracemalloc was already running (its peak is "
                        "someone else's measurement)"
                    )
                elif sys.gettrace() is not None:
                    self.notes.append("temporaries not tracked: another tracer is active")
                else:
                    self._start_line_tracing(frame)
            st["cuda"] = _cuda_start()
        except BaseException:
            self._restore()
            raise
        return self

    def _restore(self) -> None:
        """Undo what ``__enter__`` turned on (the line tracer, tracemalloc); safe to call twice."""
        st = self._state
        try:
            if st.get("traced"):
                st["traced"] = False
                sys.settrace(None)
                frame = st.get("frame")
                if frame is not None:  # hand the caller's frame its own tracer back
                    frame.f_trace = st.get("old_f_trace")
                    frame.f_trace_lines = st.get("old_lines", True)
        finally:
            if st.pop("started", False) and tracemalloc.is_tracing():
                tracemalloc.stop()
            st.pop("frame", None)  # no reference to the caller's frame outlives the block
            st["active"] = False

    def _start_line_tracing(self, frame: FrameType) -> None:
        st = self._state
        st["base"] = tracemalloc.get_traced_memory()[0]
        st["line"] = frame.f_lineno
        tracemalloc.reset_peak()

        def local(fr: FrameType, event: str, arg: Any) -> Any:
            if event == "line" and fr is frame:
                self._check_line(fr.f_lineno)
            return local

        def global_(fr: FrameType, event: str, arg: Any) -> None:
            return None

        st["old_f_trace"] = frame.f_trace
        st["old_lines"] = frame.f_trace_lines
        frame.f_trace = local
        frame.f_trace_lines = True
        sys.settrace(global_)
        st["traced"] = True

    def _check_line(self, next_line: int | None) -> None:
        st = self._state
        current, peak = tracemalloc.get_traced_memory()
        rose = peak - max(current, st["base"])
        if rose >= self.min_bytes:
            st["temps"].append((st["line"], rose))
        st["base"] = current
        tracemalloc.reset_peak()
        if next_line is not None:
            st["line"] = next_line

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        st = self._state
        if not st.get("active"):
            return None  # never entered, or already exited: nothing is on, nothing to report
        frame: FrameType = st["frame"]
        try:
            if st["traced"]:
                sys.settrace(None)
                self._check_line(None)
            after = self._numpy_traces()
        finally:
            self._restore()
        new = after - st["before"]
        libs = _library_dirs()
        records: list[CopyRecord] = []
        for (traceback, size), count in new.items():
            where = traceback[-1]
            for fr in reversed(traceback):
                if not fr.filename.startswith(libs):
                    where = fr
                    break
            code = linecache.getline(where.filename, where.lineno).strip()
            records.extend([CopyRecord(where.filename, where.lineno, size, "buffer", code)] * count)
        seen_lines = {r.lineno for r in records if r.filename == frame.f_code.co_filename}
        filename = frame.f_code.co_filename
        for line, size in st["temps"]:
            if line in seen_lines:
                continue
            code = linecache.getline(filename, line).strip()
            records.append(CopyRecord(filename, line, int(size), "temporary", code))
        cuda = _cuda_end(st["cuda"])
        if cuda >= self.min_bytes:
            records.append(CopyRecord(filename, frame.f_lineno, cuda, "cuda"))
        self.copies.extend(records)
        if not records or exc_type is not None:
            return None
        if self.action == "warn":
            for r in records:
                warnings.warn_explicit(f"no_copy: {r}", CopyWarning, r.filename, r.lineno)
        elif self.action == "raise":
            lines = "; ".join(str(r) for r in records[:5])
            more = f" (+{len(records) - 5} more)" if len(records) > 5 else ""
            raise CopyDetectedError(
                f"{len(records)} new buffer(s) of >= {self.min_bytes:,} bytes inside no_copy: "
                f"{lines}{more}",
                "use a slice/view, np.asarray, or an out= buffer; or raise min_bytes",
            )
        return None


def _cuda_start() -> int | None:
    """CUDA bytes allocated now, if torch is already loaded and CUDA is in use."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        if not (torch.cuda.is_available() and torch.cuda.is_initialized()):
            return None
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        return int(torch.cuda.memory_allocated())
    except Exception:  # a broken CUDA setup must not break the guard
        return None


def _cuda_end(start: int | None) -> int:
    if start is None:
        return 0
    import torch

    torch.cuda.synchronize()
    return int(torch.cuda.max_memory_allocated()) - start
