"""The terminal summary: top functions, hot lines with source, memory, hints.

The summary is laid out once as :class:`Section` records and then drawn either with rich (when
stderr is a terminal: colour, box tables) or as plain aligned text (pipes, CI logs, files and
the golden tests). The plain path does not import rich, which keeps ~0.05-0.1 s of import time
out of every non-interactive ``perfkit profile`` run. Strings from the profiled program are
given to rich as :class:`~rich.text.Text`, never as markup.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, ClassVar

from perfkit.render import _fmt

if TYPE_CHECKING:
    from perfkit.profiling.model import Profile

TOP_N = 10
#: Rows of the "waiting" group: where threads blocked (locks, sleep, select, queue get, join).
WAIT_N = 5
WAITING_TITLE = "Waiting, not working (locks, sleep, select, queue get, join): own time"
#: Source text is cut to this many characters in the plain layout (rich folds instead).
SOURCE_WIDTH = 60


@dataclass
class Section:
    """One block of the summary: a bold line, or a table (headers, rows, right-aligned flags)."""

    title: str
    headers: tuple[str, ...] = ()
    rows: list[tuple[str, ...]] = field(default_factory=list)
    right: tuple[bool, ...] = ()
    lines: list[str] = field(default_factory=list)


class TerminalRenderer:
    """The summary as plain text (what is printed when stderr is not a terminal)."""

    name: ClassVar[str] = "terminal"
    file_name: ClassVar[str] = "summary.txt"

    def render(self, profile: Profile) -> str:
        """The summary as plain text without colour codes."""
        return render_plain(summary_sections(profile))


def summary_sections(profile: Profile, saved_to: str | None = None) -> list[Section]:
    """Lay the summary of ``profile`` out as sections (shared by the plain and rich paths)."""
    cwd, total = profile.cwd, profile.wall_s
    out = [
        Section(
            "perfkit profile " + " ".join([profile.program, *profile.argv[1:]]),
            lines=[
                f"wall {_fmt.seconds(profile.wall_s)} · cpu {_fmt.seconds(profile.cpu_s)} · "
                f"{_fmt.ended(profile.ended_by, profile.exit_status, profile.exception)} · "
                f"modes: {', '.join(profile.modes) or 'none'}"
                + (f" · {profile.sample_count} samples" if profile.sample_count else "")
            ],
        )
    ]
    threads_note = multi_thread_note(profile)
    if threads_note:
        out[0].lines.append(threads_note)
    if profile.functions:
        exact = any(f.calls is not None for f in profile.functions)
        for by, title in (("self_s", "own time"), ("total_s", "total time")):
            cpu_attr = "self_cpu_s" if by == "self_s" else "total_cpu_s"
            cpu_head = "own cpu" if by == "self_s" else "total cpu"
            headers = ("own", "own %", "total", "total %", cpu_head) + (("calls",) if exact else ())
            sec = Section(
                f"Top functions by {title}",
                headers + ("function", "where"),
                right=(True,) * len(headers) + (False, False),
            )
            for f in profile.top_functions(TOP_N, by=by, waiting=False):
                row = [
                    _fmt.seconds(f.self_s),
                    _fmt.pct(f.self_s, total),
                    _fmt.seconds(f.total_s),
                    _fmt.pct(f.total_s, total),
                    _fmt.seconds(getattr(f, cpu_attr)),
                ]
                if exact:
                    row.append(str(f.calls) if f.calls is not None else "")
                sec.rows.append((*row, f.function, _fmt.where(f.file, f.line, cwd)))
            out.append(sec)
        waits = [f for f in profile.top_functions(WAIT_N, waiting=True) if f.self_s > 0]
        if waits:
            rows = [(f.self_s, f.function, _fmt.where(f.file, f.line, cwd)) for f in waits]
            headers = ("own %", "function", "where")
            out.append(_own_time_section(WAITING_TITLE, headers, rows, total))
    lines = [h for h in profile.top_lines(TOP_N) if h.self_s > 0]
    if lines:
        rows = [(h.self_s, _fmt.where(h.file, h.line, cwd), h.source) for h in lines]
        out.append(_own_time_section("Hot lines (own time)", ("%", "where", "source"), rows, total))
    for lt in profile.line_tables:
        loc = _fmt.where(lt.file, lt.first_line, cwd)
        sec = Section(
            f"Line timings of {lt.function} ({loc}) — line_profiler",
            ("line", "hits", "time", "%", "source"),
            right=(True, True, True, True, False),
        )
        for r in lt.lines[:60]:
            sec.rows.append(
                (
                    str(r.line),
                    str(r.hits) if r.hits else "",
                    _fmt.seconds(r.time_s) if r.hits else "",
                    _fmt.pct(r.time_s, lt.total_s) if r.hits else "",
                    r.source,
                )
            )
        out.append(sec)
    mem = profile.memory
    if mem is not None:
        line = (
            f"peak RSS {_fmt.size(mem.peak_rss_bytes)} (start {_fmt.size(mem.start_rss_bytes)}, "
            f"end {_fmt.size(mem.end_rss_bytes)}, "
            f"+{_fmt.size(mem.peak_rss_bytes - mem.start_rss_bytes)} during the run)"
        )
        if mem.tracemalloc_peak_bytes is not None:
            line += f" · tracemalloc peak {_fmt.size(mem.tracemalloc_peak_bytes)}"
        out.append(Section("Memory", lines=[line]))
        if mem.top_lines:
            sec = Section(
                "Top allocation lines",
                ("bytes", "count", "how", "where", "source"),
                right=(True, True, False, False, False),
            )
            for s in mem.top_lines[:TOP_N]:
                sec.rows.append(
                    (
                        _fmt.size(s.size_bytes),
                        str(s.count),
                        s.method,
                        _fmt.where(s.file, s.line, cwd),
                        s.source,
                    )
                )
            out.append(sec)
        for mt in mem.line_tables:
            sec = Section(
                f"Memory per line of {mt.function} — memory_profiler",
                ("line", "increment", "usage", "source"),
                right=(True, True, True, False),
            )
            for r in mt.lines[:60]:
                sec.rows.append(
                    (
                        str(r.line),
                        _fmt.size(r.increment_bytes) if r.occurrences else "",
                        _fmt.size(r.usage_bytes) if r.occurrences else "",
                        r.source,
                    )
                )
            out.append(sec)
    if profile.processes:
        from perfkit.profiling.children.render import terminal_sections

        out.extend(terminal_sections(profile))
    if profile.hints:
        sec = Section("Hints")
        for i, h in enumerate(profile.hints, 1):
            sec.lines.append(f"{i}. {h.title}  [{h.rule}] {_fmt.where(h.file, h.line, cwd)}")
            if h.source:
                sec.lines.append(f"     {h.source}")
            sec.lines.append(f"     evidence: {h.evidence}")
            sec.lines.append(f"     do: {h.suggestion}")
        out.append(sec)
    tail = [f"note: {n}" for n in profile.notes]
    if saved_to:
        tail.append(f"report: {saved_to}")
    if tail:
        out.append(Section("", lines=tail))
    return out


def _own_time_section(
    title: str, headers: tuple[str, ...], rows: list[tuple[Any, ...]], total: float
) -> Section:
    """A table led by own time and its share of ``total``; each row is ``(own_s, *cells)``."""
    sec = Section(title, ("own", *headers), right=(True, True) + (False,) * (len(headers) - 1))
    for own_s, *cells in rows:
        sec.rows.append((_fmt.seconds(own_s), _fmt.pct(own_s, total), *cells))
    return sec


def multi_thread_note(profile: Profile) -> str:
    """Why percentages can add up past 100% when several threads ran ("" for one thread)."""
    n = len(profile.threads)
    if n < 2:
        return ""
    return (
        f"{n} threads: percentages are of the run's wall time and each thread's time counts, "
        "so they can add up to more than 100%; CPU above wall means threads ran in parallel"
    )


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render_plain(sections: list[Section]) -> str:
    """Sections as plain aligned text (no colour, no box drawing)."""
    out: list[str] = []
    for sec in sections:
        if sec.title:
            out.append(sec.title)
        out.extend(sec.lines)
        if sec.headers:
            rows = [tuple(_clip(c, SOURCE_WIDTH) for c in r) for r in sec.rows]
            widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(sec.headers)]
            last = len(widths) - 1

            def fmt(
                cells: tuple[str, ...],
                sec: Section = sec,
                widths: list[int] = widths,
                last: int = last,
            ) -> str:
                parts = [
                    c.rjust(w) if sec.right[i] else (c if i == last else c.ljust(w))
                    for i, (c, w) in enumerate(zip(cells, widths, strict=True))
                ]
                return "  ".join(parts).rstrip()

            out.append(fmt(sec.headers))
            out.append("  ".join("-" * w for w in widths))
            out.extend(fmt(r) for r in rows)
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def print_summary(
    profile: Profile, file: IO[str] | None = None, saved_to: str | None = None
) -> None:
    """Print the summary to ``file`` (stderr): with rich on a terminal, plain text otherwise."""
    stream = file if file is not None else sys.stderr
    sections = summary_sections(profile, saved_to)
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        _print_rich(sections, stream)
    else:
        stream.write(render_plain(sections))
        stream.flush()


def _print_rich(sections: list[Section], stream: Any) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=stream, highlight=False, emoji=False)
    for sec in sections:
        if sec.headers:
            table = Table(
                title=Text(sec.title, style="bold"),
                title_justify="left",
                show_edge=False,
                pad_edge=False,
            )
            for h, right in zip(sec.headers, sec.right, strict=True):
                table.add_column(h, justify="right" if right else "left", overflow="fold")
            for r in sec.rows:
                table.add_row(*(Text(c) for c in r))
            console.print(table)
        else:
            if sec.title:
                console.print(Text(sec.title, style="bold"))
            for line in sec.lines:
                console.print(Text(line))
