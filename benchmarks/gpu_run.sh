#!/usr/bin/env bash
# Run every case's CUDA form on a GPU machine and leave the results file in $OUT (or ./reports/bench).
#   benchmarks/gpu_run.sh COMMIT [extra perfkit bench args]
# (carry .gpu_minilm, made here by `python benchmarks/pack_minilm.py .gpu_minilm`, for MiniLM's cases)
# The machine's own python3 (with CUDA torch) runs the checkout through PYTHONPATH; no install.
set -uo pipefail
commit=${1:?usage: gpu_run.sh COMMIT [args]}
shift
out=${OUT:-reports/bench}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'
export PYTHONPATH=$PWD PERFKIT_COMMIT=$commit PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
# MiniLM travels as the fp16 pack (benchmarks/pack_minilm.py .gpu_minilm, carried): its installed
# package is 90 MB, over the device tool's 64 MiB.
[ -f .gpu_minilm/config.json ] && export PERFKIT_MINILM_DIR=$PWD/.gpu_minilm
stamp=$(date -u +%Y%m%dT%H%M%S)
python3 -m perfkit bench --device cuda --no-progress --out "$out/$stamp-cuda-${commit:0:8}.json" "$@"
echo "exit $?"
