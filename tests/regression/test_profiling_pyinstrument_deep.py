"""Issue 12: ``--cpu pyinstrument`` on a 10 000-frame recursion did not finish in 300 s.

pyinstrument's ``build_frame_tree`` walks every frame of every sample: a 10 000-frame stack
sampled a few hundred times is millions of frames (minutes). perfkit now builds the tree from
a thinned set of samples (one in ``k``, each carrying its group's time) with a note, so the
report is written in bounded time; the timeout below is a hang guard, not a timing assertion.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("pyinstrument")

from _profile_cli import profile_program  # noqa: E402

from perfkit.profiling.engines.pyinstrument_engine import MAX_TREE_FRAMES, thin_records  # noqa: E402

DEPTH = 10_000

# The work at the bottom is bounded by the clock, not by a count: under pyinstrument each
# sample of this stack costs more than the interval, so a counted loop crawls.
PROGRAM = f"""
import sys, time
sys.setrecursionlimit({DEPTH} + 5000)

def down(n):
    if n == 0:
        t = time.perf_counter()
        x = 0
        while time.perf_counter() - t < 1.0:
            x += sum(i * i for i in range(200))
        return x
    return down(n - 1) + 1

down({DEPTH})
"""


def test_pyinstrument_engine_profiles_a_10000_frame_recursion(tmp_path):
    data = profile_program(tmp_path, PROGRAM, "--cpu", "pyinstrument", name="deep.py")
    assert data["profile"]["sample_count"] > 0
    nodes = data["profile"]["threads"][0]["nodes"]
    depth = [0] * len(nodes)
    for i, n in enumerate(nodes):
        if n["parent"] >= 0:
            depth[i] = depth[n["parent"]] + 1
    assert max(depth) > DEPTH


CONVERT = f"""
import sys, time
sys.setrecursionlimit({DEPTH} + 5000)
from perfkit.profiling.engines.base import Collector
from perfkit.profiling.engines.pyinstrument_engine import MAX_TREE_FRAMES, PyinstrumentEngine

def down(n):
    if n == 0:
        t = time.perf_counter()
        while time.perf_counter() - t < 0.3:  # a few samples land deep, even when loaded
            pass
        return 0
    return down(n - 1) + 1

engine = PyinstrumentEngine(0.001)
engine.start()
down({DEPTH})
engine.stop()
session = engine.profiler.last_session
deep = [r for r in session.frame_records if len(r[0]) > {DEPTH}]
assert deep, "no deep sample"
# 400 samples of the 10 000-frame stack: 4 million frames, minutes of tree building unthinned
session.frame_records = [deep[i % len(deep)] for i in range(400)]
total = sum(t for _, t in session.frame_records)
collector = Collector()
engine.contribute(collector)
kept = sum(len(s) for s, _ in session.frame_records)
share = collector.threads[0].root.wall_s / total
print(collector.sample_count, kept <= MAX_TREE_FRAMES, round(share, 6))
print(any("every" in n and "th sample" in n for n in collector.notes))
"""


def test_pyinstrument_tree_of_many_deep_samples_is_built_from_a_bounded_share(tmp_path):
    res = subprocess.run(
        [sys.executable, "-c", CONVERT],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    count, bounded, share, noted = res.stdout.split()
    assert count == "400"  # the samples pyinstrument recorded, not the kept ones
    assert bounded == "True"
    assert float(share) == pytest.approx(1.0)  # every sample's time is in the tree
    assert noted == "True"


def test_thin_records_keeps_total_time_and_bounds_frames():
    stack = [f"f{i}" for i in range(1000)]
    records = [(stack, 0.01 * (i + 1)) for i in range(100)]  # 100 000 frames
    thinned, k = thin_records(records, 10_000)
    assert k == 10
    assert len(thinned) == 10
    assert sum(len(s) for s, _ in thinned) <= 10_000
    assert sum(t for _, t in thinned) == pytest.approx(sum(t for _, t in records))
    assert thinned[0] == (stack, pytest.approx(sum(0.01 * (i + 1) for i in range(10))))
    assert thinned[1][0] is records[10][0]


def test_thin_records_leaves_small_sessions_alone():
    records = [(["a", "b"], 0.5), (["a"], 0.25)]
    same, k = thin_records(records, MAX_TREE_FRAMES)
    assert k == 1 and same is records
    one = [(["x"] * 10, 1.0)]
    assert thin_records(one, 5) == (one, 1)  # a single sample cannot be thinned
