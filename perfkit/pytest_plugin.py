"""pytest plugin (entry point ``pytest11``): profile the slowest tests of a suite.

``pytest --perfkit`` runs every test under perfkit's sampling profiler and keeps the reports of
the ``--perfkit-top N`` slowest (or, when some tests are marked ``@pytest.mark.perfkit``, of those
only): one report folder per test plus ``index.html`` and ``index.json`` in ``--perfkit-dir``
(default ``reports/pytest``). ``--perfkit-memory`` adds peak memory per test.

``--perfkit-cases`` runs the registered Cases (``own``: those of the project's
``perfkit.cases`` entry points and ``PERFKIT_CASES``; ``all``: perfkit's too) under
pytest-benchmark, baseline and candidate side by side in one group.

Off by default, and then it costs nothing: no hook wraps a test, and this module imports
nothing heavier than the standard library.
"""

from __future__ import annotations

import heapq
import html
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

DEFAULT_DIR = "reports/pytest"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("perfkit", "perfkit: profile the slowest tests")
    group.addoption(
        "--perfkit",
        action="store_true",
        help="profile tests; keep reports of the slowest (or of @pytest.mark.perfkit ones)",
    )
    group.addoption(
        "--perfkit-top", type=int, default=5, metavar="N", help="how many slow tests to keep (5)"
    )
    group.addoption("--perfkit-memory", action="store_true", help="also measure memory per test")
    group.addoption(
        "--perfkit-dir", default=DEFAULT_DIR, metavar="DIR", help=f"reports folder ({DEFAULT_DIR})"
    )
    group.addoption(
        "--perfkit-cases",
        nargs="?",
        const="own",
        choices=("own", "all"),
        default=None,
        help="run registered perfkit Cases under pytest-benchmark (own: this project's; all)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "perfkit: profile this test under `pytest --perfkit`")
    if config.getoption("perfkit_cases", None):
        os.environ["PERFKIT_PYTEST_CASES"] = config.getoption("perfkit_cases")
        bridge = str(Path(__file__).with_name("pytest_cases.py"))
        if bridge not in config.args:
            config.args.append(bridge)
    if not config.getoption("perfkit", False):
        return
    top = config.getoption("perfkit_top")
    if top < 1:
        raise pytest.UsageError("--perfkit-top must be at least 1")
    config.pluginmanager.register(TestProfiler(config), "perfkit-test-profiler")


@dataclass(order=True)
class Kept:
    """A profiled test, ordered by wall time so a heap keeps the slowest."""

    wall_s: float
    nodeid: str = field(compare=False)
    profile: Any = field(compare=False, repr=False)
    outcome: str = field(compare=False, default="passed")


def safe_name(nodeid: str) -> str:
    """A folder name for a test id: readable, no path separators, bounded length."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("._")[:120]
    return name or "test"


class TestProfiler:
    """Registered only under ``--perfkit``: wraps each test's call phase in a profile."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.top = int(config.getoption("perfkit_top"))
        self.memory = bool(config.getoption("perfkit_memory"))
        self.out_dir = Path(config.getoption("perfkit_dir"))
        self.marked_only = False
        self.kept: list[Kept] = []
        self.marked: list[Kept] = []
        self.profiled = 0

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if not hasattr(self.config, "workerinput"):  # the controller (or a plain run) starts clean
            for stale in self.out_dir.glob("index*.json"):
                stale.unlink(missing_ok=True)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.marked_only = any(item.get_closest_marker("perfkit") for item in items)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        if self.marked_only and not item.get_closest_marker("perfkit"):
            yield
            return
        import perfkit

        prof = perfkit.profile(memory=self.memory, hints=True)
        t0 = time.perf_counter()
        with prof:
            outcome = yield
        wall = time.perf_counter() - t0
        self.profiled += 1
        result = prof.result
        if result is None:
            return
        from dataclasses import replace

        result = replace(result, program=item.nodeid)
        kept = Kept(wall, item.nodeid, result, "failed" if outcome.excinfo else "passed")
        if self.marked_only:
            self.marked.append(kept)
        elif len(self.kept) < self.top:
            heapq.heappush(self.kept, kept)
        else:
            heapq.heappushpop(self.kept, kept)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        chosen = self.marked if self.marked_only else sorted(self.kept, reverse=True)
        if not chosen:
            return
        from perfkit.render.base import write_outputs

        rows = []
        for kept in chosen:
            folder = self.out_dir / safe_name(kept.nodeid)
            write_outputs(kept.profile, folder, ("html", "json", "speedscope"))
            rows.append(_row(kept, folder, self.out_dir))
        worker = getattr(self.config, "workerinput", {}).get("workerid")
        name = f"index-{worker}.json" if worker else "index.json"
        from perfkit._atomic import atomic_write_text, dumps_strict

        atomic_write_text(self.out_dir / name, dumps_strict({"tests": rows}, indent=2))
        if not worker:
            write_index(self.out_dir)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        chosen = self.marked if self.marked_only else sorted(self.kept, reverse=True)
        if not chosen:
            return
        tr = terminalreporter
        tr.section("perfkit: slowest tests profiled")
        for kept in chosen:
            row = _row(kept, self.out_dir / safe_name(kept.nodeid), self.out_dir)
            tr.write_line(
                f"{kept.wall_s:8.3f} s  {kept.nodeid}  top: {row['top_function'] or '-'}"
                + (f"  peak {row['peak_bytes'] / 1e6:.1f} MB" if row["peak_bytes"] else "")
            )
        tr.write_line(f"reports: {self.out_dir / 'index.html'}")


def _row(kept: Kept, folder: Path, root: Path) -> dict[str, Any]:
    p = kept.profile
    user = [f for f in p.top_functions(20) if getattr(f, "user_code", True)] or p.top_functions(1)
    memory = getattr(p, "memory", None)
    peak = None
    if memory is not None:
        peak = getattr(memory, "tracemalloc_peak_bytes", None) or getattr(
            memory, "peak_rss_bytes", None
        )
    return {
        "nodeid": kept.nodeid,
        "wall_s": kept.wall_s,
        "outcome": kept.outcome,
        "top_function": user[0].function if user else None,
        "top_file": f"{user[0].file}:{user[0].line}" if user else None,
        "peak_bytes": peak,
        "report": str(folder.relative_to(root) / "index.html"),
    }


def write_index(out_dir: Path) -> Path:
    """``index.html`` over every ``index*.json`` in ``out_dir`` (one per xdist worker)."""
    from perfkit._atomic import atomic_write_text

    rows: list[dict[str, Any]] = []
    for part in sorted(out_dir.glob("index*.json")):
        try:
            rows.extend(json.loads(part.read_text(encoding="utf-8"))["tests"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    rows.sort(key=lambda r: r.get("wall_s") or 0, reverse=True)
    body = "".join(
        '<tr><td>{wall:.3f} s</td><td><a href="{href}">{node}</a></td><td>{outcome}</td>'
        "<td>{top}</td><td>{where}</td><td>{peak}</td></tr>".format(
            wall=r.get("wall_s") or 0.0,
            href=html.escape(r.get("report", ""), quote=True),
            node=html.escape(str(r.get("nodeid"))),
            outcome=html.escape(str(r.get("outcome"))),
            top=html.escape(str(r.get("top_function") or "")),
            where=html.escape(str(r.get("top_file") or "")),
            peak=f"{r['peak_bytes'] / 1e6:.1f} MB" if r.get("peak_bytes") else "",
        )
        for r in rows
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>perfkit: slowest tests</title>"
        "<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}</style></head>"
        "<body><h1>Slowest tests, profiled</h1><table><thead><tr><th>wall</th><th>test</th>"
        "<th>outcome</th><th>top function</th><th>where</th><th>peak memory</th></tr></thead>"
        f"<tbody>{body}</tbody></table></body></html>"
    )
    return atomic_write_text(out_dir / "index.html", page)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under xdist the controller runs no test: it only merges the workers' indexes."""
    config = session.config
    if (
        config.getoption("perfkit", False)
        and not hasattr(config, "workerinput")
        and getattr(config.option, "numprocesses", None)
    ):
        out_dir = Path(config.getoption("perfkit_dir"))
        if any(out_dir.glob("index-*.json")):
            write_index(out_dir)
