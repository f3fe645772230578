"""Build ``reports/index.html``: the scoreboard of every optimization, from results files.

One self-contained static page (inline CSS and matplotlib SVG, nothing fetched when opened):
per case, baseline vs candidate on CPU and GPU side by side, speed-up, memory ratio, the check's
figures and verdict, and the speed-up's history across runs. Every string taken from a results
file is HTML-escaped. Unreadable files are listed, not fatal.
"""

from __future__ import annotations

import html
import io
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from perfkit._atomic import atomic_write_text
from perfkit._env import utc_now_iso
from perfkit.bench.results import BenchRun, CaseResult
from perfkit.errors import SchemaError, UsageError
from perfkit.render.bench_table import fmt_bytes, fmt_ratio, fmt_seconds, verdict_text

#: Display order and titles of the components; other groups follow alphabetically.
GROUP_TITLES = {
    "playbook": "Playbook (Python and NumPy habits)",
    "memory": "Memory (dtypes and copies)",
    "indicators": "Indicators (numba, joblib, dask)",
    "compression": "Model compression",
    "profiling": "Profiler overhead",
}


@dataclass(frozen=True)
class LoadedRuns:
    """The runs that loaded (oldest first) and the files that did not, with the reason."""

    runs: tuple[tuple[Path, BenchRun], ...]
    skipped: tuple[tuple[Path, str], ...]


def load_runs(
    paths: Iterable[str | os.PathLike[str]], known_cases: set[str] | None = None
) -> LoadedRuns:
    """Load every ``*.json`` results file under the given files/folders, skipping bad ones.

    With ``known_cases``, a file none of whose cases perfkit knows (another case set, or cases
    since renamed) is skipped too, with that reason.
    """
    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(p.glob("*.json")) if p.is_dir() else [p])
    runs, skipped = [], []
    for f in files:
        try:
            run = BenchRun.load(f)
        except SchemaError as exc:
            skipped.append((f, str(exc)))
            continue
        names = {r.case for r in run.results}
        if known_cases is not None and not names & known_cases:
            shown = ", ".join(sorted(names)[:3]) or "no cases at all"
            skipped.append((f, f"{f} is from another case set: none of its cases ({shown}) exist"))
            continue
        runs.append((f, run))
    runs.sort(key=lambda fr: fr[1].datetime)
    return LoadedRuns(tuple(runs), tuple(skipped))


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _svg(fig) -> str:  # noqa: ANN001
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and DOCTYPE: inline SVG needs neither


def _plt():  # noqa: ANN202
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: small and searchable
    matplotlib.rcParams["svg.hashsalt"] = "perfkit"  # stable ids, reproducible files
    import matplotlib.pyplot as plt

    return plt


def ratio_chart(
    rows: Sequence[
        tuple[str, tuple[float | None, float | None], tuple[float | None, float | None]]
    ],
    title: str,
) -> str:
    """Two panels of horizontal bars per case — speed-up and memory ratio — CPU and GPU side by
    side, log scale, with 1× (no change) marked. Rows are (label, (cpu, gpu) speed-up,
    (cpu, gpu) memory ratio)."""
    plt = _plt()
    rows = [r for r in rows if any(r[1]) or any(r[2])]
    if not rows:
        return ""
    height = 1.0 + 0.3 * len(rows)
    fig, axes = plt.subplots(1, 2, figsize=(11, height), sharey=True)
    ys = list(range(len(rows)))
    for ax, idx, xlabel in (
        (axes[0], 1, "speed-up (baseline time / candidate time)"),
        (axes[1], 2, "memory ratio (baseline peak / candidate peak)"),
    ):
        cpu = [r[idx][0] or 0 for r in rows]
        gpu = [r[idx][1] or 0 for r in rows]
        has_gpu = any(gpu)
        w = 0.4 if has_gpu else 0.7
        off = w / 2 if has_gpu else 0.0
        ax.barh([y - off for y in ys], cpu, height=w, label="CPU", color="#3b6ea8")
        if has_gpu:
            ax.barh([y + off for y in ys], gpu, height=w, label="GPU", color="#76b041")
        ax.axvline(1.0, color="#444", lw=1, ls="--")
        if any(v > 0 for v in cpu + gpu):
            ax.set_xscale("log")
        ax.set_xlabel(xlabel, fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_yticks(ys, [r[0] for r in rows], fontsize=7)
    axes[0].invert_yaxis()
    fig.suptitle(title, fontsize=10)
    return _svg(fig)


def history_chart(points: Sequence[float]) -> str:
    """A small line of the speed-up over successive runs (one point per run)."""
    if len(points) < 2:
        return ""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(1.8, 0.45))
    ax.plot(range(len(points)), points, color="#3b6ea8", lw=1.2, marker="o", ms=2)
    ax.axhline(1.0, color="#aaa", lw=0.6, ls="--")
    ax.set_axis_off()
    return _svg(fig)


CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#1d232a;
 max-width:1500px}
h1{margin:0 0 4px}h2{margin-top:32px;border-bottom:1px solid #dde;padding-bottom:4px}
.muted{color:#667}table{border-collapse:collapse;width:100%;margin:8px 0 16px;font-size:13px}
th,td{border-bottom:1px solid #eef;padding:4px 6px;text-align:left;vertical-align:middle}
td code{word-break:break-all}
th{background:#f4f6fa;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums}
.passed{color:#1a7f37}.failed,.error{color:#cf222e;font-weight:600}.skipped{color:#9a6700}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{border:1px solid #dde;border-radius:6px;padding:8px 12px}
.chart svg{max-width:100%;height:auto}td.hist svg{width:120px;height:30px}
"""


def _side_cells(r: CaseResult | None) -> str:
    if r is None:
        return '<td class="muted" colspan="5">—</td>'
    b, c = r.baseline, r.candidate

    def t(x) -> str:  # noqa: ANN001
        if x is None:
            return "—"
        spread = f"{fmt_seconds(x.min_s)}–{fmt_seconds(x.max_s)}"
        return f"{fmt_seconds(x.median_s)}<br><span class='muted'>{spread}</span>"

    return (
        f'<td class="num">{t(b)}</td><td class="num">{t(c)}</td>'
        f'<td class="num">{_e(fmt_ratio(r.speedup))}</td>'
        f'<td class="num">{_e(fmt_ratio(r.memory_ratio))}</td>'
        f'<td class="{_e(r.status)}">{_e(verdict_text(r))}</td>'
    )


def _figures(r: CaseResult | None) -> str:
    if r is None or r.verdict is None:
        return ""
    parts = []
    for k, v in r.verdict.figures.items():
        if v is None:
            continue
        shown = fmt_bytes(v) if k.endswith("_bytes") else f"{v:.4g}"
        parts.append(f"{_e(k)}={_e(shown)}")
    return "<br>".join(parts)


def build_dashboard(loaded: LoadedRuns, links: Sequence[tuple[str, str]] = ()) -> str:
    """Render the scoreboard page for ``loaded`` runs; ``links`` are (title, relative href)."""
    latest: dict[tuple[str, str], CaseResult] = {}
    history: dict[tuple[str, str], list[float]] = defaultdict(list)
    meta: dict[str, CaseResult] = {}
    last_run: dict[str, tuple[Path, BenchRun]] = {}
    for path, run in loaded.runs:
        last_run[run.device] = (path, run)
        for r in run.results:
            latest[(r.id, r.device)] = r
            meta[r.id] = r
            if r.speedup is not None and r.status == "passed":
                history[(r.id, r.device)].append(r.speedup)

    by_group: dict[str, list[str]] = defaultdict(list)
    for rid, r in meta.items():
        by_group[r.group].append(rid)
    order = [g for g in GROUP_TITLES if g in by_group] + sorted(set(by_group) - set(GROUP_TITLES))

    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        "<title>perfkit scoreboard</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>perfkit scoreboard</h1>",
        "<p class='muted'>Every optimization as a measured, verified pair. "
        f"Built {_e(utc_now_iso())} "
        f"from {len(loaded.runs)} results file(s).</p>",
    ]
    if links:
        out.append(
            "<p>" + " · ".join(f"<a href='{_e(href)}'>{_e(t)}</a>" for t, href in links) + "</p>"
        )
    out.append("<div class='cards'>")
    for device, (path, run) in sorted(last_run.items()):
        c = run.counts()
        gpu = f" · {_e(run.gpu_info.get('name'))}" if run.gpu_info else ""
        commit = _e((run.commit_info.get("id") or "n/a")[:10])
        out.append(
            f"<div class='card'><b>latest {_e(device.upper())} run</b>{gpu}<br>"
            f"{_e(run.datetime)} · commit <code>{commit}</code><br>"
            f"{_e(run.machine_info.get('cpu_model', ''))}<br>"
            f"<span class='passed'>{c['passed']} passed</span>, "
            f"<span class='{'failed' if c['failed'] else ''}'>{c['failed']} failed</span>, "
            f"<span class='{'error' if c['error'] else ''}'>{c['error']} errors</span>, "
            f"{c['skipped']} skipped<br>"
            f"<span class='muted'>{_e(path.name)}</span></div>"
        )
    out.append("</div>")
    if not loaded.runs:
        out.append("<p>No results yet: run <code>perfkit bench</code>.</p>")

    for group in order:
        ids = sorted(by_group[group])
        title = GROUP_TITLES.get(group, group)
        out.append(f"<h2 id='{_e(group)}'>{_e(title)}</h2>")
        chart = ratio_chart(
            [
                (
                    rid,
                    tuple(getattr(latest.get((rid, d)), "speedup", None) for d in ("cpu", "cuda")),
                    tuple(
                        getattr(latest.get((rid, d)), "memory_ratio", None) for d in ("cpu", "cuda")
                    ),
                )
                for rid in ids
            ],
            f"{title}: candidate vs baseline (latest runs)",
        )
        if chart:
            out.append(f"<div class='chart'>{chart}</div>")
        out.append(
            "<table><thead><tr><th rowspan='2'>case</th><th rowspan='2'>what it shows</th>"
            "<th colspan='5'>CPU</th><th colspan='5'>GPU</th>"
            "<th rowspan='2'>figures</th><th rowspan='2'>history (CPU speed-up)</th></tr><tr>"
            + "<th>baseline</th><th>candidate</th><th>speed-up</th><th>memory ratio</th>"
            "<th>check</th>" * 2 + "</tr></thead><tbody>"
        )
        for rid in ids:
            cpu, gpu = latest.get((rid, "cpu")), latest.get((rid, "cuda"))
            m = meta[rid]
            labels = f"{m.baseline_label} → {m.candidate_label}"
            out.append(
                f"<tr><td><code>{_e(rid)}</code></td>"
                f"<td>{_e(m.description)}<br><span class='muted'>{_e(labels)}</span></td>"
                f"{_side_cells(cpu)}{_side_cells(gpu)}"
                f"<td>{_figures(cpu or gpu)}</td>"
                f"<td class='hist'>{history_chart(history.get((rid, 'cpu'), []))}</td></tr>"
            )
        out.append("</tbody></table>")

    if loaded.skipped:
        out.append("<h2>Skipped results files</h2><ul>")
        for path, why in loaded.skipped:
            out.append(f"<li><code>{_e(path)}</code>: {_e(why)}</li>")
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out)


def write_dashboard(
    results: Sequence[str | os.PathLike[str]] = ("reports/bench",),
    out: str | os.PathLike[str] = "reports/index.html",
) -> tuple[Path, LoadedRuns]:
    """Load every results file, render the page and write it atomically to ``out``."""
    for p in map(Path, results):
        if not p.exists():
            raise UsageError(f"results path {p} does not exist", "run 'perfkit bench' first")
    from perfkit.bench import registry

    loaded = load_runs(results, known_cases={c.name for c in registry.all_cases()})
    out_path = Path(out)
    links = []
    asv = out_path.parent / "asv" / "index.html"
    if asv.exists():
        links.append(("asv history (per commit)", os.path.relpath(asv, out_path.parent)))
    profiles = sorted((out_path.parent / "profiles").glob("*/index.html"))
    for prof in profiles[-10:]:
        links.append((f"profile: {prof.parent.name}", os.path.relpath(prof, out_path.parent)))
    atomic_write_text(out_path, build_dashboard(loaded, links))
    return out_path, loaded
