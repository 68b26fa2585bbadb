#!/usr/bin/env bash
# The prepared GPU check (benchmarks/gpu_check.py) with the repository's core on the path, the
# machine described first, and a hard stop at 9.5 minutes; results under ${1:-runs/gpu_check}.
set -u
cd "$(dirname "$0")/.."
OUT="${1:-runs/gpu_check}"
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt" 2>&1 || true
PYTHONPATH="packages/contrastkit/src${PYTHONPATH:+:$PYTHONPATH}" timeout 570 python3 benchmarks/gpu_check.py \
  --out "$OUT" "${@:2}" 2>&1 | tee "$OUT/log.txt"
exit "${PIPESTATUS[0]}"
