"""Cost of an epoch in seqrec's two training forms, measured side by side in one run.

    .venv/bin/python benchmarks/seqrec_forms.py --threads 1

``shifted``: one row per user, the next-item loss at every position (88 batches of 256 on
Beauty); ``prefix``: one row per prefix, the loss at its last position (RecBole's and the
official MCLRec's layout, 514 batches). For SASRec and MCLRec (three updates per batch) the
script times ``--steps`` training batches of each form from the same initial weights, the four
(method, form) steps taking turns batch by batch so that a drifting machine load weighs on all
alike, and one full-ranking validation of every user. Minutes per epoch =
``batches per epoch x median seconds per batch + validation``; docs/parity.md uses them to draw
the two forms' validation curves against training time (``scripts/parity_curves.py
--epoch-minutes``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import torch
from contrastkit.train import set_threads
from seqrec.baselines import SASRec
from seqrec.data import SeqRecDataModule
from seqrec.evaluate import evaluate_scores
from seqrec.method import MCLRec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seqrec_speed import auto_step, meta_step, timed_round_robin

FORMS = ("shifted", "prefix")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="Beauty")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--batches", type=int, default=8, help="distinct batches per form, cycled")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    set_threads(args.threads)

    modules = {form: SeqRecDataModule(args.dataset, train_form=form, batch_size=args.batch_size, seed=0)
               for form in FORMS}
    loaders = {form: dm.train_dataloader() for form, dm in modules.items()}
    batches_per_epoch = {form: len(loader) for form, loader in loaders.items()}
    samples = {form: list(itertools.islice(loader, args.batches)) for form, loader in loaders.items()}
    n_items = modules["prefix"].num_items

    def fresh(cls):
        torch.manual_seed(0)
        return cls(n_items).train()

    def on_form(step, form):  # timed_round_robin hands every step the same item: one batch per form
        return lambda pair: step(pair[form])

    fns = {}
    for form in FORMS:
        fns[("SASRec", form)] = on_form(auto_step(fresh(SASRec)), form)
        fns[("MCLRec", form)] = on_form(meta_step(fresh(MCLRec)), form)
    pairs = [{form: samples[form][i] for form in FORMS} for i in range(args.batches)]
    med = timed_round_robin(fns, pairs, args.warmup, args.steps)

    model = fresh(SASRec).eval()
    t0 = time.perf_counter()
    evaluate_scores(model.scores, modules["prefix"].val_dataloader())
    validation_s = time.perf_counter() - t0

    header = (f"{args.dataset}, batch {args.batch_size}, {args.threads} thread(s); median of {args.steps} "
              f"batches; validation of all users {validation_s:.1f} s")
    lines = [header, "",
             "| method | form | batches / epoch | s / batch | min / epoch | prefix epoch / shifted epoch |",
             "|---|---|---|---|---|---|"]
    out = {}
    for method in ("SASRec", "MCLRec"):
        minutes = {form: (batches_per_epoch[form] * med[(method, form)] + validation_s) / 60 for form in FORMS}
        for form in FORMS:
            out[f"{method}/{form}"] = {"s_per_batch": med[(method, form)], "min_per_epoch": minutes[form]}
            ratio = f"{minutes['prefix'] / minutes['shifted']:.2f}" if form == "prefix" else ""
            lines.append(f"| {method} | {form} | {batches_per_epoch[form]} | {med[(method, form)]:.3f} | "
                         f"{minutes[form]:.2f} | {ratio} |")
    print("\n".join(lines))
    print(json.dumps({"batches_per_epoch": batches_per_epoch, "validation_s": validation_s, **out}, indent=1))


if __name__ == "__main__":
    main()
