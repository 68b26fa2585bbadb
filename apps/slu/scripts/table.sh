#!/bin/bash
# The README's synthetic FSC-6 table (3 seeds, 10 rows): two studies side by side, one thread each,
# about an hour on two idle cores. Resumable: run it again and each study continues from its last
# finished task / epoch. Run from the repository root; logs go to runs/slu_table_<name>.log.
set -u
study() { name=$1; shift
  if compgen -G "runs/slu/$name/version_0/checkpoints/*.ckpt" > /dev/null \
     || compgen -G "runs/slu/$name/version_0/tasks/*/checkpoints/last.ckpt" > /dev/null; then r=--resume; else r=; fi
  slu study --config apps/slu/configs/synthetic_fsc6.yaml --name "$name" --threads 1 $r "$@" > "runs/slu_table_$name.log" 2>&1
  echo "$name exit $?"; }
mkdir -p runs
( study synthetic_fsc6_a --methods '[joint, finetune, er, er_kd, er_skd]' ) &
( study synthetic_fsc6_b --methods '[nspt, ntpt, coconut, coconut_skd]'
  study synthetic_fsc6_er2 --methods '[er]' --train.memory_per_class 15 ) &
wait
