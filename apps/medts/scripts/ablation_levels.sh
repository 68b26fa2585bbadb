#!/usr/bin/env bash
# COMET with one level switched off, on one EEG config: linear probe and 100 % fine-tuning per seed,
# 20 pretraining epochs (what COMET reached in the results table's 5 minutes on eeg_smni).
# One job at a time, one thread. From the repo root:
#   OUT=runs/medts/ablation CONFIG=eeg_smni bash apps/medts/scripts/ablation_levels.sh
set -u
OUT=${OUT:-runs/medts/ablation}
CONFIG=${CONFIG:-eeg_smni}
PY=${PY:-python3}
export OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
BUDGET=(--set protocol.progress=false --set protocol.pretrain_epochs=${PRETRAIN_EPOCHS:-20}
        --set protocol.pretrain_max_minutes=${PRETRAIN_MINUTES:-15} --set protocol.finetune_epochs=${FINETUNE_EPOCHS:-20}
        --set protocol.finetune_lr=0.001 --set protocol.val_every=5 --set "protocol.fractions=[1.0]")
for s in ${SEEDS:-0 1 2}; do
  for lvl in patient trial; do
    dir="$OUT/without_$lvl"
    mkdir -p "$dir/jobs" "$dir/logs"
    [ -f "$dir/jobs/$CONFIG.$s.done" ] && continue  # finished before an interruption
    $PY -m medts.table job "apps/medts/configs/$CONFIG.yaml" --method comet --seed $s --out "$dir/jobs" \
      --runs-root "$dir/runs" "${BUDGET[@]}" --set model.lambda_$lvl=0 > "$dir/logs/$CONFIG-$s.log" 2>&1 \
      && touch "$dir/jobs/$CONFIG.$s.done"
  done
done
for lvl in patient trial; do $PY -m medts.table merge "$OUT/without_$lvl/jobs" --out "$OUT/without_$lvl/table.md"; done
