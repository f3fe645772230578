"""Render a BenchRun as a rich table, Markdown (for pull requests) or JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from perfkit.render import _fmt

if TYPE_CHECKING:
    from rich.table import Table

    from perfkit.bench.results import BenchRun, CaseResult

STATUS_STYLE = {"passed": "green", "failed": "bold red", "error": "bold red", "skipped": "yellow"}


#: Kept for callers of the old names; the one formatting module is :mod:`perfkit.render._fmt`.
fmt_seconds = _fmt.duration
fmt_bytes = _fmt.size
fmt_ratio = _fmt.ratio


def verdict_text(r: CaseResult) -> str:
    """PASSED/FAILED/ERROR/SKIPPED plus what the check measured (or why it did not run)."""
    head = r.status.upper()
    if r.verdict is not None:
        figs = []
        v = r.verdict
        if v.max_abs_error is not None:
            figs.append(f"max abs err {v.max_abs_error:.3g}")
        if v.max_rel_error is not None:
            figs.append(f"max rel err {v.max_rel_error:.3g}")
        if v.agreement is not None:
            figs.append(f"agreement {v.agreement:.4g}")
        detail = ", ".join(figs) or v.detail
        return f"{head} ({detail})" if detail else head
    return f"{head}: {r.error}" if r.error else head


def _params_text(r: CaseResult) -> str:
    return ", ".join(f"{k}={v}" for k, v in r.params.items())


def to_rich_table(run: BenchRun) -> Table:
    """The terminal table: one row per case and params, both medians, ratios, the verdict."""
    from rich.table import Table

    gpu = f", {run.gpu_info['name']}" if run.gpu_info else ""
    table = Table(
        title=f"perfkit bench — {run.device}{gpu}, {run.machine_info.get('cpu_model', '')}",
        show_lines=False,
    )
    for col, justify in (
        ("case", "left"),
        ("params", "left"),
        ("baseline", "right"),
        ("candidate", "right"),
        ("speedup", "right"),
        ("memory ratio", "right"),
        ("check", "left"),
    ):
        table.add_column(col, justify=justify, overflow="fold")
    for r in run.results:
        table.add_row(
            r.case,
            _params_text(r),
            fmt_seconds(r.baseline.median_s if r.baseline else None),
            fmt_seconds(r.candidate.median_s if r.candidate else None),
            fmt_ratio(r.speedup),
            fmt_ratio(r.memory_ratio),
            verdict_text(r),
            style=STATUS_STYLE.get(r.status) if r.status != "passed" else None,
        )
    return table


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(run: BenchRun) -> str:
    """A GitHub-flavoured Markdown table a CI job can paste into a pull request."""
    c = run.counts()
    lines = [
        f"### perfkit bench — {run.device} — {run.datetime}",
        "",
        f"{c['passed']} passed, {c['failed']} failed, {c['error']} errors, {c['skipped']} skipped "
        f"· commit `{(run.commit_info.get('id') or 'n/a')[:10]}`",
        "",
        "| case | params | baseline | candidate | speedup | memory ratio | check |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in run.results:
        cells = [
            r.case,
            _params_text(r),
            fmt_seconds(r.baseline.median_s if r.baseline else None),
            fmt_seconds(r.candidate.median_s if r.candidate else None),
            fmt_ratio(r.speedup),
            fmt_ratio(r.memory_ratio),
            verdict_text(r),
        ]
        lines.append("| " + " | ".join(_md_cell(x) for x in cells) + " |")
    return "\n".join(lines) + "\n"


def to_json(run: BenchRun) -> str:
    """The full results document, as written to reports/bench/ (strict: NaN becomes null)."""
    from perfkit._atomic import dumps_strict

    return dumps_strict(run.to_dict(), indent=2) + "\n"


def to_text(run: BenchRun, width: int = 160) -> str:
    """The terminal table as plain text (no colour codes)."""
    import io

    from rich.console import Console

    buf = io.StringIO()
    Console(file=buf, width=width, force_terminal=False, color_system=None).print(
        to_rich_table(run)
    )
    return buf.getvalue()


class BenchTerminalRenderer:
    """A BenchRun as the terminal table, in plain text."""

    name: ClassVar[str] = "terminal"
    file_extension: ClassVar[str] = ".txt"

    def render(self, run: BenchRun) -> str:
        """The table."""
        return to_text(run)


class BenchMarkdownRenderer:
    """A BenchRun as a Markdown table for a pull request."""

    name: ClassVar[str] = "markdown"
    file_extension: ClassVar[str] = ".md"

    def render(self, run: BenchRun) -> str:
        """The Markdown."""
        return to_markdown(run)


class BenchJsonRenderer:
    """A BenchRun as its results document."""

    name: ClassVar[str] = "json"
    file_extension: ClassVar[str] = ".json"

    def render(self, run: BenchRun) -> str:
        """The JSON."""
        return to_json(run)
