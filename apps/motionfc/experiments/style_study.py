"""Style study: the paper's table (ERM, IRM, modular, IRM + modular on IID / OoD-inter /
OoD-extra), the style-source ablation (reference scenes vs observed frames vs the official leak),
low-shot transfer to style 0.6 with K = 64..384 scenes, and test-time refinement.

    OMP_NUM_THREADS=1 PYTHONPATH=packages/contrastkit/src:apps/motionfc/src \
        python apps/motionfc/experiments/style_study.py --seeds 0 1 2 --out runs/motionfc/style_study

Resumable: every finished piece is stored in ``<out>/summary.json`` and skipped on a rerun.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch


def load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def save(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/motionfc/style_study")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--num-train", type=int, default=1000)
    ap.add_argument("--num-val", type=int, default=200)
    ap.add_argument("--num-test", type=int, default=500)
    ap.add_argument("--num-ref", type=int, default=64)
    ap.add_argument("--epochs", type=int, nargs=4, default=[200, 50, 20, 100])
    ap.add_argument("--shots", type=int, nargs="+", default=[64, 128, 192, 256, 320, 384])
    ap.add_argument("--finetune-epochs", type=int, default=30)
    ap.add_argument("--refine-steps", type=int, default=3)
    ap.add_argument("--refine-lr", type=float, default=1e-3)
    ap.add_argument("--cache-dir", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)

    from contrastkit.train import seed_everything
    from motionfc.data.datamodule import StyleDataModule
    from motionfc.evaluate import ade_fde_of, batches_of, errors_per_env, module_predict
    from motionfc.method import CausalMotion
    from motionfc.metrics import displacement_errors
    from motionfc.study import score, train_method
    from motionfc.transfer import finetune, refine_batch

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary_path = out / "summary.json"
    summary = load(summary_path)
    summary["args"] = vars(args)
    dm = StyleDataModule(num_train=args.num_train, num_val=args.num_val, num_test=args.num_test,
                         num_ref=args.num_ref, seed=0, cache_dir=args.cache_dir)
    dm.setup()
    summary.setdefault("cv", score(None, dm))
    save(summary_path, summary)
    variants = {  # name -> (method, style source used in training)
        "erm": ("erm", "reference"), "irm": ("irm", "reference"), "modular": ("modular", "reference"),
        "irm+modular": ("irm+modular", "reference"), "irm+modular/observed": ("irm+modular", "observed"),
    }
    for seed in args.seeds:
        for name, (method, source) in variants.items():
            key = f"table/{name}/seed{seed}"
            ckpt = out / name.replace("/", "_") / f"seed{seed}" / "checkpoints" / "last.ckpt"
            if key in summary and ckpt.is_file():
                continue
            seed_everything(seed)
            m = train_method(method, dm, ckpt.parent.parent, epochs=tuple(args.epochs), style_source=source)
            res = {"default": score(m, dm)}
            if m.hparams.modular and source == "reference":
                res["leak"] = score(m, dm, "leak")
            summary[key] = res
            save(summary_path, summary)
            print(key, {k: round(v["iid"]["ade"], 4) for k, v in res.items()}, flush=True)
        # test-time refinement of IRM + modular on an IID and an OoD style
        key = f"refine/seed{seed}"
        if key not in summary:
            ck = out / "irm+modular" / f"seed{seed}" / "checkpoints" / "last.ckpt"
            m = CausalMotion.load_from_checkpoint(ck, map_location="cpu")
            res = {}
            for leak in (False, True):
                m.hparams.style_source = "leak" if leak else "reference"
                m.set_reference_styles({dm.labels[e]: torch.from_numpy(w.traj) for e, w in dm.splits["ref"].items()})
                for env in ("0.5", "0.6"):
                    w = dm.splits["test"][env].subset(np.arange(min(200, dm.splits["test"][env].num_scenes)))
                    ref = torch.from_numpy(dm.splits["ref"][env].traj).float()
                    pre, post = [], []
                    for b in batches_of(w, dm.labels[env], 64):
                        before, after = refine_batch(m, b, ref, steps=args.refine_steps, lr=args.refine_lr, leak=leak)
                        pre.append(displacement_errors(before, b["fut"]).detach().double().numpy())
                        post.append(displacement_errors(after, b["fut"]).detach().double().numpy())
                    res[f"{'leak' if leak else 'reference'}/{env}"] = {"before": ade_fde_of(pre), "after": ade_fde_of(post)}
            summary[key] = res
            save(summary_path, summary)
            print(key, res, flush=True)
        # low-shot transfer to style 0.6
        for name, mode in (("erm", "all"), ("modular", "integ"), ("irm+modular", "integ"), ("irm+modular", "all")):
            for k in args.shots:
                key = f"lowshot/{name}/{mode}/k{k}/seed{seed}"
                if key in summary:
                    continue
                ck = out / name / f"seed{seed}" / "checkpoints" / "last.ckpt"
                run = out / "lowshot" / f"{name}_{mode}_k{k}_seed{seed}"
                m, fdm = finetune(ck, run, target=0.6, k=k, mode=mode, epochs=args.finetune_epochs, seed=seed,
                                  num_train=args.num_train, num_val=args.num_val, num_test=args.num_test,
                                  num_ref=args.num_ref, cache_dir=args.cache_dir)
                m.set_reference_styles({fdm.labels[e]: torch.from_numpy(w.traj) for e, w in fdm.splits["ref"].items()})
                errs = errors_per_env(module_predict(m), {"0.6": fdm.splits["test"]["0.6"]}, fdm.labels)
                summary[key] = ade_fde_of([errs["0.6"]])
                save(summary_path, summary)
                print(key, summary[key], flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()
