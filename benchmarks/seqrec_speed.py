"""Speed of one training batch of SASRec, CL4SRec and MCLRec on the same Beauty batches, and of
full-ranking evaluation of every Beauty user.

    .venv/bin/python benchmarks/seqrec_speed.py --threads 2 [--write-readme]

Each method runs ``--steps`` timed batches (after ``--warmup``) on the same ``--batches`` training
batches of ``--batch-size`` rows, from the same initial weights, the methods taking turns batch by
batch (a shared CPU's load then weighs on all alike); the median step time is reported. The floor of each step is its
count of encoder passes: ``F`` passes with a backward (each costs one SASRec encoder
forward+backward of ``B`` rows, ``t_fb``) and ``f`` forward-only passes (``t_f``), both measured
in the same run; ``floor = F t_fb + f t_f`` (the item-softmax and the losses come on top).

| step | F (fwd+bwd of B rows) | f (fwd only) |
| SASRec | 1 | 0 |
| CL4SRec | 3 (sequence + 2 views, one 3B batch) | 0 |
| MCLRec, 3 updates (shared step-2/3 forward) | 6 | 0 |
| MCLRec, 3 updates, official recomputation | 6 | 2 |
| MCLRec, single update (Algorithm 1) | 3 | 2 |

Targets: MCLRec <= 7x SASRec, single update <= 4.5x, MCLRec batch (256, Beauty) < 1.3 s,
evaluation of all Beauty users < 10 s. Official code on this CPU: 1.87 s per MCLRec batch.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from pathlib import Path

import torch
from contrastkit.train import set_threads
from seqrec.baselines import CL4SRec, SASRec
from seqrec.data import SeqRecDataModule
from seqrec.evaluate import evaluate_scores
from seqrec.method import MCLRec

README = Path(__file__).resolve().parents[1] / "apps" / "seqrec" / "README.md"
BEGIN, END = "<!-- seqrec_speed:begin -->", "<!-- seqrec_speed:end -->"


def timed_round_robin(fns: dict, batches, warmup: int, steps: int) -> dict[str, float]:
    """Median seconds of each function, calling them in turn on the same batch, so that a shared,
    busy CPU slows every method alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for i in range(warmup + steps):
        batch = batches[i % len(batches)]
        for name, fn in fns.items():
            t = time.perf_counter()
            fn(batch)
            if i >= warmup:
                times[name].append(time.perf_counter() - t)
    return {name: statistics.median(v) for name, v in times.items()}


def auto_step(module):
    opt = module.configure_optimizers()

    def step(batch):
        opt.zero_grad()
        module.compute_losses(batch)["loss"].backward()
        opt.step()

    return step


def meta_step(module):
    enc, aug = module.configure_optimizers()
    return lambda batch: module.meta_step(batch, enc, aug)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="Beauty")
    p.add_argument("--train-form", default="shifted", choices=["shifted", "prefix"])
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--batches", type=int, default=8)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--write-readme", action="store_true")
    args = p.parse_args()
    set_threads(args.threads)
    dev = torch.device(args.device)

    dm = SeqRecDataModule(args.dataset, train_form=args.train_form, batch_size=args.batch_size, seed=0)
    split = dm.prepare_split()
    loader = iter(dm.train_dataloader())
    batches = [{k: v.to(dev) for k, v in next(loader).items()} for _ in range(args.batches)]
    n_items = split.num_items

    def fresh(cls, **kw):
        torch.manual_seed(0)
        return cls(n_items, **kw).to(dev).train()

    sasrec = fresh(SASRec)
    enc = sasrec.encoder

    def fwd_bwd(batch):
        enc(batch["input"]).sum().backward()

    def fwd(batch):
        with torch.no_grad():
            enc(batch["input"])

    rows = [
        ("SASRec", auto_step(sasrec), 1, 0),
        ("CL4SRec", auto_step(fresh(CL4SRec)), 3, 0),
        ("MCLRec, 3 updates", meta_step(fresh(MCLRec)), 6, 0),
        ("MCLRec, 3 updates, official recomputation", meta_step(fresh(MCLRec, reuse_forward=False)), 6, 2),
        ("MCLRec, single update", meta_step(fresh(MCLRec, meta_loop="single")), 3, 2),
    ]
    fns = {"fwd_bwd": fwd_bwd, "fwd": fwd, **{name: step for name, step, _, _ in rows}}
    med = timed_round_robin(fns, batches, args.warmup, args.steps)
    t_fb, t_f = med["fwd_bwd"], med["fwd"]
    results = [{"step": name, "seconds": med[name], "floor_seconds": n_fb * t_fb + n_f * t_f,
                "passes": f"{n_fb} + {n_f} fwd"} for name, _, n_fb, n_f in rows]
    base = results[0]["seconds"]
    base_floor = results[0]["floor_seconds"]

    model = fresh(SASRec).eval()
    t0 = time.perf_counter()
    metrics = evaluate_scores(model.scores, dm.test_dataloader(), device=dev)
    eval_seconds = time.perf_counter() - t0
    n_users = split.test.targets.shape[0]

    lines = [
        (f"{args.dataset}, batch {args.batch_size} ({args.train_form} form), {args.threads} threads, {dev}; "
         f"median of {args.steps} steps; encoder fwd+bwd {t_fb * 1e3:.1f} ms, fwd {t_f * 1e3:.1f} ms"),
        "",
        "| step | seconds | x SASRec | encoder passes (fwd+bwd + fwd) | floor x SASRec floor |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r['step']} | {r['seconds']:.3f} | {r['seconds'] / base:.2f} | {r['passes']} | "
                     f"{r['floor_seconds'] / base_floor:.2f} |")
    lines += ["", (f"Full-ranking test evaluation of all {n_users:,} users: {eval_seconds:.2f} s "
                   f"(HR@20 of an untrained model {metrics['HR@20']:.4f}).")]
    table = "\n".join(lines)
    print(table)
    print(json.dumps({"results": results, "eval_seconds": eval_seconds, "t_fb": t_fb, "t_f": t_f}, indent=1))
    if args.write_readme:
        text = README.read_text()
        command = f"`.venv/bin/python benchmarks/seqrec_speed.py --threads {args.threads} --write-readme`"
        block = f"{BEGIN}\n{command}\n\n{table}\n{END}"
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.DOTALL)
        README.write_text(text)


if __name__ == "__main__":
    main()
