"""``--memory``: RSS over time and its peak, and where memory was allocated, at low cost.

Running tracemalloc for the whole run costs 5-10x on allocation- and call-heavy code, so the
default measures from a background thread instead (cost per sample, not per allocation):

* RSS every ``interval_s`` (peak, memory over time), read in the CPU sampler's thread when one
  runs at least as often (:meth:`MemoryEngine.ride`: one thread waking the program, not two),
  else in a thread of its own;
* RSS growth between two samples is charged to the line the main thread is on (its innermost
  frame in the program's own code) — this catches large one-off buffers, NumPy's included;
* while memory grows, the large NumPy arrays alive in that frame are noted with their dtype
  and the error a float32 copy would have (evidence for the downcast hint);
* ``tracemalloc="sampled"`` switches tracemalloc on for short windows (``window_s`` out of
  every ``period_s``) and keeps the exact allocation sites it saw there; NumPy reports its
  array buffers to tracemalloc, so they appear with the line that made them. ``"full"``
  traces the whole run (exact peak, slow), ``"off"`` never.

Thread safety. ``tracemalloc.start()``/``stop()`` and the read of the program's local variables
run on the main thread, never on the sampler thread: the sampler asks for them with a signal
(:class:`MainThreadCalls`) and Python runs the handler in the main thread between two bytecodes.
``tracemalloc.stop()`` from another thread crashes CPython before 3.12.9 / 3.13.2 (gh-128679):
a thread in an allocator hook without the GIL (NumPy's ``npyiter_allocate_buffers`` calls
``PyMem_RawMalloc`` with the GIL released) waits for the GIL, ``stop()`` frees tracemalloc's
traceback buffer meanwhile, and the waiting thread then writes through a NULL pointer
(``traceback_new``) — ``perfkit profile --memory`` died with SIGSEGV that way. ``frame.f_locals``
of a frame running in another thread is not thread-safe either (it writes the frame's locals
dict; free-threaded builds crash on it, gh-144446).
"""

from __future__ import annotations

import _thread
import os
import signal
import sys
import time
import tracemalloc
import weakref
from collections.abc import Callable
from types import FrameType
from typing import Any, ClassVar

from perfkit.profiling._source import is_internal, is_user_code, source_line
from perfkit.profiling.engines import sampling
from perfkit.profiling.engines._stacks import qualname
from perfkit.profiling.engines.base import Collector
from perfkit.profiling.model import AllocationSite, ArrayObservation, MemoryReport

TRACEMALLOC_MODES = ("sampled", "full", "off")
#: RSS growth below this between two samples is noise (allocator slack, page-table churn).
MIN_GROWTH_BYTES = 256 * 1024
#: Arrays smaller than this are not worth a dtype hint.
MIN_ARRAY_BYTES = 1 << 20
#: tracemalloc traces smaller than this are not reported as allocation sites.
MIN_TRACE_BYTES = 16 * 1024
MAX_SERIES = 2000
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
#: CPython versions where ``tracemalloc.stop()`` can crash a thread that is inside an allocator
#: hook without the GIL (gh-128679, fixed in 3.12.9 and 3.13.2). There, tracemalloc windows are
#: opened only while no other thread of the program exists (the main thread stops them itself).
TRACEMALLOC_STOP_RACE = sys.version_info < (3, 12, 9) or (3, 13) <= sys.version_info < (3, 13, 2)


def rss_bytes(fd: int | None = None) -> int:
    """The resident set size of this process, read cheaply from /proc when it exists.

    ``fd``: an open descriptor of ``/proc/self/statm`` (one ``pread``, no file object).
    """
    if fd is not None:
        try:
            return int(os.pread(fd, 128, 0).split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            pass
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except OSError:
        import psutil

        return int(psutil.Process().memory_info().rss)


def user_frame(frame: Any) -> Any:
    """The innermost frame of the program's own code at or above ``frame`` (or None)."""
    f = frame
    while f is not None:
        name = f.f_code.co_filename
        if is_user_code(name) and not is_internal(name):
            return f
        f = f.f_back
    return None


class MainThreadCalls:
    """Run a short job on the main thread, between two of its bytecodes, when a thread asks.

    A signal handler is the one place where Python runs code on the main thread at a moment the
    main thread does not choose; the job gets the main thread's current frame. The signal is one
    whose default action is to ignore it (``SIGURG``, else ``SIGWINCH``) and that the program has
    not claimed (its handler is ``SIG_DFL``); syscalls it interrupts are restarted. A program that
    installs its own handler for it later wins: :meth:`request` sees that and sends nothing
    more, and :meth:`uninstall` leaves the program's handler in place.

    Parameters
    ----------
    job
        Called on the main thread with its current frame (or None); exceptions are counted in
        ``errors``, never raised into the program.
    """

    CANDIDATES: ClassVar[tuple[str, ...]] = ("SIGURG", "SIGWINCH")

    def __init__(self, job: Callable[[FrameType | None], None]) -> None:
        self._job = job
        self._handler = self._on_signal  # one bound-method object, compared by identity
        self.signum: int | None = None
        self._previous: Any = None
        self._main = threading_main_ident()
        self._pending = False
        self.errors = 0
        self.calls = 0

    def install(self) -> bool:
        """Claim a free signal; False (and nothing installed) off the main thread or if none is."""
        if _thread.get_ident() != self._main or not hasattr(signal, "pthread_kill"):
            return False
        for name in self.CANDIDATES:
            signum = getattr(signal, name, None)
            if signum is None:
                continue
            try:
                if signal.getsignal(signum) != signal.SIG_DFL:
                    continue  # the program uses it
                self._previous = signal.signal(signum, self._handler)
                signal.siginterrupt(signum, False)
            except (OSError, ValueError, RuntimeError):
                continue
            self.signum = int(signum)
            return True
        return False

    @property
    def installed(self) -> bool:
        """True while our handler is the signal's handler."""
        return self.signum is not None and signal.getsignal(self.signum) is self._handler

    def request(self) -> bool:
        """Ask for one run of the job (from any thread); False when it cannot be delivered."""
        if not self.installed:
            return False
        if self._pending:  # one signal on its way serves every request made before it runs
            return True
        self._pending = True
        try:
            signal.pthread_kill(self._main, self.signum)  # type: ignore[arg-type]
        except (OSError, ValueError):
            self._pending = False
            return False
        return True

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._pending = False  # a request made from here on sends a new signal
        self.calls += 1
        try:
            self._job(frame)
        except Exception:  # noqa: BLE001 - never raise into the program
            self.errors += 1

    def uninstall(self) -> None:
        """Run a job still pending, then give the signal back (unless the program took it)."""
        if self.signum is None:
            return
        for _ in range(200):  # a signal already sent runs here (sleep is interrupted by it)
            if not self._pending or not self.installed:
                break
            time.sleep(0.0005)
        if self.installed:
            try:
                signal.signal(self.signum, self._previous)
            except (OSError, ValueError, TypeError):
                pass
        self.signum = None


def threading_main_ident() -> int:
    """The thread id of the main thread (the one signal handlers run on)."""
    import threading

    return threading.main_thread().ident or _thread.get_ident()


class MemoryEngine:
    """RSS sampling thread plus selective tracemalloc; fills ``Profile.memory``."""

    name: ClassVar[str] = "memory"
    provides: ClassVar[frozenset[str]] = frozenset({"memory"})
    hooks_calls: ClassVar[bool] = False

    def __init__(
        self,
        interval_s: float = 0.01,
        tracemalloc_mode: str = "sampled",
        period_s: float = 1.0,
        window_s: float = 0.01,
    ) -> None:
        if tracemalloc_mode not in TRACEMALLOC_MODES:
            raise ValueError(f"tracemalloc_mode must be one of {TRACEMALLOC_MODES}")
        self.interval_s = interval_s
        self.mode = tracemalloc_mode
        self.period_s, self.window_s = period_s, window_s
        self.series: list[tuple[float, int]] = []
        self.growth: dict[tuple[str, int, str], list[int]] = {}
        self.traced: dict[tuple[str, int, str], list[int]] = {}
        self.arrays: dict[tuple[str, str, str], ArrayObservation] = {}
        # id -> weak reference of each array already noted: the same array seen again in a
        # caller (``feats = build(x)``) is not a second observation (a false hint at the call)
        self._seen_arrays: dict[int, Any] = {}
        self.start_rss = self.peak_rss = self.end_rss = 0
        self.trace_peak: int | None = None
        self.covered_s = 0.0
        #: RSS growths that could not be charged to a line (a frame vanished mid-read).
        self.attribution_errors = 0
        self._t0 = 0.0
        self._main = _thread.get_ident()
        self._stop_lock = _thread.allocate_lock()
        self._done_lock = _thread.allocate_lock()
        self._running = False
        self._owns_tracemalloc = False
        # Work the sampler asks of the main thread (see MainThreadCalls); set by the sampler,
        # cleared by the main thread, both under the GIL.
        self._calls: MainThreadCalls | None = None
        self._ask_start = self._ask_stop = self._ask_locals = False
        self._window_open = False
        self._window_t0 = 0.0
        #: tracemalloc windows not opened because another thread of the program was running
        #: (a Python with gh-128679) or because no signal could reach the main thread.
        self.windows_skipped = 0
        self._calls_ok = False
        #: The sampler whose thread takes the RSS readings (:meth:`ride`); None: a thread of ours.
        self._host: Any = None
        self._tick_lock = _thread.allocate_lock()
        self._statm: int | None = None
        self._prev_rss = 0
        self._last_tick = self._next_window = self._next_snapshot = 0.0

    def ride(self, sampler: Any) -> bool:
        """Take the RSS readings in ``sampler``'s thread (its ``riders``) instead of a thread of
        our own, when it samples at least as often as ``interval_s``.

        One thread waking the program 100 times a second instead of two: every wake-up takes
        the GIL from the program, and on a machine with as many busy threads as cores (NumPy's
        BLAS workers) a second waking thread delays them all. Returns True when riding.
        """
        if self._running or not sampler.interval_s <= self.interval_s:
            return False
        self._host = sampler
        return True

    def prepare(self, program: object | None) -> None:
        """Nothing to instrument ahead."""

    def start(self) -> None:
        """Start the RSS thread (and tracemalloc for the whole run in ``full`` mode)."""
        self._main = _thread.get_ident()
        self._t0 = time.perf_counter()
        self.start_rss = self.peak_rss = rss_bytes()
        self.series.append((0.0, self.start_rss))
        if self.mode == "full" and not tracemalloc.is_tracing():
            tracemalloc.start(8)
            self._owns_tracemalloc = True
        calls = MainThreadCalls(self._on_main_thread)
        self._calls = calls if calls.install() else None
        self._calls_ok = self._calls is not None
        try:
            self._statm = os.open("/proc/self/statm", os.O_RDONLY)
        except OSError:
            self._statm = None
        now = time.perf_counter()
        self._prev_rss = self.start_rss
        self._last_tick = now
        self._next_window = now + min(self.period_s / 2, 0.1)  # short runs too
        self._next_snapshot = now + 0.5
        self._running = True
        if self._host is not None:
            self._host.riders.append(self._ride_tick)
            return
        self._stop_lock.acquire()
        self._done_lock.acquire()
        _thread.start_new_thread(self._run, ())

    def stop(self) -> None:
        """Stop the readings; take the final reading (and the full-mode snapshot)."""
        if not self._running:
            return
        self._running = False
        if self._host is not None:
            with self._tick_lock:  # a reading under way in the sampler's thread ends first
                if self._ride_tick in self._host.riders:
                    self._host.riders.remove(self._ride_tick)
            if self._window_open and tracemalloc.is_tracing():
                self._collect_traces()
        else:
            self._stop_lock.release()
            self._done_lock.acquire()
            self._done_lock.release()
        if self._statm is not None:
            os.close(self._statm)
            self._statm = None
        if self._calls is not None:
            self._calls.uninstall()  # runs a request still on its way first
        self._ask_start = self._ask_locals = False
        if self._window_open:  # we are on the main thread: closing the window here is safe
            self._ask_stop = True
            self._on_main_thread(None)
        self.end_rss = rss_bytes()
        self.peak_rss = max(self.peak_rss, self.end_rss)
        self.series.append((time.perf_counter() - self._t0, self.end_rss))
        if self.end_rss - self.start_rss >= MIN_ARRAY_BYTES and "numpy" in sys.modules:
            # The arrays still alive in the profiled block's frame when it ends are evidence
            # whatever the sampler thread managed to see (it may not run at all on a loaded
            # machine before a short block ends).
            f = user_frame(sys._getframe(1))
            if f is not None:
                key = (f.f_code.co_filename, f.f_lineno or 0, qualname(f.f_code))
                try:
                    self._note_arrays(f, key)
                except Exception:  # noqa: BLE001 - evidence is optional, the profile is not
                    self.attribution_errors += 1
        if self._owns_tracemalloc:
            self._collect_traces()
            self.trace_peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            self._owns_tracemalloc = False

    def _run(self) -> None:
        me = _thread.get_ident()
        sampling.PERFKIT_THREADS.add(me)
        try:
            while not self._stop_lock.acquire(timeout=self.interval_s):
                self._tick(time.perf_counter())
            if self._window_open and tracemalloc.is_tracing():
                self._collect_traces()  # stop() closes it, on the main thread
        finally:
            sampling.PERFKIT_THREADS.discard(me)
            self._done_lock.release()

    def _ride_tick(self, now: float) -> None:
        """One reading from the host sampler's thread, at most every ``interval_s``."""
        if now - self._last_tick < self.interval_s * 0.9 or not self._tick_lock.acquire(False):
            return
        try:
            if self._running:
                self._last_tick = now
                self._tick(now)
        finally:
            self._tick_lock.release()

    def _tick(self, now: float) -> None:
        """One RSS reading, its growth charged to a line, and the tracemalloc window's turn."""
        rss = rss_bytes(self._statm)
        self.peak_rss = max(self.peak_rss, rss)
        self.series.append((now - self._t0, rss))
        if len(self.series) > MAX_SERIES:
            self.series = self.series[::2]
        if rss - self._prev_rss >= MIN_GROWTH_BYTES:
            try:
                self._charge_growth(rss - self._prev_rss)
            except Exception:  # noqa: BLE001 - never let attribution kill the sampler
                self.attribution_errors += 1
        self._prev_rss = rss
        if self.mode == "sampled":
            # The main thread opens and closes the window (MainThreadCalls); the
            # snapshot is taken here, while the window is still open.
            if self._window_open:
                # closed at the reading nearest its end (not the first one after it): windows
                # last window_s on average instead of window_s + interval_s / 2, and every ms
                # traced runs the program several times slower
                end = self._window_t0 + self.window_s - self.interval_s / 2
                if not self._ask_stop and now >= end:
                    self._collect_traces()
                    self._ask(stop=True)
            elif not self._ask_start and now >= self._next_window:
                self._next_window = now + self.period_s
                if self._may_open_window():
                    self._ask(start=True)
                else:
                    self.windows_skipped += 1
        elif self.mode == "full" and now >= self._next_snapshot:
            self._collect_traces()
            self._next_snapshot = now + 0.5

    def _charge_growth(self, delta: int) -> None:
        frame = sys._current_frames().get(self._main)
        f = user_frame(frame)
        if f is None:
            return
        key = (f.f_code.co_filename, f.f_lineno or 0, qualname(f.f_code))
        row = self.growth.setdefault(key, [0, 0])
        row[0] += delta
        row[1] += 1
        if delta >= MIN_ARRAY_BYTES and "numpy" in sys.modules and not self._ask_locals:
            # the main thread reads its own locals (never f_locals of a running frame from here)
            self._ask(locals_=True)

    def _ask(self, start: bool = False, stop: bool = False, locals_: bool = False) -> None:
        """Ask the main thread for work; dropped when no signal can reach it."""
        if self._calls is None:
            return
        self._ask_start |= start
        self._ask_stop |= stop
        self._ask_locals |= locals_
        if not self._calls.request():
            self._ask_start = self._ask_stop = self._ask_locals = False

    def _may_open_window(self) -> bool:
        """True when opening (and later closing) a tracemalloc window cannot crash the program.

        Only the main thread opens and closes windows, so it is never inside an allocator hook
        then; on a Python with gh-128679 another thread of the program could be, so windows are
        opened only while the program runs no other thread.
        """
        if self._calls is None or tracemalloc.is_tracing():
            return False
        if not TRACEMALLOC_STOP_RACE:
            return True
        others = set(sys._current_frames()) - sampling.PERFKIT_THREADS - {self._main}
        return not others

    def _on_main_thread(self, frame: FrameType | None) -> None:
        """The main thread's share: close/open the tracemalloc window, note the arrays in its
        innermost frame of the program's code. Runs in the signal handler (or in stop())."""
        if self._ask_stop:
            self._ask_stop = False
            if self._window_open:
                self._window_open = False
                if tracemalloc.is_tracing():
                    tracemalloc.stop()
                self.covered_s += time.perf_counter() - self._window_t0
        if self._ask_start:
            self._ask_start = False
            if self._running and not self._window_open and not tracemalloc.is_tracing():
                tracemalloc.start(8)
                self._window_t0 = time.perf_counter()
                self._window_open = True
        if self._ask_locals:
            self._ask_locals = False
            f = user_frame(frame)
            if f is not None and "numpy" in sys.modules:
                key = (f.f_code.co_filename, f.f_lineno or 0, qualname(f.f_code))
                self._note_arrays(f, key)

    def _note_arrays(self, frame: Any, key: tuple[str, int, str]) -> None:
        ndarray = getattr(sys.modules.get("numpy"), "ndarray", None)
        if ndarray is None:  # numpy is being imported right now
            return
        np = sys.modules["numpy"]
        try:
            local_items = list(frame.f_locals.items())
        except Exception:  # noqa: BLE001 - a frame that cannot show its locals is skipped
            return
        for name, value in local_items:
            if not isinstance(value, ndarray) or value.nbytes < MIN_ARRAY_BYTES:
                continue
            akey = (key[0], key[2], name)  # one observation per variable per function
            if akey in self.arrays or len(self.arrays) >= 50:
                continue
            seen = self._seen_arrays.get(id(value))
            if seen is not None and seen() is value:  # the weak reference proves it is the same
                continue
            try:
                self._seen_arrays[id(value)] = weakref.ref(value)
            except TypeError:  # an ndarray subclass without weak references: noted each time
                pass
            rel, overflow = float32_error(np, value)
            self.arrays[akey] = ArrayObservation(
                file=key[0],
                line=key[1],
                function=key[2],
                name=str(name),
                dtype=str(value.dtype),
                shape=tuple(int(s) for s in value.shape),
                nbytes=int(value.nbytes),
                float32_max_rel_error=rel,
                float32_overflow=overflow,
            )

    def _collect_traces(self) -> None:
        snapshot = tracemalloc.take_snapshot()
        sites: dict[tuple[str, int, str], list[int]] = {}
        for trace in snapshot.traces:
            if trace.size < MIN_TRACE_BYTES:
                continue
            # tracemalloc tracebacks run from the oldest frame to the newest: take the newest
            # frame of the program's own code (the line that asked for the memory)
            frame = next(
                (
                    fr
                    for fr in reversed(trace.traceback)
                    if is_user_code(fr.filename) and not is_internal(fr.filename)
                ),
                None,
            )
            if frame is None:
                continue
            key = (frame.filename, frame.lineno, "")
            row = sites.setdefault(key, [0, 0])
            row[0] += trace.size
            row[1] += 1
        for key, (size, count) in sites.items():
            row = self.traced.setdefault(key, [0, 0])
            if self.mode == "full":  # live bytes at snapshots: keep the largest seen
                row[0], row[1] = max(row[0], size), max(row[1], count)
            else:  # windows see disjoint allocations: add them up
                row[0] += size
                row[1] += count

    def contribute(self, collector: Collector) -> None:
        """Fill ``collector.memory`` (top sites from tracemalloc and from RSS growth)."""
        sites = [
            AllocationSite(f, ln, fn, size, n, source_line(f, ln), "rss_growth")
            for (f, ln, fn), (size, n) in self.growth.items()
        ]
        method = "tracemalloc" if self.mode == "full" else "tracemalloc_sampled"
        sites += [
            AllocationSite(
                f, ln, _function_at(f, ln, collector), size, n, source_line(f, ln), method
            )
            for (f, ln, _), (size, n) in self.traced.items()
        ]
        sites.sort(key=lambda s: -s.size_bytes)
        collector.memory = MemoryReport(
            start_rss_bytes=self.start_rss,
            peak_rss_bytes=self.peak_rss,
            end_rss_bytes=self.end_rss,
            series=tuple((round(t, 4), int(b)) for t, b in self.series),
            tracemalloc_peak_bytes=self.trace_peak,
            top_lines=tuple(sites[:50]),
            arrays=tuple(sorted(self.arrays.values(), key=lambda a: -a.nbytes)),
            line_tables=collector.memory.line_tables if collector.memory else (),
            sample_interval_s=self.interval_s,
        )
        if self.mode == "sampled":
            collector.notes.append(
                f"--memory: tracemalloc ran in {self.window_s * 1000:.0f} ms windows every "
                f"{self.period_s * 1000:.0f} ms ({self.covered_s:.2f} s traced); RSS sampled "
                f"every {self.interval_s * 1000:.0f} ms"
                + (
                    f"; {self.windows_skipped} window(s) skipped (another thread was running: "
                    "stopping tracemalloc then can crash this Python, CPython gh-128679)"
                    if self.windows_skipped and self._calls_ok
                    else ""
                )
                + (
                    "; no window opened (the profiled code did not run on the main thread or "
                    "no free signal could reach it)"
                    if self.windows_skipped and not self._calls_ok
                    else ""
                )
            )


def _function_at(filename: str, line: int, collector: Collector) -> str:
    for h in collector.hot_lines:
        if h.file == filename and h.line == line:
            return h.function
    return ""


def float32_error(np: Any, arr: Any, max_values: int = 65536) -> tuple[float | None, bool]:
    """Largest relative error of a float32 round trip over a strided sample of ``arr``.

    Returns ``(None, False)`` for non-float arrays; the flag says a finite value overflowed.
    """
    if arr.dtype.kind != "f" or arr.size == 0:
        return None, False
    step = max(1, arr.size // max_values)
    sample = np.asarray(arr.flat[::step], dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        f32 = sample.astype(np.float32).astype(np.float64)
        finite = np.isfinite(sample)
        overflow = bool(np.any(finite & ~np.isfinite(f32)))
        diff = np.abs(f32 - sample)
        nonzero = sample != 0
        # relative error where the value is non-zero; a zero must stay exactly zero
        rel = np.where(nonzero, diff / np.where(nonzero, np.abs(sample), 1.0), diff)
        rel = rel[finite & np.isfinite(f32)]
    return (float(rel.max()) if rel.size else 0.0), overflow
