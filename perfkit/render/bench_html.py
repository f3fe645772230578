"""The scoreboard page: bench runs in, one self-contained HTML page out.

Everything is HTML and CSS that perfkit writes itself: bars on a log axis whose tick labels are
HTML text placed by percentage (so the browser lays them out and they never overlap), sparklines
as small inline SVG with their range written beside them, no scripts, nothing fetched, no
matplotlib (so no math-text parsing of case names). Every string taken from a results file is
HTML-escaped. A ratio below 1 is drawn and labelled as a loss (red, "6.7× slower"); ratios
beyond :data:`~perfkit.render.bench_view.EXTREME` either way carry a footnote that says how they
arose.
"""

from __future__ import annotations

import html
import math
import os
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from perfkit.render import _fmt
from perfkit.render.bench_view import EXTREME, PAGE_BYTES, ResultView, RunView, view_run

if TYPE_CHECKING:
    from perfkit.bench.results import BenchRun

#: Display order and titles of the components; other groups follow alphabetically.
GROUP_TITLES = {
    "playbook": "Playbook (Python and NumPy habits)",
    "memory": "Memory (dtypes and copies)",
    "indicators": "Indicators (numba, joblib, dask)",
    "compression": "Model compression",
    "profiling": "Profiler overhead",
}
DEVICE_NAMES = {"cpu": "CPU", "cuda": "GPU"}

CSS = """
:root{--good:#1a7f37;--bad:#cf222e;--warn:#9a6700;--muted:#57606a;--line:#d8dee4;--bg2:#f4f6fa}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;padding:16px 24px;
 color:#1d232a;max-width:1500px}
h1{margin:0 0 4px}h2{margin-top:32px;border-bottom:1px solid var(--line);padding-bottom:4px}
a{color:#0b5cad}.muted{color:var(--muted)}small{font-size:12px}
code{font:12px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
*{overflow-wrap:break-word;word-break:normal}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;margin:8px 0 8px;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}
.nw{white-space:nowrap}
th{background:var(--bg2);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.case{min-width:12em}
.faster{color:var(--good)}.slower{color:var(--bad);font-weight:600}.same{color:var(--muted)}
.badge{display:inline-block;border-radius:3px;padding:0 4px;font-size:11px;font-weight:600;
 border:1px solid currentColor;white-space:nowrap}
.passed{color:var(--good)}.failed,.error{color:var(--bad)}.skipped{color:var(--warn)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 12px}
.card ul{margin:4px 0 0;padding-left:18px}
.legend{background:var(--bg2);border-radius:6px;padding:8px 12px;font-size:13px}
.legend p{margin:2px 0}
.chart{margin:8px 0 4px;font-size:12px}
.ch-row{display:grid;grid-template-columns:minmax(10em,24%) 1fr 1fr;column-gap:28px;
 align-items:center;min-height:18px}
.ch-label{text-align:right;line-height:1.2;padding:1px 0}
.ch-title{text-align:center;color:var(--muted);padding-bottom:2px}
.track{position:relative;height:16px;border-left:1px solid transparent}
.track .grid{position:absolute;top:0;bottom:0;width:0;border-left:1px solid #e3e7ec}
.track .one{border-left:1px dashed #57606a}
.axis{height:18px;border-top:1px solid #8c959f}
.tick{position:absolute;top:1px;transform:translateX(-50%);white-space:nowrap;color:var(--muted);
 font-size:11px}
.bar{position:absolute;top:3px;height:10px;min-width:2px;border-radius:1px}
.bar.faster{background:#2da44e}.bar.slower{background:#cf222e}.bar.same{background:#8c959f}
.bar.gpu{top:3px;background-image:repeating-linear-gradient(45deg,transparent 0 3px,
 rgba(255,255,255,.45) 3px 5px)}
.spark{display:flex;gap:4px;align-items:stretch}
.spark .yl{display:flex;flex-direction:column;justify-content:space-between;font-size:10px;
 line-height:1;color:var(--muted);text-align:right;white-space:nowrap}
.spark svg{display:block;width:80px;height:30px;border-left:1px solid #8c959f;
 border-bottom:1px solid #8c959f}
.xl{font-size:10px;color:var(--muted);line-height:1.2}
ol.notes{font-size:12px;color:#30363d;padding-left:22px}
sup a{text-decoration:none}
@media (max-width:1100px){body{padding:12px 14px}}
"""


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


_NEG = re.compile(r"(\de|^|\s|\()-(\d)")


def _minus(text: str) -> str:
    """Negative numbers and exponents with a true minus sign (U+2212), which a browser never
    breaks a line after (it does after a hyphen: ``3.8e-`` / ``07``)."""
    return _NEG.sub("\\1\u2212\\2", text)


def _nb(text: str) -> str:
    """``text`` escaped, its spaces non-breaking: a figure and its unit stay on one line."""
    return _e(text).replace(" ", "&nbsp;")


def _id_html(text: str) -> str:
    """A case id, escaped, with break opportunities after ``[`` and ``,`` only."""
    out = _e(text)
    return out.replace("[", "[<wbr>").replace(",", ",<wbr>")


def _dev(device: str) -> str:
    return DEVICE_NAMES.get(device, device.upper())


def _direction(r: float | None) -> str:
    if r is None:
        return "same"
    if abs(r - 1.0) < 0.01:
        return "same"
    return "faster" if r > 1 else "slower"


def _short(commit: str) -> str:
    return commit[:7] if commit != "n/a" else commit


# -------------------------------------------------------------------------------------------
# log axis


@dataclass(frozen=True)
class LogAxis:
    """A log10 axis from ``lo`` to ``hi`` (decades), ticks every ``step`` decades."""

    lo: float
    hi: float
    ticks: tuple[int, ...]

    @classmethod
    def covering(cls, values: Sequence[float]) -> LogAxis:
        """The smallest whole-decade axis that holds 1× and every value, with half a decade of
        padding so the edge labels stay inside; at most seven labelled ticks."""
        logs = [math.log10(v) for v in values if v > 0] + [0.0]
        a, b = math.floor(min(logs)), math.ceil(max(logs))
        if b - a < 2:  # at least 0.1× .. 10×: a tiny change should look tiny
            a, b = min(a, -1), max(b, 1)
        step = 1 + (b - a - 1) // 6
        ticks = tuple(k for k in range(a, b + 1) if k % step == 0)
        return cls(a - 0.45, b + 0.45, ticks)

    def pos(self, value: float) -> float:
        """Percent from the left for ``value``."""
        x = (math.log10(value) - self.lo) / (self.hi - self.lo)
        return 100.0 * min(1.0, max(0.0, x))


def tick_label(k: int) -> str:
    """The label of the tick at 10**k: 0.01×, 1×, 100×, 10k×, 1M×."""
    if k < -3:
        return f"1e{k}×"
    if k < 0:
        return f"{10.0**k:.{-k}f}×"
    names = {0: "1", 1: "10", 2: "100", 3: "1k", 4: "10k", 5: "100k", 6: "1M"}
    return names.get(k, f"1e{k}") + "×"


def _axis_html(axis: LogAxis) -> str:
    return "".join(
        f'<span class="tick" style="left:{axis.pos(10.0**k):.2f}%">{_e(tick_label(k))}</span>'
        for k in axis.ticks
    )


def _track_html(axis: LogAxis, value: float | None, gpu: bool, tip: str) -> str:
    grid = "".join(
        f'<span class="grid{" one" if k == 0 else ""}" style="left:{axis.pos(10.0**k):.2f}%">'
        "</span>"
        for k in axis.ticks
    )
    if value is None:
        return f'<div class="track">{grid}</div>'
    one, at = axis.pos(1.0), axis.pos(value)
    left, width = min(one, at), abs(at - one)
    cls = f"bar {_direction(value)}" + (" gpu" if gpu else "")
    return (
        f'<div class="track">{grid}<span class="{cls}" title="{_e(tip)}" '
        f'style="left:{left:.2f}%;width:{width:.2f}%"></span></div>'
    )


# -------------------------------------------------------------------------------------------
# page model


@dataclass
class _Notes:
    """Footnotes of one group, numbered in order of first use."""

    group: str
    items: list[str] = field(default_factory=list)

    def mark(self, text: str) -> str:
        if text not in self.items:
            self.items.append(text)
        n = self.items.index(text) + 1
        return f'<sup><a href="#n-{_e(self.group)}-{n}" title="{_e(text)}">{n}</a></sup>'

    def html(self) -> str:
        if not self.items:
            return ""
        lis = "".join(
            f'<li id="n-{_e(self.group)}-{i}">{_e(t)}</li>' for i, t in enumerate(self.items, 1)
        )
        return f'<ol class="notes">{lis}</ol>'


def speed_note(r: ResultView) -> str | None:
    """Why an extreme speed-up reads as it does (None for ordinary ones)."""
    s = r.speedup
    if s is None or not (s > EXTREME or s < 1.0 / EXTREME):
        return None
    assert r.baseline and r.candidate
    head = (
        f"{r.id} on {_dev(r.device)}: baseline median {_fmt.duration(r.baseline.median_s)} / "
        f"candidate median {_fmt.duration(r.candidate.median_s)} = {_fmt.ratio(s)}"
    )
    if s < 1:
        return (
            f"{head}: the candidate ({r.candidate_label}) is {_fmt.ratio(1 / s)} slower than the "
            f"baseline ({r.baseline_label}) at these sizes."
        )
    return (
        f"{head}: a ratio of medians, each side timed on the same inputs; the check "
        f"({r.status}) says whether the candidate's answer still matches."
    )


def memory_note(r: ResultView) -> str | None:
    """Why an extreme memory ratio reads as it does, or why a side reads near zero."""
    m = r.memory_ratio
    if m is None or r.baseline is None or r.candidate is None:
        return None
    b, c = r.baseline.peak_bytes, r.candidate.peak_bytes
    assert b is not None and c is not None
    floor = b <= PAGE_BYTES or c <= PAGE_BYTES
    if not (floor or m > EXTREME or m < 1.0 / EXTREME):
        return None
    text = (
        f"{r.id} on {_dev(r.device)}: baseline peak {_fmt.size(b)} / candidate peak "
        f"{_fmt.size(c)} = {_fmt.ratio(m)}; a peak below one page ({_fmt.size(PAGE_BYTES)}) "
        "counts as one page."
    )
    if floor:
        low = "baseline" if b <= PAGE_BYTES else "candidate"
        text += f" The {low} allocated at most one page as measured."
    if r.baseline.allocators or r.candidate.allocators:
        for name, side in (("baseline", r.baseline), ("candidate", r.candidate)):
            each = ", ".join(f"{a} {_fmt.size(v)}" for a, v in side.allocators) or "none"
            text += f" {name.capitalize()} by allocator: {each}."
    else:
        text += (
            " The file does not record its allocators: tracemalloc alone does not see torch's "
            "or other native allocations, which then read as zero."
        )
    return text


def _ratio_cell(value: float | None, note: str | None, notes: _Notes, more: str, less: str) -> str:
    if value is None:
        return '<td class="num muted">—</td>'
    d = _direction(value)
    words = {"faster": more, "same": "no change"}.get(d) or _fmt.ratio_words(value, more, less)
    mark = notes.mark(note) if note else ""
    tip = f' title="{_e(note)}"' if note else ""
    return (
        f'<td class="num {d}"{tip}>{_nb(_fmt.ratio(value))}{mark}<br>'
        f"<small>{_nb(words)}</small></td>"
    )


def _time_cell(side, label: str) -> str:  # noqa: ANN001
    if side is None:
        return '<td class="num muted">—</td>'
    lo, hi = _fmt.duration(side.min_s), _fmt.duration(side.max_s)
    peak = f"<br><small class='muted'>peak&nbsp;{_nb(_fmt.size(side.peak_bytes))}</small>"
    return (
        f'<td class="num" title="{_e(label)}: median of {side.samples} samples">'
        f"{_nb(_fmt.duration(side.median_s))}<br>"
        f"<small class='muted'>{_nb(lo)} – {_nb(hi)}</small>"
        f"{peak if side.peak_bytes is not None else ''}</td>"
    )


def _check_cell(r: ResultView) -> str:
    label = {
        "passed": "check passed",
        "failed": "CHECK FAILED",
        "error": "ERROR",
        "skipped": "skipped",
    }[r.status]
    extra = ""
    if r.status == "passed" and r.speedup is not None and _direction(r.speedup) == "slower":
        extra = ' <span class="badge slower">but slower</span>'
    detail = _minus(r.check if r.status in ("passed", "failed") else (r.error or r.check))
    figs = " · ".join(f"{k.replace('_', ' ')} {_minus(_fmt.number(v))}" for k, v in r.figures)
    return (
        f'<td><span class="badge {r.status}">{_e(label)}</span>{extra}'
        + (f"<br><small>{_e(detail)}</small>" if detail else "")
        + (f"<br><small class='muted'>{_e(figs)}</small>" if figs else "")
        + "</td>"
    )


@dataclass(frozen=True)
class _Point:
    run: RunView
    speedup: float
    status: str


_DOT = {"passed": "#0b5cad"}


def sparkline(points: Sequence[_Point]) -> str:
    """The speed-up per run as a small SVG line with its range and commits written beside it."""
    if not points:
        return '<td class="muted">—</td>'
    if len(points) == 1:
        p = points[0]
        return (
            f'<td><span class="xl">1 run ({_e(_short(p.run.commit))}): '
            f"{_e(_fmt.ratio(p.speedup))}</span></td>"
        )
    logs = [math.log10(p.speedup) for p in points]
    lo, hi = min(logs + [0.0]), max(logs + [0.0])
    span = (hi - lo) or 1.0
    w, h = 96.0, 30.0

    def xy(i: int, v: float) -> tuple[float, float]:
        return 3 + (w - 6) * i / (len(points) - 1), 3 + (h - 6) * (hi - v) / span

    coords = [xy(i, v) for i, v in enumerate(logs)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    one = xy(0, 0.0)[1]
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{_DOT.get(p.status, "#cf222e")}">'
        f"<title>{_e(_short(p.run.commit))} · {_e(p.run.datetime)} · {_e(_fmt.ratio(p.speedup))}"
        f" · {_e(p.status)}</title></circle>"
        for (x, y), p in zip(coords, points, strict=True)
    )
    svg = (
        f'<svg viewBox="0 0 {w:.0f} {h:.0f}" role="img" aria-label="speed-up per run">'
        f'<line x1="0" x2="{w:.0f}" y1="{one:.1f}" y2="{one:.1f}" stroke="#8c959f" '
        f'stroke-dasharray="2,2" stroke-width="1"/>'
        f'<polyline points="{line}" fill="none" stroke="#0b5cad" stroke-width="1.2"/>{dots}</svg>'
    )
    top, bottom = _fmt.ratio(10**hi), _fmt.ratio(10**lo)
    first, last = points[0].run, points[-1].run
    return (
        f'<td><div class="spark"><div class="yl"><span>{_e(top)}</span><span>{_e(bottom)}</span>'
        f'</div>{svg}</div><div class="xl">{len(points)} runs, commit '
        f"{_e(_short(first.commit))} → {_e(_short(last.commit))}</div></td>"
    )


def _geomean(values: Sequence[float]) -> float | None:
    vals = [v for v in values if v > 0]
    return math.exp(sum(map(math.log, vals)) / len(vals)) if vals else None


# -------------------------------------------------------------------------------------------
# page


def _run_line(run: RunView) -> str:
    c = run.counts
    dirty = " (uncommitted changes)" if run.dirty else ""
    bad = f", <span class='failed'>{c['failed']} failed</span>" if c["failed"] else ""
    err = f", <span class='error'>{c['error']} errors</span>" if c["error"] else ""
    return (
        f"{_e(run.datetime)} · commit <code>{_e(_short(run.commit))}</code>{_e(dirty)} · "
        f"<b>{_e(run.coverage)}</b> · {_e(run.machine)} · "
        f"<span class='passed'>{c['passed']} passed</span>{bad}{err}, {c['skipped']} skipped "
        f"<span class='muted'>({_e(run.path.name)})</span>"
    )


def _cards(runs: Sequence[RunView], sources: dict[str, set[int]]) -> str:
    by_device: dict[str, list[int]] = defaultdict(list)
    for i, run in enumerate(runs):
        by_device[run.device].append(i)
    out = ["<h2 id='coverage'>What these results cover</h2><div class='cards'>"]
    for device in sorted(by_device):
        idx = by_device[device]
        newest = runs[idx[-1]]
        used = sorted(sources.get(device, set()), key=lambda i: runs[i].datetime, reverse=True)
        kind = "full" if newest.full else "partial"
        out.append(
            f"<div class='card'><b>{_e(_dev(device))}: newest run is {kind}</b><br>"
            f"{_run_line(newest)}<br>"
            f"The {_e(_dev(device))} rows below show the newest result of each case, taken from "
            f"{len(used)} of {len(idx)} {_e(_dev(device))} results files:<ul>"
            + "".join(f"<li>{_run_line(runs[i])}</li>" for i in used)
            + "</ul></div>"
        )
    out.append("</div>")
    return "".join(out)


LEGEND = (
    "<div class='legend'>"
    "<p><b>speed-up</b> = baseline median time / candidate median time: above 1 the candidate is "
    "faster (<span class='faster'>green</span>), below 1 it is slower "
    "(<span class='slower'>red</span>, labelled “slower”).</p>"
    "<p><b>memory ratio</b> = baseline peak / candidate peak: above 1 the candidate needs less "
    "memory, below 1 more.</p>"
    "<p><b>check</b> says whether the candidate's answer matches the baseline's within the case's "
    "tolerance; it says nothing about speed. Numbered notes explain ratios beyond "
    f"{EXTREME:g}× either way and peaks of one page or less. Bars: solid CPU, striped GPU, on a "
    "log axis with 1× dashed.</p></div>"
)


def _group_section(
    group: str,
    ids: Sequence[str],
    latest: dict[tuple[str, str], ResultView],
    history: dict[tuple[str, str], list[_Point]],
    devices: Sequence[str],
) -> str:
    title = GROUP_TITLES.get(group, group)
    notes = _Notes(group)
    rows = [(rid, d, latest[(rid, d)]) for rid in ids for d in devices if (rid, d) in latest]
    out = [f"<h2 id='g-{_e(group)}'>{_e(title)}</h2>"]
    drawn = [(rid, d, r) for rid, d, r in rows if r.speedup or r.memory_ratio]
    if drawn:
        sp = LogAxis.covering([r.speedup for _, _, r in drawn if r.speedup])
        mem = LogAxis.covering([r.memory_ratio for _, _, r in drawn if r.memory_ratio])
        chart = [
            f"<div class='chart' aria-label='{_e(title)}: speed-up and memory ratio per case'>",
            "<div class='ch-row'><div></div>"
            "<div class='ch-title'>speed-up (log) · ← slower | faster →</div>"
            "<div class='ch-title'>memory ratio (log) · ← more | less →</div></div>",
            f"<div class='ch-row'><div></div><div class='track axis'>{_axis_html(sp)}</div>"
            f"<div class='track axis'>{_axis_html(mem)}</div></div>",
        ]
        for rid, d, r in drawn:
            gpu = d != "cpu"
            chart.append(
                f"<div class='ch-row'><div class='ch-label'><code>{_id_html(rid)}</code> "
                f"<small class='muted'>{_e(_dev(d))}</small></div>"
                + _track_html(sp, r.speedup, gpu, f"{rid} {_dev(d)}: {_fmt.ratio(r.speedup)}")
                + _track_html(
                    mem, r.memory_ratio, gpu, f"{rid} {_dev(d)}: {_fmt.ratio(r.memory_ratio)}"
                )
                + "</div>"
            )
        chart.append("</div>")
        out.extend(chart)
    out.append(
        "<div class='scroll'><table><thead><tr><th>case</th><th>device</th>"
        "<th class='num'>baseline</th><th class='num'>candidate</th>"
        "<th class='num'>speed-up</th><th class='num'>memory ratio</th><th>check</th>"
        "<th>speed-up history</th></tr></thead><tbody>"
    )
    for rid in ids:
        mine = [(d, r) for r_id, d, r in rows if r_id == rid]
        for k, (d, r) in enumerate(mine):
            cells = ""
            if k == 0:
                labels = f"{r.baseline_label} → {r.candidate_label}"
                cells = (
                    f"<td class='case' rowspan='{len(mine)}'><code>{_id_html(rid)}</code><br>"
                    f"<small>{_e(r.description)}</small><br><small class='muted'>{_e(labels)}"
                    "</small></td>"
                )
            cells += (
                f"<td>{_e(_dev(d))}</td>"
                + _time_cell(r.baseline, r.baseline_label)
                + _time_cell(r.candidate, r.candidate_label)
                + _ratio_cell(r.speedup, speed_note(r), notes, "faster", "slower")
                + _ratio_cell(r.memory_ratio, memory_note(r), notes, "less", "more")
                + _check_cell(r)
                + sparkline(history.get((rid, d), []))
            )
            out.append(f"<tr>{cells}</tr>")
    out.append("</tbody></table></div>")
    out.append(notes.html())
    return "".join(out)


def _history_section(runs: Sequence[RunView]) -> str:
    out = [
        "<h2 id='history'>History per commit</h2>",
        "<p class='muted'>Every results file, newest first: what it covered and the geometric "
        "mean speed-up of its passed cases (runs covering different cases are not comparable).</p>",
        "<div class='scroll'><table><thead><tr><th>date</th><th>commit</th><th>device</th>"
        "<th>covers</th><th>machine</th><th class='num'>passed / failed / errors / skipped</th>"
        "<th class='num'>geo-mean speed-up</th></tr></thead><tbody>",
    ]
    for run in reversed(runs):
        c = run.counts
        gm = _geomean([r.speedup for r in run.results if r.speedup and r.status == "passed"])
        out.append(
            f"<tr><td class='nw'>{_e(run.datetime)}</td>"
            f"<td><code>{_e(_short(run.commit))}</code></td>"
            f"<td>{_e(_dev(run.device))}</td><td>{_e(run.coverage)}</td>"
            f"<td>{_e(run.machine)}</td>"
            f"<td class='num'>{c['passed']} / {c['failed']} / {c['error']} / {c['skipped']}</td>"
            f"<td class='num {_direction(gm)}'>{_e(_fmt.ratio(gm))}</td></tr>"
        )
    out.append("</tbody></table></div>")
    return "".join(out)


def render_dashboard(
    runs: Sequence[RunView],
    skipped: Sequence[tuple[str | os.PathLike[str], str]] = (),
    links: Sequence[tuple[str, str]] = (),
    built_at: str = "",
) -> str:
    """The scoreboard page for ``runs`` (oldest first), listing the ``skipped`` files.

    Parameters
    ----------
    runs
        Checked runs (see :func:`~perfkit.render.bench_view.view_run`), oldest first.
    skipped
        (file, reason) of every results file that could not be shown.
    links
        (title, relative href) shown under the heading.
    built_at
        When the page was built (UTC ISO), shown in the header.

    Returns
    -------
    str
        A complete HTML document with no scripts and no external resources.
    """
    latest: dict[tuple[str, str], ResultView] = {}
    source: dict[tuple[str, str], int] = {}
    history: dict[tuple[str, str], list[_Point]] = defaultdict(list)
    group_of: dict[str, str] = {}
    for i, run in enumerate(runs):
        for r in run.results:
            key = (r.id, r.device)
            if r.status != "skipped" or key not in latest:
                latest[key], source[key] = r, i
            group_of[r.id] = r.group
            if r.speedup is not None:
                history[key].append(_Point(run, r.speedup, r.status))
    sources: dict[str, set[int]] = defaultdict(set)
    for (_, device), i in source.items():
        sources[device].add(i)
    devices = sorted({d for _, d in latest}, key=lambda d: (d != "cpu", d))
    by_group: dict[str, list[str]] = defaultdict(list)
    for rid, g in group_of.items():
        by_group[g].append(rid)
    order = [g for g in GROUP_TITLES if g in by_group] + sorted(set(by_group) - set(GROUP_TITLES))

    built = f"Built {_e(built_at)} from " if built_at else "From "
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        "<title>perfkit scoreboard</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>perfkit scoreboard</h1>",
        "<p class='muted'>Every optimization as a measured, verified pair. "
        f"{built}{len(runs)} results file(s)"
        + (f", {len(skipped)} skipped (listed at the end)" if skipped else "")
        + ".</p>",
    ]
    nav = [(GROUP_TITLES.get(g, g), f"#g-{g}") for g in order]
    if runs:
        nav.append(("history per commit", "#history"))
    if skipped:
        nav.append(("skipped files", "#skipped"))
    nav.extend(links)
    if nav:
        out.append(
            "<p>" + " · ".join(f"<a href='{_e(href)}'>{_e(t)}</a>" for t, href in nav) + "</p>"
        )
    if runs:
        out.append(_cards(runs, sources))
        out.append(LEGEND)
    else:
        out.append("<p>No results yet: run <code>perfkit bench</code>.</p>")
    for group in order:
        out.append(_group_section(group, sorted(by_group[group]), latest, history, devices))
    if runs:
        out.append(_history_section(runs))
    if skipped:
        out.append("<h2 id='skipped'>Skipped results files</h2><ul>")
        for path, why in skipped:
            out.append(f"<li><code>{_e(path)}</code>: {_e(why)}</li>")
        out.append("</ul>")
    out.append("</body></html>\n")
    return "\n".join(out)


class BenchHtmlRenderer:
    """One :class:`~perfkit.bench.results.BenchRun` as a scoreboard page of its own."""

    name: ClassVar[str] = "html"
    file_extension: ClassVar[str] = ".html"

    def render(self, run: BenchRun) -> str:
        """The page; an odd figure raises :class:`~perfkit.errors.SchemaError`."""
        return render_dashboard([view_run(Path("<run>"), run)])
