"""Renderers of the report models: :class:`~perfkit.memory.DowncastReport`,
:class:`~perfkit.compress.compare.ComparisonReport` and
:class:`~perfkit.profiling.diff.ProfileDiff`.

Each model becomes one :class:`~perfkit.render._table.Table` (``*_table``) and one JSON
document (``*_document``); the terminal, Markdown, HTML and JSON renderers print those. Sizes,
durations and ratios all go through :mod:`perfkit.render._fmt`. The models are read, never
changed, and no model module is imported here (they arrive as arguments).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from perfkit.render import _fmt
from perfkit.render._table import Column, Table, renderers_for

if TYPE_CHECKING:
    from perfkit.compress.compare import ComparisonReport
    from perfkit.memory import DowncastReport
    from perfkit.profiling.diff import ProfileDiff


def _safe_ratio(a: float | None, b: float | None) -> float | None:
    try:
        return None if a is None or b is None or b <= 0 else a / b
    except TypeError:
        return None


# ---- downcast ---------------------------------------------------------------------------------


def downcast_table(report: DowncastReport) -> Table:
    """One row per column: dtypes, bytes before and after, measured errors and the reason."""
    before, after = report.bytes_before, report.bytes_after
    saved = before - after
    pct = _fmt.pct(saved, before)
    verb = "saved" if report.converted else "would save (plan: nothing converted)"
    rows = tuple(
        (
            str(c.name),
            str(c.old_dtype),
            str(c.new_dtype),
            _fmt.size(c.bytes_before),
            _fmt.size(c.bytes_after),
            _fmt.number(c.max_abs_error),
            _fmt.number(c.max_rel_error),
            str(c.reason),
        )
        for c in report.columns
    )
    return Table(
        title=f"downcast: {_fmt.size(before)} → {_fmt.size(after)}, {verb} {_fmt.size(saved)} "
        f"({pct})",
        subtitle=f"{len(report.changed)} of {len(report.columns)} columns changed; tolerance "
        f"rtol={report.rtol:g}, atol={report.atol:g}",
        columns=(
            Column("column"),
            Column("old"),
            Column("new"),
            Column("bytes before", True),
            Column("bytes after", True),
            Column("max abs err", True),
            Column("max rel err", True),
            Column("why"),
        ),
        rows=rows,
        notes=tuple(f"note: {n}" for n in report.notes),
    )


def downcast_document(report: DowncastReport) -> dict[str, Any]:
    """The report's own JSON form, tagged with its kind."""
    return {"kind": "perfkit.memory.downcast", **report.to_dict()}


# ---- compression comparison -------------------------------------------------------------------


def comparison_table(report: ComparisonReport) -> Table:
    """One row per model: size, latency per batch size with speed-up, peak memory, fidelity."""
    ref = report[report.reference]
    cols = [Column("model"), Column("method"), Column("size", True), Column("× smaller", True)]
    for b in report.batch_sizes:
        cols += [Column(f"batch {b} median (p90)", True), Column(f"batch {b} speed-up", True)]
    cols += [
        Column("peak memory", True),
        Column("cosine", True),
        Column("top-1 agreement", True),
        Column("accuracy", True),
        Column("max |err|", True),
    ]
    rows = []
    notes = []
    for m in report.models:
        row = [
            str(m.name),
            f"{m.method} ({m.engine})",
            _fmt.size(m.size_bytes),
            _fmt.ratio(_safe_ratio(ref.size_bytes, m.size_bytes)),
        ]
        for b in report.batch_sizes:
            lat = m.latency_ms.get(b) or {}
            ref_lat = ref.latency_ms.get(b) or {}
            med, p90 = lat.get("median"), lat.get("p90")
            row += [
                f"{_fmt.duration(None if med is None else med / 1e3)} "
                f"({_fmt.duration(None if p90 is None else p90 / 1e3)})",
                _fmt.ratio(_safe_ratio(ref_lat.get("median"), med)),
            ]
        f = m.fidelity or {}
        row += [
            _fmt.size(m.peak_memory_bytes),
            _fmt.number(f.get("cosine")),
            _fmt.number(f.get("agreement")),
            _fmt.number(f.get("accuracy")),
            _fmt.number(f.get("max_abs_error")),
        ]
        rows.append(tuple(row))
        if m.fallback:
            notes.append(f"{m.name}: fell back — {m.fallback}")
        if m.float_layers:
            notes.append(f"{m.name}: layers kept in float: {', '.join(m.float_layers)}")
    return Table(
        title=f"compression vs {report.reference} ({report.threads} threads, task {report.task})",
        subtitle=f"measured {report.started_at}; speed-up = reference median / model median, "
        "above 1 is faster",
        columns=tuple(cols),
        rows=tuple(rows),
        notes=tuple(notes),
    )


def comparison_document(report: ComparisonReport) -> dict[str, Any]:
    """The report's own JSON form."""
    return report.to_dict()


# ---- profile diff -----------------------------------------------------------------------------

#: Functions shown in the diff tables (the JSON keeps every one).
DIFF_TOP = 30


def _signed(s: float) -> str:
    # ASCII signs: the text form is grepped and parsed by scripts
    return ("+" if s > 0 else "-" if s < 0 else "") + _fmt.seconds(abs(s))


def diff_table(d: ProfileDiff, top: int = DIFF_TOP) -> Table:
    """Total change, then the ``top`` functions by impact: own time before/after and changes."""
    slower = d.wall_delta_s > 0
    head = (
        f"total: {_fmt.seconds(abs(d.wall_delta_s))} {'slower' if slower else 'faster'} "
        f"({d.wall_change_pct:+.1f}%), speed-up {_fmt.ratio(d.speedup)}"
    )
    rss = d.peak_rss_delta_bytes
    if rss is not None and d.before.memory and d.after.memory:
        head += (
            f"; peak RSS {_fmt.size(d.before.memory.peak_rss_bytes)} → "
            f"{_fmt.size(d.after.memory.peak_rss_bytes)}"
        )
    rows = tuple(
        (
            str(r.function),
            _fmt.seconds(r.before_self_s),
            _fmt.seconds(r.after_self_s),
            _signed(r.self_delta_s),
            _signed(r.total_delta_s),
            r.status,
        )
        for r in d.functions[: max(0, top)]
    )
    more = len(d.functions) - len(rows)
    return Table(
        title=f"profile diff: {d.before.program} ({d.before.started_at}) → "
        f"{d.after.program} ({d.after.started_at})",
        subtitle=head,
        columns=(
            Column("function"),
            Column("own before", True),
            Column("own after", True),
            Column("own Δ", True),
            Column("total Δ", True),
            Column("status"),
        ),
        rows=rows,
        notes=(f"{more} more functions changed less (see the JSON form)",) if more > 0 else (),
    )


def diff_document(d: ProfileDiff) -> dict[str, Any]:
    """Both sides' headline figures and every function's change (units in the key names)."""

    def side(p: Any) -> dict[str, Any]:
        mem = p.memory
        return {
            "program": p.program,
            "started_at": p.started_at,
            "wall_s": p.wall_s,
            "peak_rss_bytes": None if mem is None else mem.peak_rss_bytes,
        }

    return {
        "kind": "perfkit.profile.diff",
        "schema_version": 1,
        "before": side(d.before),
        "after": side(d.after),
        "wall_delta_s": d.wall_delta_s,
        "wall_change_pct": d.wall_change_pct,
        "speedup": d.speedup,
        "peak_rss_delta_bytes": d.peak_rss_delta_bytes,
        "functions": [
            {
                "function": r.function,
                "file": r.file,
                "before_self_s": r.before_self_s,
                "after_self_s": r.after_self_s,
                "before_total_s": r.before_total_s,
                "after_total_s": r.after_total_s,
                "self_delta_s": r.self_delta_s,
                "total_delta_s": r.total_delta_s,
                "status": r.status,
            }
            for r in d.functions
        ],
    }


_D = renderers_for("Downcast", downcast_table, downcast_document)
DowncastTerminalRenderer = _D["terminal"]
DowncastMarkdownRenderer = _D["markdown"]
DowncastHtmlRenderer = _D["html"]
DowncastJsonRenderer = _D["json"]

_C = renderers_for("Comparison", comparison_table, comparison_document)
ComparisonTerminalRenderer = _C["terminal"]
ComparisonMarkdownRenderer = _C["markdown"]
ComparisonHtmlRenderer = _C["html"]
ComparisonJsonRenderer = _C["json"]

_P = renderers_for("Diff", diff_table, diff_document)
DiffTerminalRenderer = _P["terminal"]
DiffMarkdownRenderer = _P["markdown"]
DiffHtmlRenderer = _P["html"]
DiffJsonRenderer = _P["json"]
