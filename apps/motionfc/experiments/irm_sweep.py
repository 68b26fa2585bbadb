"""IRM weight sweep of the style study (seed 0): is there a λ at which IRM helps here?

    OMP_NUM_THREADS=1 PYTHONPATH=packages/contrastkit/src:apps/motionfc/src \
        python apps/motionfc/experiments/irm_sweep.py --out runs/motionfc/irm_sweep --weights 0.01 0.1
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("runs/motionfc/irm_sweep"))
    ap.add_argument("--weights", type=float, nargs="+", default=[0.01, 0.1])
    ap.add_argument("--epochs", type=int, nargs=4, default=[200, 50, 20, 100])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lowshot", type=int, nargs="*", default=[],
                    help="also fine-tune IRM + modular to style 0.6 with these K (modulator only and all)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    from contrastkit.train import seed_everything
    from motionfc.data.datamodule import StyleDataModule
    from motionfc.evaluate import ade_fde_of, errors_per_env, module_predict
    from motionfc.study import score, train_method
    from motionfc.transfer import finetune

    dm = StyleDataModule(num_train=1000, num_val=200, num_test=500, num_ref=64, seed=0)
    dm.setup()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "summary.json"
    res = json.loads(path.read_text()) if path.is_file() else {}
    for w in args.weights:
        for method in ("irm", "irm+modular"):
            key = f"{method}/lambda{w:g}/seed{args.seed}"
            if key in res:
                continue
            seed_everything(args.seed)
            m = train_method(method, dm, args.out / key.replace("/", "_"), epochs=tuple(args.epochs), irm=w)
            res[key] = score(m, dm)
            path.write_text(json.dumps(res, indent=1))
            print(key, {g: round(res[key][g]["ade"], 4) for g in ("iid", "ood_inter", "ood_extra")}, flush=True)
        for k in args.lowshot:
            for mode in ("integ", "all"):
                key = f"lowshot/irm+modular/lambda{w:g}/{mode}/k{k}/seed{args.seed}"
                if key in res:
                    continue
                ck = args.out / f"irm+modular_lambda{w:g}_seed{args.seed}" / "checkpoints" / "last.ckpt"
                m, fdm = finetune(ck, args.out / "lowshot" / key.replace("/", "_"), target=0.6, k=k, mode=mode,
                                  epochs=30, seed=args.seed)
                m.set_reference_styles({fdm.labels[e]: torch.from_numpy(x.traj) for e, x in fdm.splits["ref"].items()})
                errs = errors_per_env(module_predict(m), {"0.6": fdm.splits["test"]["0.6"]}, fdm.labels)
                res[key] = ade_fde_of([errs["0.6"]])
                path.write_text(json.dumps(res, indent=1))
                print(key, res[key], flush=True)


if __name__ == "__main__":
    main()
