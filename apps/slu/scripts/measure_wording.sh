#!/bin/bash
# What helps unseen wording for joint (README, "What helps unseen wording"): one short run per
# setting on the synthetic FSC-like set's first 12 intents in one task, 40 epochs. Run from the
# repository root; results in runs/slu_measure/slu/<setting>/version_0/metrics.json.
COMMON="--data.dataset synthetic_fsc --data.n_tasks 1 --data.batch_size 32 --data.synthetic.train_speakers 12
 --data.synthetic.test_speakers 4 --data.synthetic.phrasings 5 --data.synthetic.max_classes 12 --model.d_model 96
 --model.encoder_layers 2 --model.ff 192 --train.max_epochs 40 --train.lr 0.002 --method.name joint
 --trainer.accelerator cpu --threads 1 --runs_root runs/slu_measure"
run() { name=$1; shift; [ -f "runs/slu_measure/slu/$name/version_0/metrics.json" ] && return
  slu fit $COMMON --name "$name" "$@" | tail -3; }
run base --data.vocab_size 150 --model.decoder_layers 1
run word_dropout --data.vocab_size 150 --model.decoder_layers 1 --train.word_dropout 0.3
run chars --data.vocab_size 0 --model.decoder_layers 1
run decoder2 --data.vocab_size 150 --model.decoder_layers 2
run base_seed1 --data.vocab_size 150 --model.decoder_layers 1 --train.seed 1
run decoder2_seed1 --data.vocab_size 150 --model.decoder_layers 2 --train.seed 1
run decoder3 --data.vocab_size 150 --model.decoder_layers 3
