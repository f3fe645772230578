"""``index.html``: a self-contained report that reads offline (no scripts, fonts or links).

The call tree is nested ``<details>`` elements (collapsible without JavaScript), hot lines are
shown inside their function's source with a heat bar, memory over time is an inline SVG plot.
Every string that comes from the profiled program (names, paths, source, exception text,
argv) goes through :func:`esc`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from perfkit.render import _fmt

if TYPE_CHECKING:
    from perfkit.profiling.model import FrameNode, Profile

TOP_N = 15
#: Call-tree nodes with less than this share of their thread are left out of the page.
MIN_TREE_SHARE = 0.002
#: Tree levels opened by default.
OPEN_DEPTH = 4
#: Deeper call-tree levels are listed flat (with their depth) instead of nested.
MAX_NEST = 200

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1200px;
color:#1d1d1f;padding:0 1em}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0;width:100%}
th,td{padding:2px 8px;text-align:left;vertical-align:top;border-bottom:1px solid #eee}
td.n,th.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
code,pre,.src{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre{margin:0;white-space:pre-wrap}
.meta{color:#555}.bad{color:#b00020;font-weight:600}
.tree details{margin-left:1.1em}.tree summary{cursor:pointer;white-space:nowrap;padding:1px 0}
.tree .t{display:inline-block;width:6.5em;text-align:right;margin-right:.6em;
font-variant-numeric:tabular-nums}
.tree .fn{background:#f3f3f5;padding:0 .3em;border-radius:3px}
.tree .w{color:#777;margin-left:.6em;font-size:12px}
.tree .leaf{margin-left:2.2em;white-space:nowrap;padding:1px 0}
.tree .leaf::before{content:"·";color:#bbb;margin-right:.4em}
.tree .deep{margin-left:2.2em}.tree .d{color:#999;font-size:11px;margin-right:.6em}
.heat{display:inline-block;height:.8em;background:#e4572e;vertical-align:middle;margin-right:4px}
tr.hot td{background:#fff1ec}
.hint{border-left:4px solid #e4572e;padding:.3em .8em;margin:.8em 0;background:#fafafa}
.note{color:#666;font-size:13px}
svg text{font:11px system-ui,sans-serif;fill:#444}
"""


#: ``html.escape(s, quote=True)``'s table, without importing ``html`` (and its entity tables,
#: a few ms of every ``perfkit profile`` run).
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


def esc(value: object) -> str:
    """HTML-escape anything (quotes included), so program strings never become markup."""
    return str(value).translate(_ESCAPES)


class HtmlRenderer:
    """The self-contained HTML report."""

    name: ClassVar[str] = "html"
    file_name: ClassVar[str] = "index.html"

    def render(self, profile: Profile) -> str:
        """The whole page as one string."""
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>perfkit profile — {esc(profile.program)}</title>",
            f"<style>{_CSS}</style></head><body>",
            _header(profile),
            _hints(profile),
            _functions(profile),
            _hot_lines(profile),
            _line_tables(profile),
            _memory(profile),
            _tree(profile),
            _processes(profile),
            _notes(profile),
            "</body></html>",
        ]
        return "\n".join(p for p in parts if p) + "\n"


def _header(p: Profile) -> str:
    status = _fmt.ended(p.ended_by, p.exit_status, p.exception)
    cls = "bad" if p.ended_by != "exit" or p.exit_status else ""
    machine = p.environment.get("machine_info", {}) if p.environment else {}
    return (
        f"<h1>perfkit profile: <code>{esc(p.program)}</code></h1>"
        f'<p class="meta">command: <code>{esc(" ".join(p.argv))}</code><br>'
        f"started {esc(p.started_at)} · wall {esc(_fmt.seconds(p.wall_s))} · "
        f"cpu {esc(_fmt.seconds(p.cpu_s))} · modes {esc(', '.join(p.modes) or 'none')}"
        + (
            f" · {p.sample_count} samples every {esc(_fmt.seconds(p.interval_s))}"
            if p.sample_count and p.interval_s
            else ""
        )
        + f'<br><span class="{cls}">{esc(status)}</span>'
        + (
            f"<br>machine: {esc(machine.get('cpu_model', ''))}, "
            f"python {esc(machine.get('python_version', ''))}"
            if machine
            else ""
        )
        + "</p>"
    )


def _hints(p: Profile) -> str:
    if not p.hints:
        return ""
    out = ["<h2>Hints</h2>"]
    for h in p.hints:
        out.append(
            f'<div class="hint"><b>{esc(h.title)}</b> <span class="meta">[{esc(h.rule)}] '
            f"{esc(_where(h.file, h.line, p.cwd))}</span>"
            + (f"<pre>{esc(h.source)}</pre>" if h.source else "")
            + f"<div>evidence: {esc(h.evidence)}</div><div>do: {esc(h.suggestion)}</div></div>"
        )
    return "\n".join(out)


def _functions(p: Profile) -> str:
    if not p.functions:
        return ""
    exact = any(f.calls is not None for f in p.functions)
    rows = []
    for f in p.top_functions(TOP_N, by="self_s", waiting=False):
        rows.append(
            "<tr>"
            f'<td class="n">{esc(_fmt.seconds(f.self_s))}</td>'
            f'<td class="n">{esc(_fmt.pct(f.self_s, p.wall_s))}</td>'
            f'<td class="n">{esc(_fmt.seconds(f.total_s))}</td>'
            f'<td class="n">{esc(_fmt.pct(f.total_s, p.wall_s))}</td>'
            f'<td class="n">{esc(_fmt.seconds(f.self_cpu_s))}</td>'
            f'<td class="n">{esc(_fmt.seconds(f.total_cpu_s))}</td>'
            + (f'<td class="n">{esc(f.calls if f.calls is not None else "")}</td>' if exact else "")
            + f"<td><code>{esc(f.function)}</code></td>"
            f'<td class="src">{esc(_where(f.file, f.line, p.cwd))}</td></tr>'
        )
    head = (
        '<tr><th class="n">own</th><th class="n">own %</th><th class="n">total</th>'
        '<th class="n">total %</th><th class="n">own cpu</th><th class="n">total cpu</th>'
        + ('<th class="n">calls</th>' if exact else "")
        + "<th>function</th><th>where</th></tr>"
    )
    from perfkit.render.terminal import WAIT_N, WAITING_TITLE, multi_thread_note

    note = multi_thread_note(p)
    note_html = f'<p class="note">{esc(note)}</p>' if note else ""
    waits = [f for f in p.top_functions(WAIT_N, waiting=True) if f.self_s > 0]
    wait_html = ""
    if waits:
        wait_html = (
            f"<h3>{esc(WAITING_TITLE)}</h3><table>"
            '<tr><th class="n">own</th><th class="n">own %</th><th>function</th><th>where</th></tr>'
            + "".join(
                f'<tr><td class="n">{esc(_fmt.seconds(f.self_s))}</td>'
                f'<td class="n">{esc(_fmt.pct(f.self_s, p.wall_s))}</td>'
                f"<td><code>{esc(f.function)}</code></td>"
                f'<td class="src">{esc(_where(f.file, f.line, p.cwd))}</td></tr>'
                for f in waits
            )
            + "</table>"
        )
    return (
        f"<h2>Top functions by own time</h2>{note_html}<table>{head}{''.join(rows)}</table>"
        + wait_html
    )


def _hot_lines(p: Profile) -> str:
    lines = [h for h in p.top_lines(TOP_N) if h.self_s > 0]
    if not lines:
        return ""
    out = ["<h2>Hot lines</h2>"]
    top = lines[0].self_s or 1.0
    rows = []
    for h in lines:
        width = max(1, int(80 * h.self_s / top))
        rows.append(
            f'<tr><td class="n">{esc(_fmt.seconds(h.self_s))}</td>'
            f'<td class="n">{esc(_fmt.pct(h.self_s, p.wall_s))}</td>'
            f'<td><span class="heat" style="width:{width}px"></span></td>'
            f'<td class="src">{esc(_where(h.file, h.line, p.cwd))}</td>'
            f"<td><code>{esc(h.function)}</code></td>"
            f'<td class="src">{esc(h.source)}</td></tr>'
        )
    out.append(
        '<table><tr><th class="n">own</th><th class="n">%</th><th></th><th>where</th>'
        f"<th>function</th><th>source</th></tr>{''.join(rows)}</table>"
    )
    # The hottest lines in the context of their function's source.
    shown = 0
    for h in lines[:5]:
        src = p.sources.get(h.file)
        if not src:
            continue
        all_lines = src.splitlines()
        lo, hi = max(1, h.line - 4), min(len(all_lines), h.line + 4)
        heat = {x.line: x.self_s for x in p.hot_lines if x.file == h.file and lo <= x.line <= hi}
        body = []
        for n in range(lo, hi + 1):
            cls = ' class="hot"' if n == h.line else ""
            t = heat.get(n, 0.0)
            body.append(
                f'<tr{cls}><td class="n">{n}</td><td class="n">'
                f"{esc(_fmt.seconds(t)) if t else ''}</td>"
                f'<td class="src"><pre>{esc(all_lines[n - 1])}</pre></td></tr>'
            )
        out.append(
            f"<details{' open' if shown == 0 else ''}><summary>"
            f"{esc(_where(h.file, h.line, p.cwd))} in <code>{esc(h.function)}</code>"
            f"</summary><table>{''.join(body)}</table></details>"
        )
        shown += 1
    return "\n".join(out)


def _line_tables(p: Profile) -> str:
    if not p.line_tables:
        return ""
    out = ["<h2>Line timings (line_profiler)</h2>"]
    for lt in p.line_tables:
        top = max((r.time_s for r in lt.lines), default=0.0) or 1.0
        rows = []
        for r in lt.lines:
            hot = ' class="hot"' if r.time_s >= 0.2 * top and r.hits else ""
            width = int(80 * r.time_s / top) if r.hits else 0
            rows.append(
                f'<tr{hot}><td class="n">{r.line}</td><td class="n">{r.hits or ""}</td>'
                f'<td class="n">{esc(_fmt.seconds(r.time_s)) if r.hits else ""}</td>'
                f'<td class="n">{esc(_fmt.pct(r.time_s, lt.total_s)) if r.hits else ""}</td>'
                f'<td><span class="heat" style="width:{width}px"></span></td>'
                f'<td class="src"><pre>{esc(r.source)}</pre></td></tr>'
            )
        out.append(
            f'<h3><code>{esc(lt.function)}</code> <span class="meta">'
            f"{esc(_where(lt.file, lt.first_line, p.cwd))} · "
            f"{esc(_fmt.seconds(lt.total_s))}</span></h3>"
            '<table><tr><th class="n">line</th><th class="n">hits</th><th class="n">time</th>'
            f'<th class="n">%</th><th></th><th>source</th></tr>{"".join(rows)}</table>'
        )
    return "\n".join(out)


def _memory(p: Profile) -> str:
    mem = p.memory
    if mem is None:
        return ""
    out = [
        "<h2>Memory</h2>",
        f"<p>peak RSS <b>{esc(_fmt.size(mem.peak_rss_bytes))}</b> · start "
        f"{esc(_fmt.size(mem.start_rss_bytes))} · end {esc(_fmt.size(mem.end_rss_bytes))}"
        + (
            f" · tracemalloc peak {esc(_fmt.size(mem.tracemalloc_peak_bytes))}"
            if mem.tracemalloc_peak_bytes is not None
            else ""
        )
        + "</p>",
        memory_svg(mem.series),
    ]
    if mem.top_lines:
        rows = "".join(
            f'<tr><td class="n">{esc(_fmt.size(s.size_bytes))}</td><td class="n">{s.count}</td>'
            f'<td>{esc(s.method)}</td><td class="src">{esc(_where(s.file, s.line, p.cwd))}'
            f'</td><td class="src">{esc(s.source)}</td></tr>'
            for s in mem.top_lines[:TOP_N]
        )
        out.append(
            '<h3>Top allocation lines</h3><table><tr><th class="n">bytes</th>'
            f'<th class="n">count</th><th>how</th><th>where</th><th>source</th></tr>{rows}'
            "</table>"
        )
    if mem.arrays:
        rows = "".join(
            f"<tr><td><code>{esc(a.name)}</code></td><td>{esc(a.dtype)}</td>"
            f'<td>{esc(a.shape)}</td><td class="n">{esc(_fmt.size(a.nbytes))}</td>'
            f'<td class="n">{esc(_rel(a.float32_max_rel_error))}'
            f'</td><td class="src">{esc(_where(a.file, a.line, p.cwd))}</td></tr>'
            for a in mem.arrays[:TOP_N]
        )
        out.append(
            "<h3>Large arrays seen while memory grew</h3><table><tr><th>name</th><th>dtype"
            '</th><th>shape</th><th class="n">bytes</th><th class="n">float32 rel. error</th>'
            f"<th>where</th></tr>{rows}</table>"
        )
    for mt in mem.line_tables:
        rows = "".join(
            f'<tr><td class="n">{r.line}</td>'
            f'<td class="n">{esc(_fmt.size(r.increment_bytes)) if r.occurrences else ""}</td>'
            f'<td class="n">{esc(_fmt.size(r.usage_bytes)) if r.occurrences else ""}</td>'
            f'<td class="n">{r.occurrences or ""}</td>'
            f'<td class="src"><pre>{esc(r.source)}</pre></td></tr>'
            for r in mt.lines
        )
        out.append(
            f"<h3>Memory per line of <code>{esc(mt.function)}</code> (memory_profiler)</h3>"
            '<table><tr><th class="n">line</th><th class="n">increment</th>'
            f'<th class="n">usage</th><th class="n">times</th><th>source</th></tr>{rows}</table>'
        )
    return "\n".join(out)


def memory_svg(series: tuple[tuple[float, int], ...], width: int = 900, height: int = 220) -> str:
    """RSS over time as an inline SVG line plot (empty string for fewer than two points)."""
    if len(series) < 2:
        return ""
    pad_l, pad_b, pad_t, pad_r = 70, 28, 10, 10
    t_max = max(t for t, _ in series) or 1.0
    b_min = min(b for _, b in series)
    b_max = max(b for _, b in series)
    span = (b_max - b_min) or 1
    w, h = width - pad_l - pad_r, height - pad_b - pad_t

    def xy(t: float, b: int) -> str:
        return f"{pad_l + w * t / t_max:.1f},{pad_t + h * (1 - (b - b_min) / span):.1f}"

    points = " ".join(xy(t, b) for t, b in series)
    ticks = []
    for i in range(5):
        b = b_min + span * i / 4
        y = pad_t + h * (1 - i / 4)
        ticks.append(
            f'<text x="{pad_l - 6}" y="{y + 4:.1f}" text-anchor="end">{esc(_fmt.size(b))}</text>'
            f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
        )
        tx = pad_l + w * i / 4
        ticks.append(
            f'<text x="{tx:.1f}" y="{height - 8}" text-anchor="middle">'
            f"{esc(_fmt.seconds(t_max * i / 4))}</text>"
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="RSS over time">'
        f"<title>RSS over time</title>{''.join(ticks)}"
        f'<polyline fill="none" stroke="#e4572e" stroke-width="1.5" points="{points}"/></svg>'
    )


#: ``(file, cwd) -> the file as the report shows it``: the relpath of a file is computed once
#: per render, not once per call-tree node and table row (a tree names each file many times).
_SHORT: dict[tuple[str, str], str] = {}


def _where(file: str, line: int, cwd: str = "") -> str:
    """:func:`perfkit.render._fmt.where`, the file's short form looked up once."""
    if not file or file.startswith("<"):
        return _fmt.where(file, line, cwd)
    short = _SHORT.get((file, cwd))
    if short is None:
        if len(_SHORT) > 4096:  # a long-lived process (the API, a notebook): stay bounded
            _SHORT.clear()
        short = _SHORT[(file, cwd)] = _fmt.where(file, 0, cwd)
    return f"{short}:{line}" if line else short


def _rel(err: float | None) -> str:
    return "—" if err is None else f"{err:.1e}"


def _tree(p: Profile) -> str:
    if not p.threads:
        return ""
    out = [
        "<h2>Call tree</h2>",
        '<p class="note">wall time · share of the thread · own time · CPU time · where; '
        "click to fold. Siblings are sorted by time.</p>",
    ]
    for thread in p.threads:
        total = thread.root.wall_s or 1.0
        out.append(
            f'<h3>{esc(thread.name)} <span class="meta">{esc(_fmt.seconds(thread.root.wall_s))}'
            "</span></h3>"
        )
        out.append(f'<div class="tree">{tree_html(thread.root.children, total, p.cwd)}</div>')
    return "\n".join(out)


def _label(node: FrameNode, total: float, cwd: str) -> str:
    return (
        f'<span class="t">{esc(_fmt.seconds(node.wall_s))}</span>'
        f'<code class="fn">{esc(node.function)}</code>'
        f'<span class="w">{esc(_fmt.pct(node.wall_s, total))} · own '
        f"{esc(_fmt.seconds(node.self_wall_s))} · cpu {esc(_fmt.seconds(node.cpu_s))} · "
        f"{esc(_where(node.file, node.line, cwd))}</span>"
    )


def tree_html(tops: tuple[FrameNode, ...], total: float, cwd: str) -> str:
    """Nested ``<details>`` for the call tree under ``tops``, built without recursion.

    Nodes under :data:`MIN_TREE_SHARE` of ``total`` are left out; below :data:`MAX_NEST`
    levels (browsers stop nesting elements around 512) the deeper frames follow as a flat,
    indented-by-number list, so a 10 000-frame recursion is shown in full.
    """
    parts: list[str] = []
    floor = MIN_TREE_SHARE * total

    def kids_of(node_children: tuple[FrameNode, ...]) -> list[FrameNode]:
        return sorted((c for c in node_children if c.wall_s >= floor), key=lambda c: -c.wall_s)

    stack: list[tuple[str | FrameNode, int]] = [(c, 0) for c in reversed(kids_of(tops))]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        label = _label(item, total, cwd)
        kids = kids_of(item.children)
        if depth >= MAX_NEST:
            depth_tag = f'<span class="d">depth {depth}</span>'
            parts.append(f'<div class="leaf deep">{depth_tag}{label}</div>')
        elif not kids:
            parts.append(f'<div class="leaf">{label}</div>')
            continue
        else:
            opened = " open" if depth < OPEN_DEPTH else ""
            parts.append(f"<details{opened}><summary>{label}</summary>")
            stack.append(("</details>", depth))
        stack.extend((c, depth + 1) for c in reversed(kids))
    return "".join(parts)


def _processes(p: Profile) -> str:
    if not p.processes:
        return ""
    from perfkit.profiling.children.render import html_section

    return html_section(p, esc)


def _notes(p: Profile) -> str:
    if not p.notes:
        return ""
    return "<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in p.notes) + "</ul>"
