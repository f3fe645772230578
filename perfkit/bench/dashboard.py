"""Build ``reports/index.html``: the scoreboard of every optimization, from results files.

Loading lives here; the page itself is :mod:`perfkit.render.bench_html`. A file that cannot be
read, is not a results file, or holds an odd figure (a string, NaN, no samples) is skipped and
listed with the reason; it never takes the page down. Nothing here imports the case modules (and
so neither torch nor onnxruntime): the page is drawn from the files alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from perfkit.errors import SchemaError, UsageError
from perfkit.render.bench_html import GROUP_TITLES
from perfkit.render.bench_view import RunView

__all__ = ["GROUP_TITLES", "LoadedRuns", "build_dashboard", "load_runs", "write_dashboard"]


@dataclass(frozen=True)
class LoadedRuns:
    """The runs that loaded (oldest first) and the files that did not, with the reason."""

    runs: tuple[RunView, ...]
    skipped: tuple[tuple[Path, str], ...]


def _files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(p.glob("*.json")) if p.is_dir() else [p])
    return files


def load_runs(
    paths: Iterable[str | os.PathLike[str]], known_cases: set[str] | None = None
) -> LoadedRuns:
    """Load and check every ``*.json`` results file under the given files/folders.

    Parameters
    ----------
    paths
        Results files, or folders whose ``*.json`` files are read.
    known_cases
        When given, a file none of whose cases is in this set (another case set, or cases since
        renamed) is skipped too, with that reason.

    Returns
    -------
    LoadedRuns
        The checked runs, oldest first, and (file, reason) for each file skipped.
    """
    from perfkit.bench.results import BenchRun
    from perfkit.render.bench_view import view_run

    runs: list[RunView] = []
    skipped: list[tuple[Path, str]] = []
    for f in _files(paths):
        if not f.is_file():  # a folder named *.json, a FIFO that would block the read...
            skipped.append((f, f"{f} is not a regular file"))
            continue
        try:
            view = view_run(f, BenchRun.load(f))
        except SchemaError as exc:
            skipped.append((f, str(exc)))
            continue
        names = {r.case for r in view.results}
        if known_cases is not None and not names & known_cases:
            shown = ", ".join(sorted(names)[:3]) or "no cases at all"
            skipped.append((f, f"{f} is from another case set: none of its cases ({shown}) exist"))
            continue
        runs.append(view)
    runs.sort(key=lambda r: r.datetime)
    return LoadedRuns(tuple(runs), tuple(skipped))


def build_dashboard(loaded: LoadedRuns, links: Sequence[tuple[str, str]] = ()) -> str:
    """Render the scoreboard page for ``loaded`` runs; ``links`` are (title, relative href)."""
    from perfkit._env import utc_now_iso
    from perfkit.render.bench_html import render_dashboard

    return render_dashboard(loaded.runs, loaded.skipped, links, built_at=utc_now_iso())


def _links(out_path: Path) -> list[tuple[str, str]]:
    links = []
    asv = out_path.parent / "asv" / "index.html"
    if asv.exists():
        links.append(
            (
                "asv dashboard (needs network: it loads jQuery and flot from CDNs)",
                os.path.relpath(asv, out_path.parent),
            )
        )
    profiles = sorted((out_path.parent / "profiles").glob("*/index.html"))
    for prof in profiles[-10:]:
        links.append((f"profile: {prof.parent.name}", os.path.relpath(prof, out_path.parent)))
    return links


def write_dashboard(
    results: Sequence[str | os.PathLike[str]] = ("reports/bench",),
    out: str | os.PathLike[str] = "reports/index.html",
) -> tuple[Path, LoadedRuns]:
    """Load every results file, render the page and write it atomically to ``out``.

    Raises
    ------
    UsageError
        A results path does not exist, ``out`` is an existing folder or unwritable, or ``out``
        is (or lies inside, or contains) one of the results paths. Checked before any work.
    """
    from perfkit._atomic import atomic_write_text, check_writable, refuse_output_over_input

    for p in map(Path, results):
        if not p.exists():
            raise UsageError(f"results path {p} does not exist", "run 'perfkit bench' first")
    out_path = Path(out)
    refuse_output_over_input(out_path, results)
    check_writable(out_path)
    loaded = load_runs(results)
    atomic_write_text(out_path, build_dashboard(loaded, _links(out_path)))
    return out_path, loaded
