#!/usr/bin/env bash
# The README's results table: every method x seed of the EEG configs as its own `medts study` run
# (one thread per job), then merged into mean +- std by `medts table`. Runs go to $OUT/runs (an
# interrupted job resumes with --resume). From the repo root:
#   OUT=runs/medts/table_out bash apps/medts/scripts/results_table.sh
# Environment: CONFIGS (default "eeg_smni eeg_arithmetic"), METHODS (default "comet ts2vec simclr
# supervised"), SEEDS (default "0 1 2"), PARALLEL=1 runs every job at once (default: the configs in
# parallel, the jobs of a config one after another), EXTRA (more study flags, e.g. a smaller encoder
# "--comet.depth 4"), PRETRAIN_EPOCHS, PRETRAIN_MINUTES, FINETUNE_EPOCHS, MEDTS (the medts command).
set -u
OUT=${OUT:-runs/medts/table_out}
JOB_TIMEOUT=${JOB_TIMEOUT:-3600}
CONFIGS=${CONFIGS:-eeg_smni eeg_arithmetic}
METHODS=${METHODS:-comet ts2vec simclr supervised}
SEEDS=${SEEDS:-0 1 2}
MEDTS=${MEDTS:-medts}
export OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
mkdir -p "$OUT/logs"
BUDGET=(--protocol.progress false --protocol.pretrain_epochs ${PRETRAIN_EPOCHS:-20}
        --protocol.pretrain_max_minutes ${PRETRAIN_MINUTES:-2.5} --protocol.finetune_epochs ${FINETUNE_EPOCHS:-10}
        --protocol.val_every 5 ${EXTRA:-})
one() {  # config method seed
  local name=$1__$2__$3
  [ -f "$OUT/logs/$name.done" ] && return  # finished before an interruption
  local resume=false
  [ -d "$OUT/runs/medts/$name" ] && resume=true
  timeout "$JOB_TIMEOUT" $MEDTS study --config "apps/medts/configs/$1.yaml" --name $name \
    --protocol.methods "[$2]" --protocol.seeds "[$3]" --runs_root "$OUT/runs" --resume $resume "${BUDGET[@]}" \
    > "$OUT/logs/$name.log" 2>&1 && touch "$OUT/logs/$name.done"
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
runs=$(ls -d "$OUT"/runs/medts/*__*__*/version_* | sort -V | paste -sd, -)
$MEDTS table "[$runs]" --out "$OUT/table.md" --runs_root "$OUT/runs"
