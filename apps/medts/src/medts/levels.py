"""``medts levels``: which COMET levels keep the class information on the demo's synthetic cohort?

Pretrains each variant for the demo's budget (reduced encoder 64 / 32 / depth 6, weight
averaging as official) and scores the standardized logistic-regression probe on the test
patients, mean ± sample std over seeds; writes ``table.csv`` / ``table.md`` and ``metrics.json``. ``random`` is the same encoder without pretraining.

    medts levels --seeds "[0, 1, 2]" --threads 1
"""

from __future__ import annotations

import time
from functools import partial
from typing import Literal

import torch
from contrastkit.train import (
    TrainerOptions,
    announce_run,
    failure_marked,
    is_rank_zero,
    markdown_table,
    open_run,
    seed_table,
    write_metrics,
    write_table,
)
from contrastkit.train.units import StudyUnits

from medts.baselines import PRETRAINING
from medts.demo import demo_data
from medts.evaluate import run_linear_probe
from medts.method import COMET
from medts.plots import write_figures
from medts.study import pretrain

# name -> (label, method, lambda_patient, lambda_trial); method None = no pretraining
VARIANTS = {
    "random": ("random (no pretraining)", None, 0.0, 0.0),
    "comet": ("comet (P + T + S + O)", "comet", 0.25, 0.25),
    "comet_no_patient": ("comet without patient (T + S + O)", "comet", 0.0, 0.25),
    "comet_no_trial": ("comet without trial (P + S + O)", "comet", 0.25, 0.0),
    "ts2vec": ("ts2vec (S + O)", "ts2vec", 0.0, 0.0),
    "simclr": ("simclr", "simclr", 0.0, 0.0),
}
Variant = Literal["random", "comet", "comet_no_patient", "comet_no_trial", "ts2vec", "simclr"]
ENCODER = {"output_dims": 64, "hidden_dims": 32, "depth": 6}


def probe(variant: str, dm, seed: int, max_epochs: int, run_dir, progress: bool,
          options: TrainerOptions | None = None) -> dict[str, float]:
    """Linear-probe scores of one variant pretrained on ``dm`` (the demo cohort of ``seed``); the
    pretraining run and its figures go to ``run_dir``."""
    label, method, lp, lt = VARIANTS[variant]
    if method is None:
        torch.manual_seed(seed)
        module = COMET(dm.n_channels, **ENCODER)
    else:
        kw = {"lambda_patient": lp, "lambda_trial": lt} if method == "comet" else {}
        module = pretrain(dm, partial(PRETRAINING[method], **ENCODER, **kw), seed, run_dir / "pretrain", max_epochs,
                          progress, options=options)
        if is_rank_zero():
            write_figures(run_dir / "plots", run_dir / "pretrain", module.averaged_encoder(), dm.parts["test"],
                          f"{label}, seed {seed}")
    return run_linear_probe(lambda x: module.embed(torch.from_numpy(x)), dm.parts, seed)


def levels_table(results: dict[str, list[dict[str, float]]]) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)``: a row per variant, sample accuracy and AUROC in %, mean ± sample std
    over seeds (the value alone for one) and ``n`` (:func:`contrastkit.train.seed_table`)."""
    values = {VARIANTS[v][0]: {k: [100 * r[k] for r in runs] for k in ("sample/accuracy", "sample/auroc")}
              for v, runs in results.items()}
    return seed_table(values, ("sample/accuracy", "sample/auroc"), digits=1, row_name="variant")


def levels(seeds: list[int] = (0, 1, 2), max_epochs: int = 20, variants: list[Variant] | None = None,
           name: str = "levels", runs_root: str = "runs", resume: bool = False, progress: bool = False,
           trainer: TrainerOptions | None = None) -> dict:
    """Linear probe of COMET without each id level, TS2Vec, SimCLR and a random encoder on the demo cohort.

    Args:
        seeds: each seed draws the cohort, the split, the weights and the batches.
        max_epochs: pretraining epochs per variant.
        variants: which rows (default: all of random, comet, comet_no_patient, comet_no_trial, ts2vec, simclr).
        name / runs_root: the run directory ``<runs_root>/medts/<name>/version_K``.
        resume: continue the newest run of that name (finished variant x seed pairs are kept).
        progress: show progress bars.
        trainer: accelerator, devices, strategy... of every pretraining (default: one device).

    ``units.json`` records the finished variant x seed pairs (:class:`contrastkit.train.units.StudyUnits`);
    ``--resume`` finds the run by its pretraining checkpoints and skips them.
    """
    variants = list(variants or VARIANTS)
    run_dir = open_run(runs_root, "medts", name, {"seeds": list(seeds), "max_epochs": max_epochs, "variants": variants,
                                                  "encoder": ENCODER, "progress": progress}, resume=resume)
    with failure_marked(run_dir):
        units = StudyUnits(run_dir, resume=resume)
        cohorts = {s: demo_data(seed=s) for s in seeds}  # built once, shared by the variants
        for variant in variants:
            t0 = time.time()
            for s in seeds:
                key = f"{variant}/seed{s}"
                units.run(key, partial(probe, variant, cohorts[s], s, max_epochs, run_dir / key, progress, trainer))
            print(" | ".join(levels_table({variant: [units.results[f"{variant}/seed{s}"] for s in seeds]})[1][0]),
                  f"({time.time() - t0:.0f} s)", flush=True)
        results = {v: [units.results[f"{v}/seed{s}"] for s in seeds] for v in variants}
        header, rows = levels_table(results)
        if is_rank_zero():
            write_table(run_dir / "table", header, rows)
        write_metrics(run_dir, {"per_seed": results})
    print(markdown_table(header, rows))
    announce_run(run_dir)
    return results
