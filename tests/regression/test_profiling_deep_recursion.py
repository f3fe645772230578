"""Issue 12: a stack of 10 000 frames profiles and renders in every format.

perfkit raised its own ``RecursionError`` (``model._clean_floats``) on stacks deeper than ~240
frames, exited 1 and wrote no report; ``--cpu tracing`` and ``perfkit.profile().save()`` failed
the same way. Every tree algorithm is iterative now and ``profile.json`` stores trees flat.
"""

from __future__ import annotations

import json
import marshal
import subprocess
import sys
from pathlib import Path

import pytest

DEPTH = 10_000

PROGRAM = f"""
import sys
sys.setrecursionlimit({DEPTH} + 5000)

def down(n):
    if n == 0:
        return sum(i * i for i in range(3_000_000))  # work at the bottom: samples land deep
    return down(n - 1) + 1

down({DEPTH})
"""


def _max_depth(nodes: list[dict]) -> int:
    depth = [0] * len(nodes)
    for i, n in enumerate(nodes):
        if n["parent"] >= 0:
            depth[i] = depth[n["parent"]] + 1
    return max(depth)


def check_outputs(out: Path, tracing: bool) -> None:
    """Every file format is there, readable, and holds the deep tree."""
    from perfkit.profiling.model import Profile

    data = json.loads((out / "profile.json").read_text())
    assert max(_max_depth(t["nodes"]) for t in data["profile"]["threads"]) > DEPTH
    prof = Profile.load(out / "profile.json")
    deepest = max(d for t in prof.threads for d, _ in t.root.walk())
    assert deepest > DEPTH
    assert prof.threads == Profile.from_dict(prof.to_dict()).threads  # iterative equality
    doc = json.loads((out / "speedscope.json").read_text())
    events = doc["profiles"][0]["events"]
    assert sum(e["type"] == "O" for e in events) > DEPTH
    html = (out / "index.html").read_text()
    assert f"depth {DEPTH}" in html and html.rstrip().endswith("</html>")
    if tracing:
        stats = marshal.loads((out / "profile.pstats").read_bytes())
        assert any(key[2] == "down" and v[1] > DEPTH for key, v in stats.items())


@pytest.mark.parametrize("cpu", ["sampling", "tracing"])
def test_cli_profiles_a_10000_frame_recursion(tmp_path, cpu):
    script = tmp_path / "deep.py"
    script.write_text(PROGRAM)
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "perfkit",
            "profile",
            "--cpu",
            cpu,
            "--format",
            "all",
            "--out",
            "out",
            str(script),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Traceback" not in res.stderr
    assert "Top functions by own time" in res.stderr  # the terminal summary rendered
    check_outputs(tmp_path / "out", tracing=cpu == "tracing")


def test_api_profile_save_of_a_10000_frame_recursion(tmp_path):
    import perfkit

    def down(n: int) -> int:
        if n == 0:
            return sum(i * i for i in range(3_000_000))
        return down(n - 1) + 1

    old = sys.getrecursionlimit()
    sys.setrecursionlimit(DEPTH + 5000)
    try:
        # 1 ms sampling (not the 10 ms default) so a loaded machine still samples the deep work
        with perfkit.profile(interval_s=0.001) as p:
            down(DEPTH)
    finally:
        sys.setrecursionlimit(old)
    written = p.save(tmp_path / "api", formats=["json", "html", "speedscope", "pstats"])
    assert set(written) == {"json", "html", "speedscope", "pstats"}
    check_outputs(tmp_path / "api", tracing=False)
