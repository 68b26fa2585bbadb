"""Linear probe on the demo's synthetic cohort: which COMET levels keep the class information?

Pretrains each variant for the demo's budget (reduced encoder 32 / 64 / depth 6, 20 epochs,
weight averaging as official) and scores the standardized logistic-regression probe on the
test patients, mean ± std over seeds. ``random`` is the same encoder without pretraining.

    OMP_NUM_THREADS=1 .venv/bin/python apps/medts/scripts/synthetic_levels.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from functools import partial

import torch
from medts.baselines import PRETRAINING
from medts.demo import demo_data
from medts.evaluate import mean_std, run_linear_probe
from medts.method import COMET
from medts.study import pretrain

# name -> (objective, lambda_patient, lambda_trial)
VARIANTS = {
    "random (no pretraining)": (None, 0.0, 0.0),
    "comet (P + T + S + O)": ("comet", 0.25, 0.25),
    "comet without patient (T + S + O)": ("comet", 0.0, 0.25),
    "comet without trial (P + S + O)": ("comet", 0.25, 0.0),
    "ts2vec (S + O)": ("ts2vec", 0.0, 0.0),
    "simclr": ("simclr", 0.0, 0.0),
}


def probe(variant: str, dm, seed: int, epochs: int, work: str) -> dict[str, float]:
    """Linear-probe scores of one variant pretrained on ``dm`` (the demo cohort of ``seed``)."""
    objective, lp, lt = VARIANTS[variant]
    if objective is None:
        torch.manual_seed(seed)
        module = COMET(dm.n_channels, 64, 32, 6)
    else:
        kw = {"lambda_patient": lp, "lambda_trial": lt} if objective == "comet" else {}
        model = partial(PRETRAINING[objective], output_dims=64, hidden_dims=32, depth=6, **kw)
        module = pretrain(dm, model, seed, f"{work}/{objective}_{lp}_{lt}_{seed}", epochs, progress=False)
    return run_linear_probe(lambda x: module.embed(torch.from_numpy(x)), dm.parts, seed)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--out", default=None, help="also write the results as JSON here")
    a = p.parse_args()
    torch.set_num_threads(1)
    rows, raw = [], {}
    with tempfile.TemporaryDirectory() as work:
        cohorts = {s: demo_data(seed=s) for s in a.seeds}  # built once, shared by the variants
        for variant in VARIANTS:
            t0 = time.time()
            runs = [probe(variant, cohorts[s], s, a.epochs, work) for s in a.seeds]
            raw[variant] = runs
            (acc, acc_sd), (auc, auc_sd) = (mean_std(runs)[k] for k in ("sample/accuracy", "sample/auroc"))
            rows.append(f"| {variant} | {100 * acc:.1f} ± {100 * acc_sd:.1f} | {100 * auc:.1f} ± {100 * auc_sd:.1f} |")
            print(rows[-1], f"({time.time() - t0:.0f} s)", flush=True)
    print("| variant | sample accuracy | sample AUROC |\n| --- | --- | --- |\n" + "\n".join(rows))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(raw, f, indent=1)


if __name__ == "__main__":
    main()
