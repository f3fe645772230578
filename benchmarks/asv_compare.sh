#!/usr/bin/env bash
# Regression gate across commits with asv, for an `existing` environment:
#   benchmarks/asv_compare.sh BASE [HEAD] [FACTOR]
# asv's `continuous` and commit ranges refuse an existing environment, so each commit is checked
# out in a worktree, put first on PYTHONPATH, and run with --set-commit-hash; then `asv compare`
# (which always exits 0) is read: a time_ or track_peak_bytes_ row marked '+' is worse by more
# than FACTOR and fails the gate (exit 3; 1 when asv itself fails). Peak memory comes from
# track_peak_bytes_* (per-allocator peak of one call), never peakmem_* (whole-process RSS).
set -euo pipefail
base=${1:?usage: asv_compare.sh BASE [HEAD] [FACTOR]}
head=${2:-HEAD}
factor=${3:-1.10}
root=$(git rev-parse --show-toplevel)
cd "$root"
py="$root/.venv/bin/python"
asv="$root/.venv/bin/asv"
machine=$(hostname)
"$asv" machine --yes --machine "$machine" >/dev/null
shas=()
for ref in "$base" "$head"; do
  sha=$(git rev-parse --verify "$ref^{commit}")
  shas+=("$sha")
  wt="$root/.asv/worktrees/$sha"
  [ -d "$wt" ] || git worktree add --detach --force "$wt" "$sha" >/dev/null
  echo "asv-compare: running benchmarks of ${sha:0:10} ($ref)" >&2
  PYTHONPATH="$wt" "$asv" run -E "existing:$py" --set-commit-hash "$sha" --machine "$machine" \
    --show-stderr ${ASV_RUN_ARGS:-}
done
out=$("$asv" compare --factor "$factor" --split --machine "$machine" "${shas[0]}" "${shas[1]}")
echo "$out"
# track_speedup / track_memory_ratio are higher-is-better, which asv cannot express: gate on the
# times and the per-allocator peak bytes (lower is better) only.
if grep -E '^\| *\+|^ *\+ ' <<<"$out" | grep -qE '\.(time_|track_peak_bytes_)'; then
  echo "asv-compare: worse by more than ${factor}x in ${shas[1]:0:10} (rows marked +)" >&2
  exit 3
fi
echo "asv-compare: no benchmark slower by more than ${factor}x" >&2
