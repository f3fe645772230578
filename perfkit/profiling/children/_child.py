"""The child side of ``perfkit profile``'s process following: a sampler that reports to a folder.

This module runs inside every Python process the profiled program starts (``multiprocessing``
fork / spawn / forkserver workers, ``ProcessPoolExecutor`` and joblib/loky workers, ``subprocess``
children running python). It imports only builtin modules (``_thread``, ``marshal``, ``os``,
``sys``, ``time``) and the sampling step it shares with the default engine
(:mod:`perfkit.profiling.engines._sample`, builtin-only too), so that a child pays a few
milliseconds of start-up, not perfkit's import.

The sampler is the same kind as the parent's default engine (all threads' stacks every
``interval`` seconds, wall and thread CPU per sample), and its thread also decides when to write
the process's partial profile, ``<folder>/<pid>.pkc`` (``marshal`` of plain lists and numbers,
written to a temp name and renamed):

- when the process's main thread goes idle after work (a pool worker finished its task and waits
  for the next one: what it did is on disk before the pool may terminate it),
- every :data:`FLUSH_EVERY_S` while it stays busy (a crash or a kill loses at most that much),
- when the parent asks (``<folder>/flush-request`` holds a sequence number): joblib's loky
  workers outlive the program's call and are still alive when the parent writes its report,
- when a followed process is about to be killed: ``os.kill`` is wrapped in followed processes
  (``Pool.terminate``, ``Process.terminate`` and ``Popen.terminate`` go through it) to ask the
  target first (``<folder>/<pid>.req``) and wait up to :data:`KILL_WAIT_S` for its answer,
- and at exit: ``atexit`` for a normal interpreter exit, a wrapper of ``os._exit`` for the way
  ``multiprocessing`` ends forked workers.

When the folder disappears (the parent's report is written and its temp folder removed), the
sampler stops and nothing more is written: a child never creates a folder or writes elsewhere.
"""

from __future__ import annotations

import _thread
import marshal
import os
import sys
import time

from perfkit.profiling.engines._sample import sample_threads

TYPE_CHECKING = False  # typing's import costs every followed child milliseconds
if TYPE_CHECKING:
    from typing import Any

#: Version of the ``.pkc`` record layout (the parent refuses others).
FORMAT = 1
#: The flush-request file the parent writes (its content is a decimal sequence number).
REQUEST = "flush-request"
#: Extension of a child's partial profile.
SUFFIX = ".pkc"
#: While a process stays busy, its partial profile is rewritten at least this often.
FLUSH_EVERY_S = 2.0
#: How often the sampler thread checks the request file and the main thread's idleness.
CHECK_EVERY_S = 0.025
#: The main thread is idle when its CPU clock advanced less than this between two checks.
IDLE_CPU_S = 0.0005
#: Consecutive idle checks after work that trigger a flush (a worker waiting for its next task).
IDLE_CHECKS = 2

#: Environment variables shared with :mod:`perfkit.profiling.children.follow`.
ENV_DIR = "PERFKIT_CHILDREN_DIR"
ENV_INTERVAL = "PERFKIT_CHILDREN_INTERVAL"

#: Threads started here (the samplers); sampling skips them.
_OWN_THREADS: set[int] = set()
#: The sampler of this process (replaced in a forked child), read by the exit hooks.
_SESSION: ChildSampler | None = None
_REAL_EXIT = os._exit
_REAL_KILL = os.kill
#: How long ``os.kill`` of a followed process waits for it to write its record first.
KILL_WAIT_S = 1.0
_HOOKS_INSTALLED = False
#: In the profiled (main) process while it follows children: ``(folder, interval)`` for forks.
MAIN_FOLLOW: tuple[str, float] | None = None


class ChildSampler:
    """Sample this process's threads and keep ``<folder>/<pid>.pkc`` up to date.

    Parameters
    ----------
    folder
        The parent's temp folder (must exist; never created here).
    interval
        Sampling interval in seconds.
    start_method
        ``"exec"`` for a new interpreter, ``"fork"`` / ``"forkserver"`` for a forked one.
    """

    def __init__(self, folder: str, interval: float, start_method: str) -> None:
        self.folder = folder
        self.interval = interval
        self.start_method = start_method
        self.pid = os.getpid()
        self.ppid = os.getppid()
        self.path = os.path.join(folder, f"{self.pid}{SUFFIX}")
        self.request = os.path.join(folder, REQUEST)
        self.own_request = os.path.join(folder, f"{self.pid}.req")
        self.stacks: dict[tuple[int, tuple[tuple[int, int], ...]], list[float]] = {}
        self.codes: dict[int, Any] = {}
        self.samples = 0
        self.answered = -1
        self.main_tid = _thread.get_ident()
        self.t0 = time.perf_counter()
        self.started_at = time.time()
        self.c0 = time.process_time()
        self.running = False
        self.session_over = False
        self._stop = _thread.allocate_lock()
        self._done = _thread.allocate_lock()

    # -- life cycle ----------------------------------------------------------------------
    def start(self) -> None:
        """Write the first (empty) record, so the parent knows this process, and start sampling."""
        self._stop.acquire()
        self._done.acquire()
        self.running = True
        if not self.flush("running"):
            self.running = False
            self.session_over = True
            return
        _thread.start_new_thread(self._run, ())

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the sampler thread (waits up to ``timeout`` for its last sample)."""
        if not self.running:
            return
        self.running = False
        self._stop.release()
        if self._done.acquire(timeout=timeout):
            self._done.release()

    def finish(self, ended: str) -> None:
        """Stop sampling and write the final record (``ended`` says how the process ended)."""
        if self.session_over:
            return
        self.stop()
        self.flush(ended)
        self.session_over = True

    # -- the sampler thread --------------------------------------------------------------
    def _run(self) -> None:  # noqa: C901 - one hot loop, kept flat on purpose
        me = _thread.get_ident()
        _OWN_THREADS.add(me)
        stacks, codes, skip = self.stacks, self.codes, _OWN_THREADS
        interval, main = self.interval, self.main_tid
        clocks: dict[int, int | None] = {}
        last_cpu: dict[int, float] = {}
        last_keys: dict[int, tuple] = {}  # a thread that did not run keeps its stack
        wait = self._stop.acquire
        last = next_check = time.perf_counter()
        last_flush = last
        main_cpu = 0.0  # main thread CPU since the last check
        idle_checks = 0
        busy = False  # work done since the last flush
        req_sig: tuple[int, int] | None = None
        try:
            while not wait(timeout=interval):
                now = time.perf_counter()
                dt, last = now - last, now
                main_cpu += sample_threads(
                    stacks, codes, clocks, last_cpu, skip, (), dt, main, None, last_keys
                )
                self.samples += 1
                if now < next_check:
                    continue
                next_check = now + CHECK_EVERY_S
                # -- is the session over, did the parent ask, did the main thread go idle?
                if os.path.exists(self.own_request):  # about to be killed: flush now
                    self.flush("running")
                    last_flush, busy = now, False
                    try:
                        os.unlink(self.own_request)
                    except OSError:
                        pass
                    continue
                try:
                    st = os.stat(self.request)
                    sig = (st.st_ino, st.st_mtime_ns)
                except FileNotFoundError:
                    sig = None
                    if not os.path.isdir(self.folder):
                        self.session_over = True
                        return
                except OSError:
                    sig = None
                if sig is not None and sig != req_sig:
                    req_sig = sig
                    seq = _read_seq(self.request)
                    if seq > self.answered:
                        self.answered = seq
                        self.flush("running")
                        last_flush, busy = now, False
                        continue
                if main_cpu > IDLE_CPU_S:
                    busy, idle_checks = True, 0
                else:
                    idle_checks += 1
                main_cpu = 0.0
                if busy and (idle_checks >= IDLE_CHECKS or now - last_flush >= FLUSH_EVERY_S):
                    if not self.flush("running"):
                        self.session_over = True
                        return
                    last_flush, busy = now, False
        finally:
            _OWN_THREADS.discard(me)
            self.running = False
            self._done.release()

    # -- the record ----------------------------------------------------------------------
    def record(self, ended: str) -> dict[str, Any]:
        """This process's samples as plain lists (what :meth:`flush` writes)."""
        stacks = self.stacks.copy()  # atomic under the GIL; codes are added before stacks
        codes = self.codes.copy()
        index: dict[int, int] = {}
        table: list[tuple[str, str, int]] = []
        rows = []
        for (tid, key), (wall, cpu, n) in stacks.items():
            flat: list[int] = []
            for cid, line in key:
                i = index.get(cid)
                if i is None:
                    code = codes[cid]
                    i = index[cid] = len(table)
                    table.append(
                        (
                            code.co_filename,
                            getattr(code, "co_qualname", code.co_name),
                            code.co_firstlineno,
                        )
                    )
                flat.append(i)
                flat.append(line)
            rows.append((tid, tuple(flat), float(wall), float(cpu), int(n)))
        name, role, method = describe(self.start_method)
        return {
            "format": FORMAT,
            "pid": self.pid,
            "ppid": self.ppid,
            "role": role,
            "name": name,
            "start_method": method,
            "argv": list(getattr(sys, "orig_argv", sys.argv)),
            "started_at": self.started_at,
            "wall_s": time.perf_counter() - self.t0,
            "cpu_s": time.process_time() - self.c0,
            "samples": self.samples,
            "interval_s": self.interval,
            "ended": ended,
            "answered": self.answered,
            "codes": table,
            "threads": _thread_names(self.main_tid),
            "stacks": rows,
        }

    def flush(self, ended: str) -> bool:
        """Write the record atomically; False when the parent's folder is gone."""
        tmp = f"{self.path}.{_thread.get_ident()}.tmp"
        try:
            data = marshal.dumps(self.record(ended))
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, self.path)
        except FileNotFoundError:
            return False
        except Exception:  # noqa: BLE001 - never disturb the program; the parent notes the gap
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return True


def _read_seq(path: str) -> int:
    try:
        with open(path, "rb") as fh:
            return int(fh.read(32).strip() or b"-1")
    except (OSError, ValueError):
        return -1


def _thread_names(main_tid: int) -> dict[int, str]:
    threading = sys.modules.get("threading")
    names = {main_tid: "MainThread"}
    if threading is not None:
        try:
            names.update({t.ident: t.name for t in threading.enumerate() if t.ident})
        except Exception:  # noqa: BLE001 - names are a nicety
            pass
    return names


def describe(start_method: str) -> tuple[str, str, str]:
    """``(name, role, start method)`` of this process, as far as it can tell.

    ``multiprocessing`` children name their kind from the process object (its target tells a
    ``Pool`` worker from a ``ProcessPoolExecutor`` or loky worker); anything else is a
    ``subprocess`` (a new interpreter) or a ``fork`` child.
    """
    method = start_method
    mp = sys.modules.get("multiprocessing.process")
    if mp is not None:
        cur = mp.current_process()
        if type(cur).__name__ != "_MainProcess":
            cls_method = getattr(cur, "_start_method", None)
            if cls_method:
                method = "loky" if str(cls_method).startswith("loky") else str(cls_method)
            elif start_method == "exec":
                method = "spawn"
            target = getattr(cur, "_target", None)
            where = f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', '')}"
            if "loky" in where or method == "loky":
                kind = "loky worker"
            elif where.startswith("concurrent.futures"):
                kind = "ProcessPoolExecutor worker"
            elif where == "multiprocessing.pool.worker":
                kind = "Pool worker"
            else:
                kind = "Process"
            return cur.name, (kind if method == "loky" else f"{kind} ({method})"), method
    if start_method == "exec":
        return "", "subprocess", "exec"
    return "", f"{start_method} child", start_method


# -- hooks ---------------------------------------------------------------------------------
def _at_exit() -> None:
    s = _SESSION
    if s is not None and s.pid == os.getpid():
        s.finish("exit")


def _exit_wrapper(status: int) -> None:
    """``os._exit`` that writes this process's record first (how multiprocessing ends forks)."""
    s = _SESSION
    if s is not None and s.pid == os.getpid():
        try:
            s.finish(f"exit {status}")
        except BaseException:  # noqa: BLE001 - exiting must never fail
            pass
    _REAL_EXIT(status)


def _active_folder() -> str | None:
    s = _SESSION
    if s is not None and s.pid == os.getpid() and not s.session_over:
        return s.folder
    if MAIN_FOLLOW is not None:
        return MAIN_FOLLOW[0]
    return None


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie, exited but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except FileNotFoundError:
        return False
    except (OSError, IndexError):
        try:
            _REAL_KILL(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True


def ask_to_flush(folder: str, pid: int, timeout: float = KILL_WAIT_S) -> bool:
    """Ask followed process ``pid`` to write its record now; True when it did within ``timeout``."""
    if not os.path.exists(os.path.join(folder, f"{pid}{SUFFIX}")) or not alive(pid):
        return False
    req = os.path.join(folder, f"{pid}.req")
    try:
        with open(req, "wb"):
            pass
    except OSError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.002)
        if not os.path.exists(req):
            return True
        if not alive(pid):
            break
    try:
        os.unlink(req)
    except OSError:
        pass
    return False


def _kill_wrapper(pid: int, sig: int) -> None:
    """``os.kill`` that lets a followed target write its record before SIGTERM/SIGKILL/SIGINT."""
    folder = _active_folder()
    if folder is not None and pid > 0 and pid != os.getpid() and sig in _FATAL:
        try:
            ask_to_flush(folder, pid)
        except Exception:  # noqa: BLE001 - the kill itself must happen regardless
            pass
    _REAL_KILL(pid, sig)


def _fatal_signals() -> frozenset[int]:
    import _signal

    return frozenset(
        getattr(_signal, n) for n in ("SIGTERM", "SIGKILL", "SIGINT") if hasattr(_signal, n)
    )


_FATAL = _fatal_signals()


def _after_fork() -> None:
    """In a forked child of a followed process: a fresh sampler (the old thread is gone)."""
    _OWN_THREADS.clear()
    parent = _SESSION
    if parent is not None:
        if parent.session_over and parent.start_method != "forkserver-server":
            return
        method = "forkserver" if parent.start_method == "forkserver-server" else "fork"
        start(parent.folder, parent.interval, method)
    elif MAIN_FOLLOW is not None:
        start(MAIN_FOLLOW[0], MAIN_FOLLOW[1], "fork")


def install_hooks() -> None:
    """Exit and fork hooks (once per process; inherited by forked children)."""
    global _HOOKS_INSTALLED
    if _HOOKS_INSTALLED:
        return
    _HOOKS_INSTALLED = True
    import atexit

    atexit.register(_at_exit)
    os._exit = _exit_wrapper
    os.kill = _kill_wrapper
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork)


def start(folder: str, interval: float, start_method: str) -> ChildSampler | None:
    """Follow this process: start a sampler reporting to ``folder`` (None if the folder is gone)."""
    global _SESSION
    install_hooks()
    s = ChildSampler(folder, interval, start_method)
    _SESSION = s
    if start_method == "forkserver-server":
        # The forkserver only forks the workers: no samples or record of its own, the fork hook.
        s.session_over = True
        return s
    s.start()
    return s if not s.session_over else None


def bootstrap() -> None:
    """Entry point of the ``sitecustomize`` bootstrap in a new interpreter."""
    folder = os.environ.get(ENV_DIR, "")
    if not folder or not os.path.isdir(folder):
        return
    try:
        interval = float(os.environ.get(ENV_INTERVAL, "0.001"))
    except ValueError:
        interval = 0.001
    if not interval > 0:
        return
    command = " ".join(getattr(sys, "orig_argv", sys.argv))
    if "resource_tracker" in command or "semaphore_tracker" in command:
        return  # multiprocessing's and loky's bookkeeping helpers: nothing of the program's
    if "forkserver import main" in command:
        start(folder, interval, "forkserver-server")
        return
    start(folder, interval, "exec")
