#!/usr/bin/env bash
# perfkit's regression gate for CI and pre-push hooks.
#
#   examples/ci/bench_gate.sh BASE_REF [gate options...]      e.g.  bench_gate.sh origin/main --group playbook
#
# Runs the base commit (a temporary git worktree) and the working tree on THIS runner, in
# alternating rounds, then compares them (t test on per-round log ratios, Holm-adjusted, + threshold;
# cases the first pass does not settle get new rounds). Writes the markdown table to
# $PERFKIT_GATE_OUT/summary.md (default perfkit-gate/) and, on GitHub Actions, to the job summary.
# Exit codes: 0 no regression, 1 a check failed (wrong answer), 3 a significant regression, 2 usage.
set -uo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 BASE_REF [python -m perfkit.bench.gate options...]" >&2
  exit 2
fi
base="$1"; shift
out="${PERFKIT_GATE_OUT:-perfkit-gate}"
python="${PYTHON:-python}"
mkdir -p "$out"

"$python" -m perfkit.bench.gate --base "$base" --out-dir "$out" "$@" | tee "$out/gate.txt"
rc=${PIPESTATUS[0]}

if [ -f "$out/candidate.json" ]; then
  "$python" - "$out" "$rc" <<'PY'
import sys
from pathlib import Path

from perfkit.bench.results import load_results
from perfkit.render.bench_table import to_markdown

out, rc = Path(sys.argv[1]), int(sys.argv[2])
verdict = {0: "no regression", 1: "a check FAILED", 3: "REGRESSION"}.get(rc, f"exit {rc}")
gate = (out / "gate.txt").read_text(encoding="utf-8").strip()
text = (
    f"## perfkit bench gate: {verdict}\n\n"
    f"```text\n{gate}\n```\n\n### Candidate\n\n{to_markdown(load_results(out / 'candidate.json'))}\n"
)
(out / "summary.md").write_text(text, encoding="utf-8")
PY
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$out/summary.md" >> "$GITHUB_STEP_SUMMARY"; fi
fi
exit "$rc"
