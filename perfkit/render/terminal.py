"""The terminal summary (rich): top functions, hot lines with source, memory, hints.

Every string from the profiled program is passed to rich as plain :class:`~rich.text.Text`,
never as markup, so a function named ``[bold]x[/]`` prints as written.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, ClassVar

from perfkit.render import _fmt

if TYPE_CHECKING:
    from perfkit.profiling.model import Profile

TOP_N = 10


class TerminalRenderer:
    """The summary as plain text of a fixed width (what the CLI prints to stderr, in colour)."""

    name: ClassVar[str] = "terminal"
    file_name: ClassVar[str] = "summary.txt"

    def __init__(self, width: int = 110) -> None:
        self.width = width

    def render(self, profile: Profile) -> str:
        """The summary as text without colour codes."""
        from rich.console import Console

        buf = io.StringIO()
        console = Console(file=buf, width=self.width, color_system=None, highlight=False,
                          force_terminal=False, emoji=False)
        print_summary(profile, console)
        return buf.getvalue()


def print_summary(profile: Profile, console: Any = None, saved_to: str | None = None) -> None:
    """Print the summary to ``console`` (default: a rich Console on stderr)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    if console is None:
        console = Console(stderr=True, highlight=False, emoji=False)
    T = Text
    cwd = profile.cwd
    head = T()
    head.append("perfkit profile ", style="bold")
    head.append(" ".join([profile.program, *profile.argv[1:]]))
    console.print(head)
    console.print(
        T(
            f"wall {_fmt.seconds(profile.wall_s)} · cpu {_fmt.seconds(profile.cpu_s)} · "
            f"{_fmt.ended(profile.ended_by, profile.exit_status, profile.exception)} · "
            f"modes: {', '.join(profile.modes) or 'none'}"
            + (f" · {profile.sample_count} samples" if profile.sample_count else "")
        )
    )
    total = profile.wall_s
    if profile.functions:
        exact = any(f.calls is not None for f in profile.functions)
        for by, title in (("self_s", "own time"), ("total_s", "total time")):
            table = Table(title=f"Top functions by {title}", title_justify="left",
                          show_edge=False, pad_edge=False)
            table.add_column("own", justify="right")
            table.add_column("own %", justify="right")
            table.add_column("total", justify="right")
            table.add_column("total %", justify="right")
            if exact:
                table.add_column("calls", justify="right")
            table.add_column("function", overflow="fold")
            table.add_column("where", overflow="fold")
            for f in profile.top_functions(TOP_N, by=by):
                row = [
                    _fmt.seconds(f.self_s), _fmt.pct(f.self_s, total),
                    _fmt.seconds(f.total_s), _fmt.pct(f.total_s, total),
                ]
                if exact:
                    row.append(str(f.calls) if f.calls is not None else "")
                table.add_row(*(T(x) for x in row), T(f.function), T(_fmt.where(f.file, f.line,
                                                                                   cwd)))
            console.print(table)
    lines = [h for h in profile.top_lines(TOP_N) if h.self_s > 0]
    if lines:
        table = Table(title="Hot lines (own time)", title_justify="left", show_edge=False,
                      pad_edge=False)
        table.add_column("own", justify="right")
        table.add_column("%", justify="right")
        table.add_column("where", overflow="fold")
        table.add_column("source", overflow="fold")
        for h in lines:
            table.add_row(T(_fmt.seconds(h.self_s)), T(_fmt.pct(h.self_s, total)),
                          T(_fmt.where(h.file, h.line, cwd)), T(h.source))
        console.print(table)
    for lt in profile.line_tables:
        loc = _fmt.where(lt.file, lt.first_line, cwd)
        table = Table(title=f"Line timings of {lt.function} ({loc}) — line_profiler",
                      title_justify="left", show_edge=False, pad_edge=False)
        table.add_column("line", justify="right")
        table.add_column("hits", justify="right")
        table.add_column("time", justify="right")
        table.add_column("%", justify="right")
        table.add_column("source", overflow="fold")
        for r in lt.lines[:60]:
            table.add_row(T(str(r.line)), T(str(r.hits) if r.hits else ""),
                          T(_fmt.seconds(r.time_s) if r.hits else ""),
                          T(_fmt.pct(r.time_s, lt.total_s) if r.hits else ""), T(r.source))
        console.print(table)
    mem = profile.memory
    if mem is not None:
        line = (
            f"Memory: peak RSS {_fmt.size(mem.peak_rss_bytes)} (start "
            f"{_fmt.size(mem.start_rss_bytes)}, end {_fmt.size(mem.end_rss_bytes)}, "
            f"+{_fmt.size(mem.peak_rss_bytes - mem.start_rss_bytes)} during the run)"
        )
        if mem.tracemalloc_peak_bytes is not None:
            line += f" · tracemalloc peak {_fmt.size(mem.tracemalloc_peak_bytes)}"
        console.print(T(line, style="bold"))
        if mem.top_lines:
            table = Table(title="Top allocation lines", title_justify="left", show_edge=False,
                          pad_edge=False)
            table.add_column("bytes", justify="right")
            table.add_column("count", justify="right")
            table.add_column("how", justify="left")
            table.add_column("where", overflow="fold")
            table.add_column("source", overflow="fold")
            for s in mem.top_lines[:TOP_N]:
                table.add_row(T(_fmt.size(s.size_bytes)), T(str(s.count)), T(s.method),
                              T(_fmt.where(s.file, s.line, cwd)), T(s.source))
            console.print(table)
        for mt in mem.line_tables:
            table = Table(title=f"Memory per line of {mt.function} — memory_profiler",
                          title_justify="left", show_edge=False, pad_edge=False)
            table.add_column("line", justify="right")
            table.add_column("increment", justify="right")
            table.add_column("usage", justify="right")
            table.add_column("source", overflow="fold")
            for r in mt.lines[:60]:
                table.add_row(T(str(r.line)), T(_fmt.size(r.increment_bytes) if r.occurrences
                                                else ""),
                              T(_fmt.size(r.usage_bytes) if r.occurrences else ""), T(r.source))
            console.print(table)
    if profile.hints:
        console.print(T("Hints", style="bold"))
        for i, h in enumerate(profile.hints, 1):
            t = T(f"{i}. ")
            t.append(h.title, style="bold")
            t.append(f"  [{h.rule}] {_fmt.where(h.file, h.line, cwd)}")
            console.print(t)
            if h.source:
                console.print(T(f"     {h.source}"))
            console.print(T(f"     evidence: {h.evidence}"))
            console.print(T(f"     do: {h.suggestion}"))
    for note in profile.notes:
        console.print(T(f"note: {note}", style="dim"))
    if saved_to:
        console.print(T(f"report: {saved_to}", style="bold"))
