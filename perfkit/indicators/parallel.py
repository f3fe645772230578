"""Fan a panel out over cores or a cluster: batches of instruments, one task per batch.

Every backend is a :class:`Backend`: a name, a few capability flags (as joblib's
``ParallelBackendBase``), and ``run(job, ranges, n_jobs, progress)``, which writes the results
into ``job.outputs`` in place. :data:`BACKENDS` maps each name to its class; ``compute()``
looks the backend up there and calls it (no if/elif), and every backend passes the same
conformance test (bit-identical to ``serial``).

``serial``
    one thread; the kernels walk the panel in cache-sized tiles of instruments.
``threads``
    a persistent thread pool (see :func:`_thread_pool` for why not joblib's threading
    backend). The kernels are ``nogil``, so threads run them truly in parallel, reading the
    shared input arrays and writing disjoint column ranges of the shared outputs: nothing is
    pickled or copied.
``loky``
    joblib's process pool. Inputs and outputs live in memory-mapped files (in ``/dev/shm``
    when available) that every worker maps: large arrays are never pickled. Still pays the
    dump of the inputs and the worker start, so it only wins for non-``nogil`` work.
``numba``
    one ``prange`` loop over tiles per indicator, in this process (numba's thread pool).
``dask``
    the same batches as tasks on a ``dask.distributed`` cluster; each task receives only its
    batch's columns and returns its outputs (see :class:`DaskBackend` for why the client
    submits them rather than joblib's dask backend).

``auto`` picks by measurement (:func:`choose_backend`, :class:`AutoTuner`).
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from perfkit.errors import MissingDependencyError, PerfkitError, UsageError
from perfkit.indicators.specs import IndicatorSpec

#: Instruments per kernel call. Wide is fast: each kernel call streams its rows, and a row
#: segment of 4 096 lanes is 32 KiB contiguous. Narrow tiles (256 lanes = 2 KiB per row at a
#: 16 KiB stride) defeat the hardware prefetcher: on the 2 000 x 5 000 panel SMA took 38 ms in
#: 256-lane tiles and 14 ms in one 2 000-lane pass (copy of the same bytes: 13 ms).
TILE = 4096

#: Below this many cells (bars x instruments x indicators) a parallel backend costs more in
#: task overhead than it saves: measured ~0.3 ms of joblib overhead per call on this machine.
SERIAL_BELOW_CELLS = 2_000_000


@dataclass
class Job:
    """One compute call: C-contiguous time-major inputs and preallocated outputs.

    ``fields`` maps a price field to a ``(n_bars, n_instruments)`` float64 array; ``outputs``
    maps each output column name to an array of the same shape.
    """

    fields: dict[str, np.ndarray]
    specs: Sequence[IndicatorSpec]
    outputs: dict[str, np.ndarray]
    restart: bool = False
    tile: int = TILE
    #: per price field, the instruments the kernels proved free of +-inf (see :func:`compute_batch`)
    clean_lanes: dict[str, int] = field(default_factory=dict)
    _lock: Any = field(default_factory=threading.Lock, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        return next(iter(self.fields.values())).shape

    def add_check(self, lanes: int | Mapping[str, int]) -> None:
        """Count instruments whose fields a kernel proved finite.

        ``lanes`` maps a price field to a number of instruments; a plain int counts closes.
        """
        proofs = {"close": lanes} if isinstance(lanes, int | np.integer) else lanes
        with self._lock:
            for name, count in proofs.items():
                self.clean_lanes[name] = self.clean_lanes.get(name, 0) + int(count)

    @property
    def proven_fields(self) -> set[str]:
        """The price fields the kernels proved free of +-inf for every instrument."""
        n_inst = self.shape[1]
        return {name for name, count in self.clean_lanes.items() if count >= n_inst}

    @property
    def close_proven_finite(self) -> bool:
        """True when the kernels proved every instrument's close free of +-inf."""
        return "close" in self.proven_fields


@dataclass(frozen=True)
class Plan:
    """What ran: the backend, why it was chosen, and how the panel was split."""

    backend: str
    reason: str
    n_jobs: int
    batch_size: int
    n_batches: int
    extra: dict[str, Any] = field(default_factory=dict)


def cpu_count() -> int:
    """Cores this process may use (the affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def load_average() -> float:
    """The 1-minute load average (0.0 where the OS has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - not Unix
        return 0.0


class AutoTuner:
    """``backend="auto"``: serial or threads, decided by measurement, not by the load average.

    * **Calibration** (once per process and core count, ~0.1 s): the same SMA panel
      (``CALIBRATION_SHAPE``) timed serial and in threads, best of three each. It answers
      "do threads pay on this machine, as it is now?" for a shape never seen before: threads
      when they measured at least ``THREADS_MIN_SPEEDUP`` faster.
    * **Per shape** (specs, bars, instruments, nan mode, workers): compute() records the
      time of every call. Once both backends have a time, ``auto`` runs the faster one and
      re-times the other every ``REPROBE_EVERY`` calls, so a machine that becomes busy (a
      second core taken by other jobs, where threads ran 0.6-0.9x serial) moves ``auto`` back
      to serial after one slow call, and an idle one moves it back to threads.
    """

    CALIBRATION_SHAPE = (2000, 1000)
    THREADS_MIN_SPEEDUP = 1.15
    REPROBE_EVERY = 16

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calibration: dict[int, float] = {}  # n_jobs -> serial time / threads time
        self.times: dict[Any, dict[str, float]] = {}
        self.calls: dict[Any, int] = {}

    def calibrate(self, n_jobs: int) -> float:
        """Threads' speed-up over serial on the calibration panel (cached per ``n_jobs``)."""
        cached = self.calibration.get(n_jobs)
        if cached is not None:
            return cached
        import time

        from perfkit.indicators.specs import parse_spec

        rng = np.random.default_rng(0)
        close = 100.0 + np.cumsum(rng.normal(size=self.CALIBRATION_SHAPE), axis=0)
        spec = [parse_spec("sma:20")]
        out = {"sma_20": np.empty_like(close)}
        n_inst = close.shape[1]
        best = {}
        for backend in (SerialBackend(), ThreadsBackend()):
            workers = n_jobs if backend.parallel else 1
            ranges = batches(n_inst, workers, None)
            times = []
            for _ in range(4):  # the first call warms caches and the pool
                job = Job({"close": close}, spec, out)
                t = time.perf_counter()
                backend.run(job, ranges, workers, lambda n: None)
                times.append(time.perf_counter() - t)
            best[backend.name] = min(times[1:])
        speedup = best["serial"] / best["threads"]
        self.calibration[n_jobs] = speedup
        return speedup

    def choose(self, key: Any, n_jobs: int) -> tuple[str, str]:
        """``("serial" | "threads", reason)`` for a large panel of shape ``key``."""
        with self._lock:
            seen = dict(self.times.get(key, {}))
            calls = self.calls[key] = self.calls.get(key, 0) + 1
        if len(seen) == 2:
            fast, slow = sorted(seen, key=seen.get)  # type: ignore[arg-type]
            if calls % self.REPROBE_EVERY == 0:
                return slow, f"re-timing {slow} (last {seen[slow] * 1e3:.1f} ms vs {fast})"
            return fast, (
                f"measured on this shape: threads {seen['threads'] * 1e3:.1f} ms, "
                f"serial {seen['serial'] * 1e3:.1f} ms"
            )
        if len(seen) == 1:  # time the other one once
            other = "threads" if "serial" in seen else "serial"
            return other, f"timing {other} once on this shape (the other is measured)"
        speedup = self.calibrate(n_jobs)
        if speedup >= self.THREADS_MIN_SPEEDUP:
            return "threads", f"calibration: threads {speedup:.2f}x serial on {n_jobs} cores"
        return "serial", f"calibration: threads only {speedup:.2f}x serial on {n_jobs} cores"

    def record(self, key: Any, backend: str, seconds: float) -> None:
        """Remember how long ``backend`` took on shape ``key`` (serial and threads only)."""
        if backend not in ("serial", "threads") or key not in self.calls:
            return
        with self._lock:
            self.times.setdefault(key, {})[backend] = seconds

    def reset(self) -> None:
        """Forget every measurement (tests; after the machine changed)."""
        with self._lock:
            self.calibration.clear()
            self.times.clear()
            self.calls.clear()


#: The process-wide tuner behind ``backend="auto"``.
AUTO = AutoTuner()


def choose_backend(
    n_bars: int,
    n_instruments: int,
    n_specs: int,
    n_jobs: int,
    scheduler: Any = None,
    key: Any = None,
) -> tuple[str, str]:
    """The backend ``auto`` picks, and the reason in words.

    * a scheduler or Client given -> ``dask`` (the user asked for the cluster);
    * one core, one instrument, or fewer than ``SERIAL_BELOW_CELLS`` cells -> ``serial``
      (task overhead exceeds the kernel time);
    * otherwise serial or threads by measurement (:class:`AutoTuner`). ``loky`` is never
      chosen: it must dump the inputs to memory-mapped files and start processes, and was
      2-5x slower than serial on the 2000 x 5000 panel; ``numba`` gives the same speed as
      threads with no way to re-time it cheaply.
    """
    if scheduler is not None:
        return "dask", "a dask scheduler was given"
    cells = n_bars * n_instruments * max(n_specs, 1)
    if n_jobs <= 1:
        return "serial", "one core available"
    if n_instruments < 2:
        return "serial", "one instrument: nothing to split"
    if cells < SERIAL_BELOW_CELLS:
        return "serial", f"small panel ({cells:,} cells < {SERIAL_BELOW_CELLS:,})"
    return AUTO.choose(key if key is not None else (n_bars, n_instruments, n_specs), n_jobs)


def batches(n_instruments: int, n_jobs: int, batch_size: int | None) -> list[tuple[int, int]]:
    """Split instruments into contiguous column ranges (a few per worker, not one each)."""
    if batch_size is None:
        # one wide batch per worker: every instrument costs the same, and wide batches stream
        # (see TILE); more, narrower batches only add strided access and task overhead
        batch_size = max(1, -(-n_instruments // max(1, n_jobs)))
    if batch_size < 1:
        raise UsageError(f"batch_size must be a positive integer, got {batch_size}")
    return [(a, min(a + batch_size, n_instruments)) for a in range(0, n_instruments, batch_size)]


# ------------------------------------------------------------------------------------------
# the work of one batch (runs in this process, a thread, a loky worker or a dask worker)
# ------------------------------------------------------------------------------------------
def _arrays_for(spec: IndicatorSpec, fields: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    c = fields["close"]
    if spec.inputs == "hlc":
        return c, fields["high"], fields["low"], c
    if spec.inputs == "cv":
        return c, c, c, fields["volume"]
    return c, c, c, c


def _valid_rows(spec: IndicatorSpec, fields: dict[str, np.ndarray], j: int) -> np.ndarray:
    ok = ~np.isnan(fields["close"][:, j])
    for name in spec.fields:
        if name != "close":
            ok &= ~np.isnan(fields[name][:, j])
    return ok


def compute_batch(
    fields: dict[str, np.ndarray],
    outputs: dict[str, np.ndarray],
    specs: Sequence[IndicatorSpec],
    a: int,
    b: int,
    restart: bool = False,
    tile: int = TILE,
) -> dict[str, int]:
    """Compute every spec for instruments ``[a, b)``, writing into ``outputs`` in place.

    Returns, per price field, the number of instruments the kernels proved free of +-inf:
    ``b - a`` for every field of a spec whose kernel returned a finite state checksum (an inf
    poisons a running state for good, and the stateless and multi-input kernels flag one
    they read, see :mod:`kernels`); fields not proven are left out (compute() scans them).
    """
    n_bars = fields["close"].shape[0]
    proven: dict[str, int] = {}
    for spec in specs:
        kern = spec.definition.block_kernel
        c, h, lo, v = _arrays_for(spec, fields)
        outs = [outputs[name] for name in spec.outputs]
        o1, o2, o3 = (outs + [outs[0], outs[0]])[:3]
        p1, p2, p3 = spec.kernel_params()
        if not restart:
            check = 0.0
            for ta in range(a, b, tile):
                check += kern(c, h, lo, v, o1, o2, o3, p1, p2, p3, ta, min(ta + tile, b), 0, n_bars)
            if math.isfinite(check):
                proven.update(dict.fromkeys(spec.fields, b - a))
            continue
        # nan="restart": every run of valid bars of each instrument is a fresh series
        for j in range(a, b):
            ok = _valid_rows(spec, fields, j)
            for o in outs:
                o[~ok, j] = np.nan
            edges = np.flatnonzero(np.diff(np.concatenate(([0], ok.view(np.int8), [0]))))
            for r0, r1 in zip(edges[::2], edges[1::2], strict=True):
                kern(c, h, lo, v, o1, o2, o3, p1, p2, p3, j, j + 1, int(r0), int(r1))
    return proven


def _batch_task(
    fields: dict[str, np.ndarray], specs: Sequence[IndicatorSpec], restart: bool, tile: int
) -> dict[str, np.ndarray]:
    """A self-contained task (dask): compute a batch's own columns and return the outputs."""
    fields = {k: np.ascontiguousarray(v) for k, v in fields.items()}
    shape = fields["close"].shape
    outputs = {name: np.empty(shape) for spec in specs for name in spec.outputs}
    compute_batch(fields, outputs, specs, 0, shape[1], restart, tile)
    return outputs


def _mapped_task(
    fields: dict[str, np.ndarray],
    outputs: dict[str, np.ndarray],
    specs: Sequence[IndicatorSpec],
    a: int,
    b: int,
    restart: bool,
    tile: int,
) -> tuple[int, dict[str, int]]:
    """A loky task: inputs and outputs are memory-mapped files shared with the parent."""
    fields = {k: np.asarray(v) for k, v in fields.items()}
    outputs = {k: np.asarray(v) for k, v in outputs.items()}
    return b - a, compute_batch(fields, outputs, specs, a, b, restart, tile)


# ------------------------------------------------------------------------------------------
# backends
# ------------------------------------------------------------------------------------------
Progress = Callable[[int], None]


class Backend:
    """One way of running a :class:`Job`; subclasses set the flags and implement ``run``.

    Flags (class attributes, as joblib's ``supports_timeout``):

    ``parallel``
        runs batches at the same time (so ``auto`` may pick it when cores are free);
    ``in_place``
        writes straight into ``job.outputs`` (no copy of the results back);
    ``supports_restart``
        handles ``nan="restart"`` (lane-by-lane runs); without it compute() runs ``threads``;
    ``needs_cluster``
        needs a dask scheduler or Client;
    ``fixed_batches``
        splits the panel its own way (ignores ``batch_size``).
    """

    name: ClassVar[str] = ""
    parallel: ClassVar[bool] = True
    in_place: ClassVar[bool] = True
    supports_restart: ClassVar[bool] = True
    needs_cluster: ClassVar[bool] = False
    fixed_batches: ClassVar[bool] = False

    def run(
        self,
        job: Job,
        ranges: list[tuple[int, int]],
        n_jobs: int,
        progress: Progress,
        scheduler: Any = None,
    ) -> dict[str, Any]:
        """Compute every batch of ``ranges`` into ``job.outputs``; return extra facts to report."""
        raise NotImplementedError


class SerialBackend(Backend):
    """One thread, no task overhead."""

    name = "serial"
    parallel = False

    def run(self, job, ranges, n_jobs, progress, scheduler=None):  # type: ignore[override]
        for a, b in ranges:
            job.add_check(
                compute_batch(job.fields, job.outputs, job.specs, a, b, job.restart, job.tile)
            )
            progress(b - a)
        return {}


_POOLS: dict[int, Any] = {}


def _thread_pool(n_jobs: int) -> Any:
    """A persistent pool per size: joblib's threading backend starts a new pool per call,
    which measured ~19 ms per compute() call here (more than the kernels on small panels)."""
    from concurrent.futures import ThreadPoolExecutor

    pool = _POOLS.get(n_jobs)
    if pool is None:
        pool = _POOLS[n_jobs] = ThreadPoolExecutor(n_jobs, thread_name_prefix="perfkit-ind")
    return pool


class ThreadsBackend(Backend):
    """nogil kernels in a persistent thread pool, sharing the arrays (nothing copied)."""

    name = "threads"

    def run(self, job, ranges, n_jobs, progress, scheduler=None):  # type: ignore[override]
        from concurrent.futures import as_completed

        def task(a: int, b: int) -> int:
            job.add_check(
                compute_batch(job.fields, job.outputs, job.specs, a, b, job.restart, job.tile)
            )
            return b - a

        futures = [_thread_pool(n_jobs).submit(task, a, b) for a, b in ranges]
        for fut in as_completed(futures):
            progress(fut.result())
        return {}


@contextlib.contextmanager
def _shared_folder() -> Iterator[str]:
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    folder = tempfile.mkdtemp(prefix="perfkit-indicators-", dir=base)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class LokyBackend(Backend):
    """joblib's process pool over memory-mapped inputs and outputs."""

    name = "loky"
    in_place = False

    def run(self, job, ranges, n_jobs, progress, scheduler=None):  # type: ignore[override]
        _run_loky(job, ranges, n_jobs, progress)
        return {}


def _run_loky(job: Job, ranges: list[tuple[int, int]], n_jobs: int, progress: Progress) -> None:
    from joblib import Parallel, delayed

    with _shared_folder() as folder:
        mapped_in: dict[str, np.ndarray] = {}
        for name, arr in job.fields.items():
            mm = np.lib.format.open_memmap(
                os.path.join(folder, f"in-{name}.npy"), "w+", arr.dtype, arr.shape
            )
            mm[...] = arr
            mm.flush()
            mapped_in[name] = np.load(os.path.join(folder, f"in-{name}.npy"), mmap_mode="c")
        mapped_out = {
            name: np.lib.format.open_memmap(
                os.path.join(folder, f"out-{i}.npy"), "w+", np.float64, arr.shape
            )
            for i, (name, arr) in enumerate(job.outputs.items())
        }
        par = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator_unordered")
        tasks = (
            delayed(_mapped_task)(mapped_in, mapped_out, job.specs, a, b, job.restart, job.tile)
            for a, b in ranges
        )
        for done, clean in par(tasks):
            job.add_check(clean)
            progress(done)
        for name, mm in mapped_out.items():
            job.outputs[name][...] = mm
        del mapped_out, mapped_in


class NumbaBackend(Backend):
    """One ``prange`` driver per indicator in numba's thread pool (one wide tile per thread)."""

    name = "numba"
    supports_restart = False
    fixed_batches = True

    def run(self, job, ranges, n_jobs, progress, scheduler=None):  # type: ignore[override]
        _run_numba(job, n_jobs, progress)
        return {}


def _run_numba(job: Job, n_jobs: int, progress: Progress) -> None:
    import numba

    n_bars, n_inst = job.shape
    previous = numba.get_num_threads()
    threads = max(1, min(n_jobs, numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(threads)
    tile = max(1, -(-n_inst // threads))  # one wide tile per thread (see TILE)
    proven: dict[str, int] = {}
    try:
        for spec in job.specs:
            par = spec.definition.prange_kernel
            c, h, lo, v = _arrays_for(spec, job.fields)
            outs = [job.outputs[name] for name in spec.outputs]
            o1, o2, o3 = (outs + [outs[0], outs[0]])[:3]
            p1, p2, p3 = spec.kernel_params()
            if math.isfinite(par(c, h, lo, v, o1, o2, o3, p1, p2, p3, tile)):
                proven.update(dict.fromkeys(spec.fields, n_inst))
        job.add_check(proven)
        progress(n_inst)
    finally:
        numba.set_num_threads(previous)


def _dask_client(scheduler: Any) -> tuple[Any, bool]:
    try:
        from distributed import Client, get_client
    except ImportError:
        raise MissingDependencyError("distributed", "dist", "backend='dask'") from None
    if scheduler is None:
        try:
            return get_client(), False
        except ValueError:
            raise UsageError(
                "backend='dask' needs a cluster, and no dask Client is active",
                "pass scheduler='tcp://host:8786' or a distributed.Client",
            ) from None
    if isinstance(scheduler, str):
        try:
            return Client(scheduler, timeout=10, set_as_default=False), True
        except (OSError, TimeoutError) as exc:
            raise UsageError(
                f"cannot reach the dask scheduler at {scheduler}: {exc}",
                "check the address (tcp://host:port) and that the scheduler is running",
            ) from None
    return scheduler, False


class DaskBackend(Backend):
    """The batches as tasks on a dask.distributed cluster (see :func:`_run_dask`)."""

    name = "dask"
    in_place = False
    needs_cluster = True

    def run(self, job, ranges, n_jobs, progress, scheduler=None):  # type: ignore[override]
        return _run_dask(job, ranges, scheduler, progress)


def _run_dask(
    job: Job, ranges: list[tuple[int, int]], scheduler: Any, progress: Progress
) -> dict[str, Any]:
    """Run the batches as tasks on a dask.distributed cluster.

    Each task receives only its batch's columns and returns that batch's outputs. A worker
    that dies mid-run makes the scheduler re-run its tasks elsewhere (dask's
    ``allowed-failures`` retries); when retries run out the error is raised here as a
    :class:`PerfkitError`. Every batch's result is checked before assembly, so a partial
    result is never returned.

    The tasks are submitted with the client itself rather than through joblib's dask backend:
    with joblib 1.6 and distributed 2026.8, a worker death (``KilledWorker``) makes joblib's
    result collector fail silently and ``Parallel`` then waits forever (found by
    tests/integration/test_indicators_dask.py). The batches and the task function are the same
    as the other backends'.
    """
    client, owned = _dask_client(scheduler)
    try:
        info = client.scheduler_info()
        n_workers = len(info.get("workers", {}))
        if n_workers == 0:
            client.wait_for_workers(1, timeout=30)
        results: dict[tuple[int, int], dict[str, np.ndarray]] = {}
        task = _batch_task  # looked up per call: tests swap it for a dying task
        futures = {}
        try:
            for a, b in ranges:
                fields = {k: np.ascontiguousarray(v[:, a:b]) for k, v in job.fields.items()}
                fut = client.submit(task, fields, job.specs, job.restart, job.tile, pure=False)
                futures[fut] = (a, b)
            for fut, (a, b) in futures.items():
                results[(a, b)] = fut.result()
                progress(b - a)
        except Exception as exc:
            if isinstance(exc, PerfkitError):
                raise
            name = type(exc).__name__
            raise PerfkitError(
                f"the dask cluster failed while computing indicators ({name}: {exc}); "
                f"{len(results)} of {len(ranges)} batches had finished, nothing was returned",
                "check the workers' logs and memory limits, then run again",
            ) from exc
        finally:
            client.cancel(list(futures))
        n_bars = job.shape[0]
        for (a, b), out in results.items():
            for name, arr in job.outputs.items():
                got = out.get(name)
                if got is None or got.shape != (n_bars, b - a):
                    raise PerfkitError(
                        f"dask batch {a}:{b} came back without a complete {name!r} output",
                        "the cluster returned a partial result; run again",
                    )
                arr[:, a:b] = got
        if len(results) != len(ranges):
            raise PerfkitError(
                f"only {len(results)} of {len(ranges)} dask batches came back",
                "the cluster returned a partial result; run again",
            )
        return {"dask_workers": n_workers, "dask_scheduler": info.get("address", "")}
    finally:
        if owned:
            client.close()


#: name -> backend class; ``compute(backend=NAME)`` and ``--backend`` accept these and ``auto``.
BACKENDS: dict[str, type[Backend]] = {
    b.name: b for b in (SerialBackend, ThreadsBackend, LokyBackend, NumbaBackend, DaskBackend)
}


def get_backend(name: str) -> Backend:
    """The backend called ``name``.

    Raises
    ------
    UsageError
        An unknown name (the message lists the valid ones).
    """
    cls = BACKENDS.get(name)
    if cls is None:
        raise UsageError(f"unknown backend {name!r}", f"use one of: auto, {', '.join(BACKENDS)}")
    return cls()
