#!/usr/bin/env bash
# The README's results table: every method x seed of the EEG configs, one thread per job, then
# merged into mean +- std. Checkpoints and logs go to $OUT/runs (an interrupted run resumes).
# Needs the caches under runs/medts/cache (`medts prepare apps/medts/configs/eeg_smni.yaml`,
# same for eeg_arithmetic). From the repo root:
#   OUT=runs/medts/table_out bash apps/medts/scripts/results_table.sh
# Environment: CONFIGS (default "eeg_smni eeg_arithmetic"), METHODS (default "comet ts2vec simclr
# supervised"), SEEDS (default "0 1 2"), PARALLEL=1 runs every job at once
# (default: the configs in parallel, the jobs of a config one after another), EXTRA (more
# --set overrides, e.g. a smaller encoder), PRETRAIN_EPOCHS, PRETRAIN_MINUTES, FINETUNE_EPOCHS.
set -u
OUT=${OUT:-runs/medts/table_out}
JOB_TIMEOUT=${JOB_TIMEOUT:-3600}
CONFIGS=${CONFIGS:-eeg_smni eeg_arithmetic}
METHODS=${METHODS:-comet ts2vec simclr supervised}
SEEDS=${SEEDS:-0 1 2}
export PYTHONPATH=$PWD/packages/contrastkit/src:$PWD/apps/medts/src${PYTHONPATH:+:$PYTHONPATH}
export OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
PY=${PY:-python3}
mkdir -p "$OUT/jobs" "$OUT/logs"
BUDGET=(--set protocol.progress=false --set protocol.pretrain_epochs=${PRETRAIN_EPOCHS:-20}
        --set protocol.pretrain_max_minutes=${PRETRAIN_MINUTES:-2.5} --set protocol.finetune_epochs=${FINETUNE_EPOCHS:-10}
        --set protocol.val_every=5 ${EXTRA:-})
one() {  # config method seed
  [ -f "$OUT/jobs/$1__$2__$3.done" ] && return  # finished before an interruption
  timeout "$JOB_TIMEOUT" $PY -m medts.table job "apps/medts/configs/$1.yaml" --method $2 --seed $3 \
    --out "$OUT/jobs" --runs-root "$OUT/runs" "${BUDGET[@]}" > "$OUT/logs/$1-$2-$3.log" 2>&1 && touch "$OUT/jobs/$1__$2__$3.done"
}
for cfg in $CONFIGS; do
  (
    for s in $SEEDS; do
      for m in $METHODS; do
        if [ "${PARALLEL:-0}" = 1 ]; then one $cfg $m $s & else one $cfg $m $s; fi
      done
    done
    wait
  ) &
done
wait
$PY -m medts.table merge "$OUT/jobs" --out "$OUT/table.md"
