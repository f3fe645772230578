"""Benchmark case: the cost of profiling a program with ``perfkit profile`` (default mode).

Baseline: the workload under plain ``python`` (a subprocess); candidate: the same command under
``python -m perfkit profile`` (a subprocess, report written). The check is that profiling did not
change what the program computed: its stdout is byte-identical. The ratio of the two medians is
the profiler's whole-process overhead (target: <= 1.10x).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from perfkit.bench.case import Verdict, case
from perfkit.profiling.overhead import WORKLOADS, examples_dir


@case(
    "profiler_overhead_default",
    "profiling",
    params={"workload": list(WORKLOADS), "scale": [1.0]},
    quick_params={"workload": ["call-heavy"], "scale": [0.02]},
    baseline_label="python",
    candidate_label="perfkit profile",
)
class ProfilerOverhead:
    """Whole-process time of a workload under `perfkit profile` vs plain python."""

    def make_inputs(self, params: dict[str, Any]) -> dict[str, Any]:
        script = WORKLOADS[params["workload"]]
        return {"script": str(examples_dir() / script), "args": ["--scale", str(params["scale"])]}

    def _run(self, cmd: list[str]) -> str:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        res = subprocess.run(
            cmd, capture_output=True, text=True, check=False, env=env, stdin=subprocess.DEVNULL
        )
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {res.returncode}: {res.stderr[-500:]}")
        return res.stdout

    def baseline(self, inputs: dict[str, Any]) -> str:
        return self._run([sys.executable, inputs["script"], *inputs["args"]])

    def candidate(self, inputs: dict[str, Any]) -> str:
        with tempfile.TemporaryDirectory(prefix="perfkit-case-") as tmp:
            out = self._run(
                [
                    sys.executable,
                    "-m",
                    "perfkit",
                    "profile",
                    "--quiet",
                    "--out",
                    tmp,
                    inputs["script"],
                    *inputs["args"],
                ]
            )
            if not (Path(tmp) / "profile.json").exists():
                raise RuntimeError("perfkit profile wrote no profile.json")
        return out

    def check(self, base_out: str, cand_out: str) -> Verdict:
        same = base_out == cand_out
        return Verdict(
            ok=same,
            detail="program stdout byte-identical with and without profiling"
            if same
            else f"stdout differs: {base_out[:60]!r} vs {cand_out[:60]!r}",
            agreement=1.0 if same else 0.0,
            figures={
                "stdout_bytes": float(len(base_out.encode())),
                "values_lost": 0.0 if same else 1.0,
            },
        )
