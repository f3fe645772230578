"""Rich display of perfkit's results in notebooks: one short line as text, a report as HTML.

Each result model's ``_repr_html_`` and ``__repr__`` delegate here, so a notebook shows a
``Profile`` as its report (not a 3 kB dataclass dump) and IPython's terminal shows one line.
The HTML of a whole report is put in a sandboxed ``<iframe srcdoc>``: its styles cannot leak
into the notebook, and no script from the profiled program can run.
"""

from __future__ import annotations

import html
from typing import Any


def _fmt_s(seconds: float | None) -> str:
    from perfkit.render._fmt import duration

    return duration(seconds)


def iframe(document: str, height: int = 640) -> str:
    """A whole HTML document shown inline, isolated in a sandboxed iframe."""
    return (
        f'<iframe sandbox="" style="width:100%;height:{height}px;border:1px solid #ddd" '
        f'srcdoc="{html.escape(document, quote=True)}"></iframe>'
    )


def profile_repr(p: Any) -> str:
    """``<Profile script.py: 1.23 s wall, 1.10 s CPU, 3 hints; top: fn 40%>``."""
    top = ""
    try:
        best = p.top_functions(1)
        if best and p.wall_s:
            f = best[0]
            top = f"; top: {f.function} {100 * f.own_s / p.wall_s:.0f}%"
    except Exception:  # a repr must never raise
        top = ""
    hints = len(getattr(p, "hints", ()) or ())
    return (
        f"<Profile {p.program}: {_fmt_s(p.wall_s)} wall, {_fmt_s(p.cpu_s)} CPU, "
        f"{hints} hint{'s' if hints != 1 else ''}{top}>"
    )


def profile_html(p: Any) -> str:
    """The profile's full HTML report, isolated in an iframe."""
    from perfkit.render.base import get_renderer

    doc = get_renderer("html").render(p)
    return iframe(doc if isinstance(doc, str) else doc.decode("utf-8", "replace"))


def profile_text(p: Any) -> str:
    """The terminal summary as plain text (what ``perfkit profile`` prints)."""
    from perfkit.render.terminal import render_plain, summary_sections

    return render_plain(summary_sections(p))


def _table(headers: list[str], rows: list[list[Any]], caption: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (
        f'<table class="perfkit">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def case_result_html(result: Any) -> str:
    """One baseline/candidate result: medians, ratio, the check's verdict."""
    base = getattr(result, "baseline", None)
    cand = getattr(result, "candidate", None)
    speedup = getattr(result, "speedup", None)
    verdict = getattr(result, "verdict", None)
    status = getattr(result, "status", "?")
    rows = [
        ["baseline", getattr(result, "baseline_label", "baseline"), _fmt_s(base and base.median_s)],
        [
            "candidate",
            getattr(result, "candidate_label", "candidate"),
            _fmt_s(cand and cand.median_s),
        ],
    ]
    colour = "#1a7f37" if status == "passed" else "#cf222e"
    ratio = (
        f"{speedup:.2f}× faster"
        if speedup and speedup >= 1
        else (f"{1 / speedup:.2f}× SLOWER" if speedup else "n/a")
    )
    detail = html.escape(getattr(verdict, "detail", "") or getattr(result, "error", "") or "")
    return (
        _table(["side", "what", "median"], rows, caption=getattr(result, "id", ""))
        + f'<p><b style="color:{colour}">{html.escape(str(status).upper())}</b> · '
        f"{html.escape(ratio)} · {detail}</p>"
    )


def case_result_repr(result: Any) -> str:
    """``<CaseResult fib: passed, 1.62× faster (12.0 ms → 7.4 ms)>``."""
    base, cand = getattr(result, "baseline", None), getattr(result, "candidate", None)
    speedup = getattr(result, "speedup", None)
    ratio = (
        f"{speedup:.2f}× faster"
        if speedup and speedup >= 1
        else (f"{1 / speedup:.2f}× slower" if speedup else "no ratio")
    )
    return (
        f"<CaseResult {getattr(result, 'id', '?')}: {getattr(result, 'status', '?')}, {ratio} "
        f"({_fmt_s(base and base.median_s)} → {_fmt_s(cand and cand.median_s)})>"
    )


def bench_run_repr(run: Any) -> str:
    """``<BenchRun 12 cases on cpu: 11 passed, 1 failed>``."""
    counts = run.counts() if callable(getattr(run, "counts", None)) else {}
    parts = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()) if n)
    return f"<BenchRun {len(run.results)} results on {run.device}: {parts or 'empty'}>"


def bench_run_html(run: Any) -> str:
    """The run as a table: one row per case, ratio and verdict."""
    rows = []
    for r in run.results:
        speedup = getattr(r, "speedup", None)
        rows.append(
            [
                r.id,
                _fmt_s(r.baseline and r.baseline.median_s),
                _fmt_s(r.candidate and r.candidate.median_s),
                f"{speedup:.2f}×" if speedup else "n/a",
                r.status,
            ]
        )
    return _table(
        ["case", "baseline", "candidate", "speed-up", "status"], rows, bench_run_repr(run)
    )


def generic_html(obj: Any) -> str:
    """A result model with a text report (``str(obj)``) shown preformatted and escaped."""
    return f'<pre class="perfkit">{html.escape(str(obj))}</pre>'


def generic_repr(obj: Any, summary: str) -> str:
    """``<TypeName summary>`` for reports whose ``str`` is the full table."""
    return f"<{type(obj).__name__} {summary}>"


def compute_info_repr(info: Any) -> str:
    """``<ComputeInfo threads×2: 3 outputs, 2000×5000, 42.0 ms (why)>``."""
    return (
        f"<ComputeInfo {info.backend}×{info.n_jobs}: {len(info.outputs)} outputs, "
        f"{info.n_instruments}×{info.n_bars}, {_fmt_s(info.wall_s)} ({info.reason})>"
    )


def compute_info_html(info: Any) -> str:
    """What ``compute`` did, as a two-column table."""
    rows = [
        ["backend", f"{info.backend} × {info.n_jobs} ({info.reason})"],
        ["panel", f"{info.n_instruments} instruments × {info.n_bars} bars"],
        ["batches", f"{info.n_batches} of {info.batch_size}"],
        ["outputs", ", ".join(info.outputs)],
        ["wall", _fmt_s(info.wall_s)],
    ]
    return _table(["", ""], rows, "perfkit.indicators.compute")


def comparison_repr(comparison: Any) -> str:
    """``<Comparison: 12 cases, 0 regressed, 0 failed (threshold 10%)>``."""
    return (
        f"<Comparison: {len(comparison.changes)} cases, {len(comparison.regressed)} regressed, "
        f"{len(comparison.failed)} failed (threshold {comparison.threshold:.0%})>"
    )


def _model_html(obj: Any) -> str:
    from perfkit.render.base import render

    doc = render(obj, "html")
    return iframe(doc if isinstance(doc, str) else doc.decode("utf-8", "replace"), height=480)


def _model_repr(obj: Any) -> str:
    from perfkit.render.base import render

    text = render(obj, "terminal")
    text = text if isinstance(text, str) else text.decode("utf-8", "replace")
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return f"<{type(obj).__name__} {first[:100]}>"


#: Result model class name -> (its HTML, its one-line repr), for notebooks.
_DISPLAY: dict[str, tuple[Any, Any]] = {
    "Profile": (profile_html, profile_repr),
    "CaseResult": (case_result_html, case_result_repr),
    "BenchRun": (bench_run_html, bench_run_repr),
    "DowncastReport": (_model_html, _model_repr),
    "ComparisonReport": (_model_html, _model_repr),
    "ProfileDiff": (_model_html, _model_repr),
    "Comparison": (lambda c: generic_html(c.summary()), comparison_repr),
    "ComputeInfo": (compute_info_html, compute_info_repr),
}


def repr_html(obj: Any) -> str:
    """The notebook HTML of a perfkit result model (``_repr_html_`` delegates here)."""
    html_fn = _DISPLAY.get(type(obj).__name__, (generic_html, None))[0]
    return html_fn(obj)


def short_repr(obj: Any) -> str:
    """The one-line ``repr`` of a perfkit result model (never the full dataclass dump)."""
    fn = _DISPLAY.get(type(obj).__name__, (None, None))[1]
    try:
        return fn(obj) if fn else generic_repr(obj, "")
    except Exception as exc:  # a repr must never raise
        return f"<{type(obj).__name__} (repr failed: {type(exc).__name__})>"
