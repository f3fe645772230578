"""Fixtures shared by the profiling and render tests: a deterministic synthetic Profile.

No clocks: every figure in it is written down.
"""

from __future__ import annotations

import pytest

from perfkit.profiling.model import (
    AllocationSite,
    ArrayObservation,
    CallerEdge,
    FrameNode,
    FunctionStat,
    Hint,
    HotLine,
    LineTable,
    LineTiming,
    MemoryLine,
    MemoryLineTable,
    MemoryReport,
    Profile,
    ThreadTree,
)

HOSTILE = "<script>alert('x')</script>"
HOSTILE_SOURCE = 'if a < b and "</td>" in s: total += 1  # & more'


def sample_profile() -> Profile:
    """A small profile touching every record type, with hostile program strings."""
    leaf = FrameNode(HOSTILE, "/src/app.py", 10, 0.6, 0.6, 0.55, 0.55, 60)
    helper = FrameNode("helper", "/src/app.py", 20, 0.3, 0.3, 0.3, 0.3, 30)
    main = FrameNode("main", "/src/app.py", 30, 1.0, 0.1, 0.95, 0.1, 100, (leaf, helper))
    module = FrameNode("<module>", "/src/app.py", 1, 1.0, 0.0, 0.95, 0.0, 100, (main,))
    root = FrameNode("MainThread", "", 0, 1.0, 0.0, 0.95, 0.0, 100, (module,))
    source = "\n".join(
        ["import numpy as np"]
        + [f"# line {i}" for i in range(2, 10)]
        + [f"def {'hostile'}():", "    for i in range(10):", f"        {HOSTILE_SOURCE}"]
        + [f"# line {i}" for i in range(13, 31)]
    )
    return Profile(
        program="app.py",
        kind="script",
        argv=("app.py", "--epochs", "3"),
        cwd="/src",
        modes=("sampling", "lines", "memory"),
        started_at="2026-01-02T03:04:05Z",
        wall_s=1.0,
        cpu_s=0.95,
        interval_s=0.001,
        sample_count=100,
        threads=(ThreadTree(1, "MainThread", root),),
        functions=(
            FunctionStat(
                HOSTILE, "/src/app.py", 10, 0.6, 0.6, 0.55, 0.55, None, None, 60, "__main__", True
            ),
            FunctionStat(
                "helper",
                "/src/app.py",
                20,
                0.3,
                0.3,
                0.3,
                0.3,
                7,
                7,
                30,
                "__main__",
                True,
                (CallerEdge("main", "/src/app.py", 30, 7, 7, 0.3, 0.3),),
            ),
            FunctionStat(
                "main", "/src/app.py", 30, 0.1, 1.0, 0.1, 0.95, None, None, 100, "__main__", True
            ),
        ),
        hot_lines=(
            HotLine("/src/app.py", 12, HOSTILE, 0.5, 0.5, HOSTILE_SOURCE, 50),
            HotLine("/src/app.py", 21, "helper", 0.3, 0.3, "return x * 2", 30),
        ),
        line_tables=(
            LineTable(
                HOSTILE,
                "/src/app.py",
                10,
                0.5,
                (
                    LineTiming(10, 0, 0.0, "def hostile():"),
                    LineTiming(11, 11, 0.01, "    for i in range(10):"),
                    LineTiming(12, 10, 0.49, "        " + HOSTILE_SOURCE),
                ),
                "__main__",
            ),
        ),
        memory=MemoryReport(
            start_rss_bytes=20 << 20,
            peak_rss_bytes=120 << 20,
            end_rss_bytes=60 << 20,
            series=((0.0, 20 << 20), (0.5, 120 << 20), (1.0, 60 << 20)),
            tracemalloc_peak_bytes=None,
            top_lines=(
                AllocationSite(
                    "/src/app.py", 12, HOSTILE, 80 << 20, 2, HOSTILE_SOURCE, "rss_growth"
                ),
            ),
            arrays=(
                ArrayObservation(
                    "/src/app.py",
                    12,
                    HOSTILE,
                    "prices",
                    "float64",
                    (1000, 1000),
                    8_000_000,
                    5.9e-8,
                    False,
                ),
            ),
            line_tables=(
                MemoryLineTable(
                    "helper",
                    "/src/app.py",
                    (
                        MemoryLine(20, 0, 20 << 20, 1, "def helper(x):"),
                        MemoryLine(21, 8 << 20, 28 << 20, 3, "return x * 2"),
                    ),
                ),
            ),
            sample_interval_s=0.01,
        ),
        hints=(
            Hint(
                "numba-loop",
                f"{HOSTILE}: pure-Python loop",
                "/src/app.py",
                11,
                HOSTILE,
                "the loop ran 0.50 s",
                "use @numba.njit",
                HOSTILE_SOURCE,
                0.5,
                None,
            ),
        ),
        notes=("a <note> & more",),
        environment={
            "perfkit_version": "0.1.0",
            "machine_info": {"cpu_model": "Test CPU"},
            "commit_info": {"id": "abc"},
        },
        sources={"/src/app.py": source},
    )


@pytest.fixture
def profile() -> Profile:
    return sample_profile()
