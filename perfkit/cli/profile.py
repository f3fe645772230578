"""``perfkit profile [options] (script.py | -m module | -c code) [args...]``.

Runs the program exactly as ``python`` would, under the chosen engines, prints a summary to
stderr (the program's stdout is untouched) and writes the report folder. Everything after the
script name (or after ``-m module`` / ``-c code``) belongs to the program.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from perfkit.errors import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``profile`` subcommand."""
    p = subparsers.add_parser(
        "profile",
        help="profile a script, module or code: CPU by function and line, memory, hints",
        description=(
            "Run a Python program as `python` would and profile it: sampling CPU profile by "
            "default; --cpu tracing (cProfile), --lines (line_profiler), --memory (RSS, "
            "allocation sites), --memory-lines (memory_profiler). Outputs go to "
            "reports/profiles/<name>-<timestamp>/ or --out."
        ),
        allow_abbrev=False,
    )
    p.add_argument(
        "--cpu",
        choices=("sampling", "pyinstrument", "tracing", "off"),
        default="sampling",
        help="CPU engine: low-overhead sampler (default), pyinstrument's sampler, or cProfile",
    )
    p.add_argument(
        "--interval",
        type=float,
        default=0.01,
        metavar="SECONDS",
        help="sampling interval (default 0.01: 100 Hz, like py-spy)",
    )
    p.add_argument(
        "--lines",
        metavar="SPEC",
        help="'auto' (hottest functions of your code; runs the program twice) or "
        "module:function[,module:function...] for line_profiler timings",
    )
    p.add_argument(
        "--lines-top",
        type=int,
        default=5,
        metavar="K",
        help="how many functions --lines auto profiles (default 5)",
    )
    p.add_argument(
        "--memory",
        action="store_true",
        help="peak RSS, memory over time, top allocation lines, array dtype hints",
    )
    p.add_argument(
        "--tracemalloc",
        choices=("sampled", "full", "off"),
        default="sampled",
        help="with --memory: tracemalloc in short windows (default), all run, never",
    )
    p.add_argument(
        "--memory-lines",
        metavar="SPEC",
        help="module:function[,...]: memory_profiler per-line increments (slow)",
    )
    p.add_argument(
        "--format",
        metavar="LIST",
        help="comma list of terminal,html,json,speedscope,pstats or 'all' "
        "(default: terminal,html,json,speedscope; +pstats with --cpu tracing)",
    )
    p.add_argument("--out", metavar="DIR", help="output folder (default reports/profiles/...)")
    p.add_argument("--quiet", action="store_true", help="no terminal summary")
    p.add_argument("--no-hints", action="store_true", help="do not compute hints")
    p.add_argument(
        "--show-all",
        action="store_true",
        help="keep the import machinery's frames (<frozen importlib._bootstrap>); folded by "
        "default",
    )
    p.add_argument(
        "--no-subprocesses",
        action="store_true",
        help="do not follow the program's child Python processes (followed by default: "
        "multiprocessing, ProcessPoolExecutor, joblib/loky workers, subprocess python)",
    )
    p.add_argument(
        "-m",
        dest="module",
        nargs=argparse.REMAINDER,
        metavar="MODULE ...",
        help="run a module as `python -m` would (the rest are its arguments)",
    )
    p.add_argument(
        "-c",
        dest="code",
        nargs=argparse.REMAINDER,
        metavar="CODE ...",
        help="run code as `python -c` would (the rest are its arguments)",
    )
    p.add_argument(
        "script",
        nargs=argparse.REMAINDER,
        metavar="script.py [args ...]",
        help="the script to run, then its own arguments",
    )
    p.set_defaults(func=run)


def _program(args: argparse.Namespace) -> tuple[str, str, list[str]]:
    if args.module is not None:
        if args.script:
            raise UsageError("give either a script or -m MODULE, not both", "see --help")
        if not args.module:
            raise UsageError("-m needs a module name", "perfkit profile -m package.module")
        return "module", args.module[0], args.module[1:]
    if args.code is not None:
        if args.script:
            raise UsageError("give either a script or -c CODE, not both", "see --help")
        if not args.code:
            raise UsageError("-c needs the code to run", 'perfkit profile -c "print(1)"')
        return "code", args.code[0], args.code[1:]
    if not args.script:
        raise UsageError("no program given", "perfkit profile script.py [args] | -m mod | -c code")
    return "script", args.script[0], args.script[1:]


def _specs(text: str | None) -> list[str]:
    return [s.strip() for s in (text or "").split(",") if s.strip()]


def run(args: argparse.Namespace) -> int:
    """Profile the program; return its exit status (or die by SIGINT as it did)."""
    import os

    from perfkit._env import CommitLookup

    commit = CommitLookup(os.getcwd())  # git runs while perfkit imports and the program runs

    from perfkit.errors import PerfkitError
    from perfkit.profiling.runner import ProgramSyntaxError, prepare, print_exception
    from perfkit.profiling.session import Options, output_dir, profile_program
    from perfkit.render.base import parse_formats

    kind, target, prog_args = _program(args)
    formats = parse_formats(args.format, tracing=args.cpu == "tracing")
    lines: str | list[str] | None = None
    if args.lines:
        lines = "auto" if args.lines.strip() == "auto" else _specs(args.lines)
    options = Options(
        cpu=args.cpu,
        interval_s=args.interval,
        lines=lines,
        lines_top=args.lines_top,
        memory=args.memory,
        tracemalloc=args.tracemalloc,
        memory_lines=_specs(args.memory_lines),
        hints=not args.no_hints,
        subprocesses=not args.no_subprocesses,
        kernprof=True,
        show_all=args.show_all,
    )
    try:
        program = prepare(kind, target, prog_args)
    except ProgramSyntaxError as exc:
        sys.stderr.write(exc.formatted)  # python's own message, as `python script.py` prints it
        return 1
    # Where the report goes is decided now: the program may chdir, close stderr, or both.
    base = os.path.join(getattr(args, "report_dir", None) or "reports", "profiles")
    shown_out = args.out or str(output_dir(program.stem, base=base))
    out = os.path.abspath(shown_out)
    from perfkit._atomic import check_writable

    try:
        check_writable(out, directory=True)
    except PerfkitError:
        raise
    except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL byte
        reason = getattr(exc, "strerror", None) or exc
        raise UsageError(
            f"cannot use {_clip(shown_out)} as the report folder: {reason}", "choose another --out"
        ) from None
    stderr = _Stderr.capture()
    outcome = profile_program(program, options, commit=commit)
    result = outcome.run
    assert result is not None
    with contextlib.suppress(OSError, ValueError, AttributeError):
        print_exception(result)  # the program's own traceback, where python would print it
    profile = outcome.profile
    disabled = set(getattr(args, "disabled_hints", ()) or ())  # [tool.perfkit.profile]
    if disabled and profile is not None:
        profile = profile.with_hints(tuple(h for h in profile.hints if h.rule not in disabled))
    error: PerfkitError | None = None
    written = {}
    try:
        from perfkit.render.base import write_outputs

        # no fsync per file: each rename is still atomic, and a rerun recreates the report
        written = write_outputs(profile, out, formats, fsync=False)
    except PerfkitError as exc:
        error = exc
    except OSError as exc:
        error = UsageError(
            f"cannot write the report to {shown_out}: {exc.strerror or exc}",
            "choose a writable folder with --out",
        )
    stream = stderr.usable()
    if stream is not None and "terminal" in formats and not args.quiet:
        from perfkit.render.terminal import print_summary

        where = written.get("html") or next(iter(written.values()), None)
        shown = os.path.join(shown_out, where.name) if where else None
        with contextlib.suppress(OSError, ValueError):
            print_summary(profile, file=stream, saved_to=shown)
    if error is not None:
        stderr.say(f"perfkit: error: {error}")
        if result.ended_by != "interrupt":
            return error.exit_code
    elif written and not args.quiet:
        stderr.say(f"perfkit: report written to {shown_out}")
    if result.ended_by == "interrupt":
        # Die the way python does on an uncaught Ctrl-C, so the shell sees 130 / SIGINT.
        import signal  # here only: its enums cost every run a millisecond of start-up

        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    return result.exit_status


def _clip(text: str, width: int = 80) -> str:
    return repr(text if len(text) <= width else text[: width - 1] + "…")


class _Stderr:
    """perfkit's own stderr, as it was before the program ran.

    A program may close ``sys.stderr`` or fd 2 (and even open another file that reuses fd 2);
    python then still exits with the program's status and prints nothing more. perfkit does the
    same: its summary and messages go to the original stream only while fd 2 is still the file
    it was, and they are dropped otherwise.
    """

    def __init__(self, stream: object, ident: tuple[int, int] | None) -> None:
        self.stream = stream
        self.ident = ident

    @classmethod
    def capture(cls) -> _Stderr:
        return cls(sys.stderr, _fd2_identity())

    def usable(self) -> object | None:
        stream = self.stream
        if stream is None or getattr(stream, "closed", False):
            return None
        if self.ident is not None and _fd2_identity() != self.ident:
            return None
        return stream

    def say(self, line: str) -> None:
        stream = self.usable()
        if stream is None:
            return
        with contextlib.suppress(OSError, ValueError):
            print(line, file=stream)  # type: ignore[arg-type]
            stream.flush()  # type: ignore[attr-defined]


def _fd2_identity() -> tuple[int, int] | None:
    import os

    try:
        st = os.fstat(2)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)
