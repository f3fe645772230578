"""Run a program (or a block of code) under the chosen engines and build one :class:`Profile`."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfkit.errors import PerfkitError, UsageError
from perfkit.profiling.engines.base import Collector, engine_class
from perfkit.profiling.model import Profile
from perfkit.profiling.runner import Program, RunResult, execute

CPU_ENGINES = ("sampling", "pyinstrument", "tracing", "off")
DEFAULT_TOP_K = 5


@dataclass
class Options:
    """What to measure: the union of the CLI's mode flags.

    ``lines`` is ``"auto"`` or a list of ``module:function`` names; ``lines_functions`` and
    ``memory_lines_functions`` take function objects (Python API).
    """

    cpu: str = "sampling"
    interval_s: float = 0.01  # engines.sampling.DEFAULT_INTERVAL_S (100 Hz, like py-spy)
    lines: str | Sequence[str] | None = None
    lines_top: int = DEFAULT_TOP_K
    lines_functions: Sequence[Any] = ()
    memory: bool = False
    tracemalloc: str = "sampled"
    memory_lines: Sequence[str] = ()
    memory_lines_functions: Sequence[Any] = ()
    hints: bool = True
    #: Put kernprof's ``@profile`` decorator into builtins for the run (``perfkit profile``).
    kernprof: bool = False
    #: Keep the import machinery's frames (``--show-all``); folded away by default.
    show_all: bool = False
    #: Follow the program's child Python processes (``--no-subprocesses`` turns it off).
    subprocesses: bool = True

    def __post_init__(self) -> None:
        if self.cpu not in CPU_ENGINES:
            raise UsageError(f"unknown --cpu {self.cpu!r}", f"use one of: {', '.join(CPU_ENGINES)}")
        if not 0 < self.interval_s <= 60:  # NaN and infinity fail too
            raise UsageError(
                f"--interval must be a number of seconds in (0, 60] (got {self.interval_s})",
                "e.g. 0.01",
            )
        if self.lines_top < 1:
            raise UsageError("--lines-top must be at least 1", "e.g. --lines-top 5")

    @property
    def modes(self) -> tuple[str, ...]:
        out = [] if self.cpu == "off" else [self.cpu]
        if self.lines or self.lines_functions:
            out.append("lines")
        if self.memory:
            out.append("memory")
        if self.memory_lines or self.memory_lines_functions:
            out.append("memory-lines")
        return tuple(out)


def make_engines(options: Options, line_targets: Sequence[str] = ()) -> list[Any]:
    """The engines for ``options``, in the order they contribute (tree first, memory last)."""
    engines: list[Any] = []
    if options.cpu in ("sampling", "tracing"):
        engines.append(
            engine_class("sampling")(interval_s=options.interval_s, show_all=options.show_all)
        )
    if options.cpu == "pyinstrument":
        engines.append(engine_class("pyinstrument")(interval_s=options.interval_s))
    if options.cpu == "tracing":
        engines.append(engine_class("tracing")(show_all=options.show_all))
    if line_targets or options.lines_functions:
        engines.append(
            engine_class("lines")(
                targets=list(line_targets), functions=list(options.lines_functions)
            )
        )
    if options.kernprof:
        from perfkit.profiling.engines.kernprof import KernprofEngine

        engines.append(KernprofEngine())
    if options.memory:
        memory = engine_class("memory")(tracemalloc_mode=options.tracemalloc)
        if engines and engines[0].name == "sampling":
            memory.ride(engines[0])  # one sampler thread wakes the program, not two
        engines.append(memory)
    if options.memory_lines or options.memory_lines_functions:
        engines.append(
            engine_class("memory-lines")(
                targets=list(options.memory_lines),
                functions=list(options.memory_lines_functions),
            )
        )
    return engines


@dataclass(eq=False)
class Outcome:
    """A finished run: the profile and how the program ended."""

    profile: Profile
    run: RunResult | None = None
    notes: list[str] = field(default_factory=list)


def profile_program(
    program: Program, options: Options, restore: bool = False, commit: Any = None
) -> Outcome:
    """Run ``program`` under the engines ``options`` asks for and return its profile.

    ``--lines auto`` first runs the program once under the sampler in a child process (its
    output discarded) to find the hottest functions of the program's own code, then runs it
    again here with line_profiler on them.
    """
    notes: list[str] = []
    line_targets: list[str] = []
    if options.lines == "auto":
        line_targets = auto_line_targets(program, options)
        notes.append(
            "--lines auto ran the program twice: a sampling run (output discarded) picked "
            f"{', '.join(line_targets) or 'no functions'}, then this run line-profiled them"
        )
    elif options.lines:
        line_targets = list(options.lines)
    engines = make_engines(options, line_targets)
    for engine in engines:
        engine.prepare(program)
    started_at = _utc_now()
    start_cwd = os.getcwd()  # the program may chdir; paths in the report are relative to this
    if commit is None:
        from perfkit._env import CommitLookup

        commit = CommitLookup(os.getcwd())
    follower = None
    if options.subprocesses and options.cpu != "off":
        from perfkit.profiling.children.follow import Follower

        follower = Follower(options.interval_s)
        follower.start()
    pid = os.getpid()

    def stop() -> None:
        if os.getpid() != pid:
            return  # a fork of the program that returned here: the parent's engines are not ours
        for e in reversed(engines):
            e.stop()
        if follower is not None:
            follower.stop()

    result = execute(
        program,
        on_start=lambda: [e.start() for e in engines],
        on_stop=stop,
        restore=restore,
    )
    if os.getpid() != pid:
        from perfkit.profiling.runner import print_exception

        # End as that fork would under python (no report of its own; followed, its data
        # reaches the parent's report).
        print_exception(result)
        raise SystemExit(result.exit_status)
    collector = Collector()
    collector.notes.extend(notes)
    for engine in engines:
        engine.contribute(collector)
    if follower is not None:
        follower.stop()  # no-op when the program's end already stopped it
        follower.contribute(
            collector,
            ["python", *program.argv],
            result.wall_s,
            result.cpu_s,
            main_file=program.filename,
        )
    profile = build_profile(
        collector,
        program=program.display_name,
        kind=program.kind,
        argv=tuple(program.argv),
        modes=options.modes,
        started_at=started_at,
        cwd=start_cwd,
        wall_s=result.wall_s,
        cpu_s=result.cpu_s,
        exit_status=result.exit_status,
        ended_by=result.ended_by,
        exception=result.exception,
        hints=options.hints,
        commit=commit,
        sched=result.sched,
    )
    return Outcome(profile, result, notes)


def auto_line_targets(program: Program, options: Options) -> list[str]:
    """Run the program once under the sampler (child process) and name its hottest functions."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="perfkit-auto-") as tmp:
        if program.kind == "script":
            prog = [program.target]
        elif program.kind == "module":
            prog = ["-m", program.target]
        else:
            prog = ["-c", program.target]
        cmd = [
            sys.executable,
            "-m",
            "perfkit",
            "profile",
            "--quiet",
            "--no-hints",
            "--format",
            "json",
            "--out",
            tmp,
            "--interval",
            str(options.interval_s),
            *prog,
            *program.args,
        ]
        proc = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        path = Path(tmp) / "profile.json"
        if not path.exists():
            raise PerfkitError(
                f"--lines auto: the sampling run failed (exit {proc.returncode}): "
                f"{proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ''}",
                "name the functions with --lines module:function",
            )
        first = Profile.load(path)
    return pick_hot_functions(first, options.lines_top)


def pick_hot_functions(profile: Profile, k: int) -> list[str]:
    """The ``k`` user functions with the most own time, as ``module:qualname`` (no ``<module>``)."""
    picked = []
    for f in sorted(profile.functions, key=lambda f: (-f.self_s, -f.total_s)):
        if not f.user_code or f.function.startswith("<") or "<locals>" in f.function:
            continue
        if f.self_s <= 0 and f.total_s <= 0:
            continue
        picked.append(f"{f.module or '__main__'}:{f.function}")
        if len(picked) >= k:
            break
    return picked


def build_profile(
    collector: Collector,
    hints: bool = True,
    commit: Any = None,
    sched: dict[str, float] | None = None,
    **run: Any,
) -> Profile:
    """Freeze what the engines collected, plus run metadata, into a Profile (with hints)."""
    from perfkit import __version__
    from perfkit._env import machine_info
    from perfkit.profiling._source import source_lines

    files = {f.file for f in collector.functions if f.user_code}
    files |= {t.file for t in collector.line_tables}
    sources = {f: "\n".join(source_lines(f)) for f in sorted(files) if source_lines(f)}
    env = {
        "perfkit_version": __version__,
        "machine_info": machine_info(light=True),
        "commit_info": commit.result() if commit is not None else {},
        "python": sys.version.split()[0],
        "executable": sys.executable,
    }
    if sched is not None:
        env["main_thread_sched"] = sched  # tells waiting code from a starved CPU (hints)
    profile = Profile(
        cwd=run.pop("cwd", None) or os.getcwd(),
        interval_s=collector.interval_s,
        sample_count=collector.sample_count,
        threads=tuple(collector.threads),
        functions=tuple(collector.functions),
        hot_lines=tuple(collector.hot_lines[:500]),
        line_tables=tuple(collector.line_tables),
        memory=collector.memory,
        notes=tuple(collector.notes),
        environment=env,
        sources=sources,
        processes=tuple(collector.processes),
        **run,
    )
    if hints and (profile.functions or profile.memory is not None or profile.line_tables):
        # nothing measured, nothing to hint at: an empty run skips the rules' import (~10 ms)
        from perfkit.profiling.hints import find_hints

        profile = profile.with_hints(tuple(find_hints(profile)))
    return profile


def _utc_now() -> str:
    from perfkit._env import utc_now_iso

    return utc_now_iso()


def output_dir(program_stem: str, base: str | os.PathLike[str] = "reports/profiles") -> Path:
    """``reports/profiles/<stem>-<UTC timestamp>`` (a new folder name each second)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    path = Path(base) / f"{program_stem}-{stamp}"
    n = 1
    while path.exists():
        n += 1
        path = Path(base) / f"{program_stem}-{stamp}-{n}"
    return path


def json_dumps(profile: Profile) -> str:
    """The profile's JSON text (what ``profile.json`` holds)."""
    from perfkit.profiling.model import to_json

    return to_json(profile)
