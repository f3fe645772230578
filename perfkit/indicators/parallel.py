"""Fan a panel out over cores or a cluster: batches of instruments, one task per batch.

Backends (one small protocol: ``run(job) -> None``, writing into ``job.outputs``):

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
    batch's columns and returns its outputs (see :func:`run_dask` for why the client submits
    them rather than joblib's dask backend).

``auto`` picks from the panel size and core count (:func:`choose_backend`); the rules are
the ones measured by ``python -m perfkit.indicators.benchmark`` (see reports/indicators.md).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perfkit.errors import MissingDependencyError, PerfkitError, UsageError
from perfkit.indicators import kernels as K
from perfkit.indicators.specs import IndicatorSpec

BACKENDS = ("auto", "serial", "threads", "loky", "numba", "dask")

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

    @property
    def shape(self) -> tuple[int, int]:
        return next(iter(self.fields.values())).shape


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


def idle_cores() -> tuple[int, float]:
    """Cores not already busy (this process's cores minus the 1-minute load average, >= 1).

    Measured on the shared 2-core machine: with the second core taken by other jobs, two
    threads ran the panel 0.6-0.9x as fast as one, so ``auto`` counts only idle cores.
    """
    cores = cpu_count()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # pragma: no cover - not Unix
        return cores, 0.0
    return max(1, min(cores, int(cores - load + 0.5))), load


def choose_backend(
    n_bars: int, n_instruments: int, n_specs: int, n_jobs: int, scheduler: Any = None
) -> tuple[str, str]:
    """The backend ``auto`` picks, and the reason in words.

    Rules (measured on the 2-core benchmark machine, see reports/indicators.md):

    * a scheduler or Client given -> ``dask`` (the user asked for the cluster);
    * one core, one instrument, or fewer than ``SERIAL_BELOW_CELLS`` cells -> ``serial``
      (task overhead exceeds the kernel time);
    * otherwise ``threads``: the kernels release the GIL, so threads share the arrays with no
      copy. ``loky`` is never chosen for these kernels: it must dump the inputs to memory-mapped
      files and start processes, and was 2-5x slower than serial on the 2000 x 5000 panel.
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
    return "threads", f"{cells:,} cells on {n_jobs} cores: nogil kernels share memory in threads"


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
) -> None:
    """Compute every spec for instruments ``[a, b)``, writing into ``outputs`` in place."""
    n_bars = fields["close"].shape[0]
    for spec in specs:
        kern = K.KERNELS[spec.kernel_id]
        c, h, lo, v = _arrays_for(spec, fields)
        outs = [outputs[name] for name in spec.outputs]
        o1, o2, o3 = (outs + [outs[0], outs[0]])[:3]
        p1, p2, p3 = spec.kernel_params()
        if not restart:
            for ta in range(a, b, tile):
                kern(c, h, lo, v, o1, o2, o3, p1, p2, p3, ta, min(ta + tile, b), 0, n_bars)
            continue
        # nan="restart": every run of valid bars of each instrument is a fresh series
        for j in range(a, b):
            ok = _valid_rows(spec, fields, j)
            for o in outs:
                o[~ok, j] = np.nan
            edges = np.flatnonzero(np.diff(np.concatenate(([0], ok.view(np.int8), [0]))))
            for r0, r1 in zip(edges[::2], edges[1::2], strict=True):
                kern(c, h, lo, v, o1, o2, o3, p1, p2, p3, j, j + 1, int(r0), int(r1))


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
) -> int:
    """A loky task: inputs and outputs are memory-mapped files shared with the parent."""
    fields = {k: np.asarray(v) for k, v in fields.items()}
    outputs = {k: np.asarray(v) for k, v in outputs.items()}
    compute_batch(fields, outputs, specs, a, b, restart, tile)
    return b - a


# ------------------------------------------------------------------------------------------
# backends
# ------------------------------------------------------------------------------------------
Progress = Callable[[int], None]


def run_serial(job: Job, ranges: list[tuple[int, int]], progress: Progress) -> None:
    for a, b in ranges:
        compute_batch(job.fields, job.outputs, job.specs, a, b, job.restart, job.tile)
        progress(b - a)


_POOLS: dict[int, Any] = {}


def _thread_pool(n_jobs: int) -> Any:
    """A persistent pool per size: joblib's threading backend starts a new pool per call,
    which measured ~19 ms per compute() call here (more than the kernels on small panels)."""
    from concurrent.futures import ThreadPoolExecutor

    pool = _POOLS.get(n_jobs)
    if pool is None:
        pool = _POOLS[n_jobs] = ThreadPoolExecutor(n_jobs, thread_name_prefix="perfkit-ind")
    return pool


def run_threads(job: Job, ranges: list[tuple[int, int]], n_jobs: int, progress: Progress) -> None:
    from concurrent.futures import as_completed

    def task(a: int, b: int) -> int:
        compute_batch(job.fields, job.outputs, job.specs, a, b, job.restart, job.tile)
        return b - a

    futures = [_thread_pool(n_jobs).submit(task, a, b) for a, b in ranges]
    for fut in as_completed(futures):
        progress(fut.result())


@contextlib.contextmanager
def _shared_folder() -> Iterator[str]:
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    folder = tempfile.mkdtemp(prefix="perfkit-indicators-", dir=base)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_loky(job: Job, ranges: list[tuple[int, int]], n_jobs: int, progress: Progress) -> None:
    from joblib import Parallel, delayed

    with _shared_folder() as folder:
        mapped_in: dict[str, np.ndarray] = {}
        for name, arr in job.fields.items():
            mm = np.lib.format.open_memmap(
                os.path.join(folder, f"in-{name}.npy"), "w+", arr.dtype, arr.shape
            )
            mm[...] = arr
            mm.flush()
            mapped_in[name] = np.load(os.path.join(folder, f"in-{name}.npy"), mmap_mode="r")
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
        for done in par(tasks):
            progress(done)
        for name, mm in mapped_out.items():
            job.outputs[name][...] = mm
        del mapped_out, mapped_in


def run_numba(job: Job, n_jobs: int, progress: Progress) -> None:
    import numba

    n_bars, n_inst = job.shape
    previous = numba.get_num_threads()
    threads = max(1, min(n_jobs, numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(threads)
    tile = max(1, -(-n_inst // threads))  # one wide tile per thread (see TILE)
    try:
        for spec in job.specs:
            par = K.PARALLEL[spec.kernel_id]
            c, h, lo, v = _arrays_for(spec, job.fields)
            outs = [job.outputs[name] for name in spec.outputs]
            o1, o2, o3 = (outs + [outs[0], outs[0]])[:3]
            p1, p2, p3 = spec.kernel_params()
            par(c, h, lo, v, o1, o2, o3, p1, p2, p3, tile)
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


def run_dask(
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
