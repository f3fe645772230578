"""Run a script, a ``-m`` module or ``-c`` code the way ``python`` would, with hooks around it.

What the program sees is what plain python gives it: ``sys.argv``, ``__name__ == "__main__"``,
``sys.path[0]``, ``__file__``, ``__spec__`` (for ``-m``), a fresh ``__main__`` module registered in
``sys.modules`` (so pickling ``__main__.X`` and ``multiprocessing`` spawn work), and the exit
status python would give (``sys.exit(n)`` → n; an uncaught exception → 1; Ctrl-C → death by SIGINT).
The traceback of an uncaught exception is python's own, minus perfkit's frames.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import os
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfkit.errors import InputFileError, PerfkitError, UsageError
from perfkit.profiling._source import is_internal, register_source

KINDS = ("script", "module", "code")


class ProgramSyntaxError(PerfkitError):
    """The program does not compile; ``formatted`` is python's own message for it (exit 1)."""

    exit_code = 1

    def __init__(self, formatted: str) -> None:
        super().__init__(
            formatted.strip().splitlines()[-1] if formatted.strip() else "syntax error"
        )
        self.formatted = formatted


@dataclass(eq=False)
class Program:
    """A program ready to run: its compiled code and the ``__main__`` it must see.

    Engines that instrument functions before they exist (line_profiler) may swap ``code`` for
    an instrumented copy through :meth:`replace_code`.
    """

    kind: str
    target: str
    args: tuple[str, ...]
    argv: list[str]
    path0: str
    filename: str
    code: types.CodeType
    main_attrs: dict[str, Any] = field(default_factory=dict)
    module_name: str = "__main__"

    @property
    def display_name(self) -> str:
        """What reports call the program: the script's file name, the module, or ``-c``."""
        if self.kind == "script":
            return os.path.basename(self.target)
        if self.kind == "module":
            return self.target
        return "-c"

    @property
    def stem(self) -> str:
        """A file-name-safe short name (``train`` for ``train.py``) for output folders."""
        if self.kind == "script":
            return Path(self.target).stem
        if self.kind == "module":
            return self.target.replace(".", "_")
        return "c"

    def replace_code(self, transform: Callable[[types.CodeType], types.CodeType]) -> None:
        """Swap the module code for ``transform(code)`` (instrumented nested functions)."""
        self.code = transform(self.code)


def prepare(kind: str, target: str, args: list[str] | tuple[str, ...] = ()) -> Program:
    """Check the program exists and compile it, without running anything of it.

    Parameters
    ----------
    kind
        ``"script"`` (a path), ``"module"`` (``-m`` name) or ``"code"`` (``-c`` string).
    target
        The path, module name or code string.
    args
        The program's own arguments (``sys.argv[1:]``).

    Raises
    ------
    InputFileError
        The script is missing, a directory, or not a Python source file; the module is unknown.
    ProgramSyntaxError
        The code does not compile (python's own message is in ``formatted``).
    """
    args = tuple(args)
    if kind == "script":
        return _prepare_script(target, args)
    if kind == "module":
        return _prepare_module(target, args)
    if kind == "code":
        register_source("<string>", target)
        code = _compile(target, "<string>")
        return Program(kind, target, args, ["-c", *args], "", "<string>", code)
    raise UsageError(f"unknown program kind {kind!r}", f"use one of {', '.join(KINDS)}")


def _prepare_script(target: str, args: tuple[str, ...]) -> Program:
    path = Path(target)
    if not path.exists():
        raise InputFileError(f"script not found: {target}", "check the path and spelling")
    if path.is_dir():
        if (path / "__main__.py").is_file():
            raise InputFileError(
                f"{target} is a directory", "perfkit profiles a .py file; name its __main__.py"
            )
        raise InputFileError(f"{target} is a directory, not a Python script", "name a .py file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read {target}: {exc.strerror}", "check permissions") from None
    if b"\x00" in raw[:8192]:
        raise InputFileError(
            f"{target} is not a Python source file (binary content)", "name a .py script"
        )
    try:
        source = importlib.util.decode_source(raw)  # honours PEP 263 coding lines, like python
    except (UnicodeDecodeError, SyntaxError) as exc:
        raise InputFileError(
            f"{target} is not a Python source file ({exc})", "name a UTF-8 .py script"
        ) from None
    abspath = os.path.abspath(target)
    code = _compile(source, abspath)
    loader = importlib.machinery.SourceFileLoader("__main__", abspath)
    return Program(
        "script",
        target,
        args,
        [target, *args],
        os.path.dirname(os.path.realpath(target)),
        abspath,
        code,
        main_attrs={"__file__": abspath, "__loader__": loader, "__cached__": None},
    )


def _prepare_module(target: str, args: tuple[str, ...]) -> Program:
    if not target or target.startswith(".") or not all(p.isidentifier() for p in target.split(".")):
        raise InputFileError(f"invalid module name {target!r}", "use a dotted name: pkg.module")
    import runpy

    # python -m puts the working directory first on sys.path before looking the module up.
    saved = sys.path[0] if sys.path else None
    sys.path.insert(0, os.getcwd())
    try:
        mod_name, spec, code = runpy._get_module_details(target, ImportError)  # type: ignore[attr-defined]
    except ImportError:
        raise InputFileError(
            f"no module named {target!r}",
            "check the name, or run from the folder that contains the package",
        ) from None
    except SyntaxError as exc:
        raise ProgramSyntaxError("".join(_traceback().format_exception_only(exc))) from None
    finally:
        sys.path.pop(0)
        if saved is not None and (not sys.path or sys.path[0] != saved):
            sys.path.insert(0, saved)
    origin = spec.origin or target
    return Program(
        "module",
        target,
        args,
        [origin, *args],
        os.getcwd(),
        origin,
        code,
        main_attrs={
            "__file__": origin,
            "__loader__": spec.loader,
            "__spec__": spec,
            "__package__": spec.parent,
            "__cached__": spec.cached,
        },
        module_name=mod_name,
    )


def _compile(source: str, filename: str) -> types.CodeType:
    try:
        return compile(source, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        raise ProgramSyntaxError("".join(_traceback().format_exception_only(exc))) from None


@dataclass(eq=False)
class RunResult:
    """How the program ended: ``ended_by`` is ``exit``, ``exception`` or ``interrupt``."""

    exit_status: int
    ended_by: str
    wall_s: float
    cpu_s: float
    exception: str | None = None
    exc_info: tuple[type[BaseException], BaseException, types.TracebackType | None] | None = None
    main_module: types.ModuleType | None = None
    exit_message: str | None = None
    #: The main thread's CPU and run-queue wait over the run (Linux), see :func:`thread_sched`.
    sched: dict[str, float] | None = None


def thread_sched() -> tuple[float, float] | None:
    """This thread's (CPU seconds, seconds runnable but waiting for a core), or None.

    From ``/proc/thread-self/schedstat`` (Linux). The run-queue wait tells a thread starved by
    a loaded machine from one that waits on I/O or sleep, which its CPU/wall ratio cannot.
    """
    try:
        with open("/proc/thread-self/schedstat", "rb") as fh:
            run_ns, wait_ns = fh.read().split()[:2]
        return int(run_ns) / 1e9, int(wait_ns) / 1e9
    except (OSError, ValueError):
        return None


def sched_delta(
    before: tuple[float, float] | None, after: tuple[float, float] | None
) -> dict[str, float] | None:
    """The main thread's CPU and run-queue wait between two :func:`thread_sched` readings."""
    if before is None or after is None:
        return None
    return {"cpu_s": after[0] - before[0], "runqueue_wait_s": after[1] - before[1]}


def execute(
    program: Program,
    on_start: Callable[[], None] = lambda: None,
    on_stop: Callable[[], None] = lambda: None,
    restore: bool = False,
) -> RunResult:
    """Run ``program`` in this process as ``python`` would; call the hooks right around it.

    Nothing is printed: an uncaught exception is returned in ``exc_info`` with perfkit's frames
    cut off (:func:`print_exception` prints it as python would).
    """
    main = types.ModuleType("__main__")
    main.__dict__.update(
        {"__builtins__": __builtins__, "__annotations__": {}, **program.main_attrs}
    )
    if program.kind == "code":
        main.__loader__ = importlib.machinery.BuiltinImporter  # what python -c shows
    saved_argv, saved_main = sys.argv, sys.modules.get("__main__")
    saved_path0 = sys.path[0] if sys.path else None
    sys.argv = list(program.argv)
    if sys.path:
        sys.path[0] = program.path0
    else:
        sys.path.append(program.path0)
    sys.modules["__main__"] = main
    status, ended_by, message, exc_info, text = 0, "exit", None, None, None
    s0 = thread_sched()
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        on_start()
        try:
            exec(program.code, main.__dict__)
        finally:
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            sched = sched_delta(s0, thread_sched())
            on_stop()
    except SystemExit as exc:
        status, message = _exit_status(exc.code)
    except KeyboardInterrupt as exc:
        status, ended_by = 130, "interrupt"
        exc_info = (type(exc), exc, _trim(exc.__traceback__))
        exc.__traceback__ = exc_info[2]
        text = "KeyboardInterrupt"
    except BaseException as exc:  # noqa: BLE001 - the program's own exception, reported as python would
        status, ended_by = 1, "exception"
        exc_info = (type(exc), exc, _trim(exc.__traceback__))
        exc.__traceback__ = exc_info[2]
        text = "".join(_traceback().format_exception_only(type(exc), exc)).strip()
    finally:
        for stream in (sys.stdout, sys.stderr):
            # a closed or replaced stream is the program's business, as under plain python
            with contextlib.suppress(OSError, ValueError, AttributeError):
                stream.flush()
        if restore:
            sys.argv = saved_argv
            if saved_path0 is not None:
                sys.path[0] = saved_path0
            if saved_main is not None:
                sys.modules["__main__"] = saved_main
    return RunResult(status, ended_by, wall, cpu, text, exc_info, main, message, sched)


def _traceback():  # noqa: ANN202 - the module, imported only when an error is reported
    import traceback

    return traceback


def _exit_status(code: object) -> tuple[int, str | None]:
    """python's rule for ``SystemExit.code``: None → 0, int → itself, else print it and use 1."""
    if code is None:
        return 0, None
    if isinstance(code, int):
        return code & 0xFF if code >= 0 else code % 256, None
    return 1, str(code)


def _trim(tb: types.TracebackType | None) -> types.TracebackType | None:
    """Drop the leading traceback entries that belong to perfkit's runner."""
    while tb is not None and is_internal(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    return tb


def print_exception(result: RunResult) -> None:
    """Print the program's exit message or uncaught exception to stderr as python would."""
    if result.exit_message is not None:
        print(result.exit_message, file=sys.stderr)
    if result.exc_info is not None:
        etype, value, tb = result.exc_info
        sys.excepthook(etype, value, tb)
    sys.stderr.flush()
