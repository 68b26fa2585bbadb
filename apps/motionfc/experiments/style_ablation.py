"""Where the style vector comes from, on the trained modular models of ``style_study.py``:
reference scenes (ours), the official leak with scoring batches of 64 scenes and of 1 scene
(then the style is that scene's own ground-truth future), a wrong style (that of 0.1 or 0.8 for
every scene) and no style at all.

    OMP_NUM_THREADS=1 PYTHONPATH=packages/contrastkit/src:apps/motionfc/src \
        python apps/motionfc/experiments/style_ablation.py --study runs/motionfc/style_study
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", type=Path, default=Path("runs/motionfc/style_study"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    torch.set_num_threads(1)

    from motionfc.data.datamodule import StyleDataModule
    from motionfc.evaluate import errors_per_env, style_table
    from motionfc.method import CausalMotion

    cfg = json.loads((args.study / "summary.json").read_text())["args"]
    dm = StyleDataModule(num_train=cfg["num_train"], num_val=cfg["num_val"], num_test=cfg["num_test"],
                         num_ref=cfg["num_ref"], seed=0, cache_dir=cfg["cache_dir"])
    dm.setup()
    out = {}
    for name in ("modular", "irm+modular"):
        for seed in args.seeds:
            ck = args.study / name / f"seed{seed}" / "checkpoints" / "last.ckpt"
            m = CausalMotion.load_from_checkpoint(ck, map_location="cpu").eval()
            m.set_reference_styles({dm.labels[e]: torch.from_numpy(w.traj) for e, w in dm.splits["ref"].items()})
            rows = {}

            def run(predict, batch_size=64):
                return style_table(errors_per_env(predict, dm.splits["test"], dm.labels, batch_size))

            rows["reference"] = run(lambda b, m=m: m.predict_abs(b))
            m.hparams.style_source = "leak"
            rows["leak_batch64"] = run(lambda b, m=m: m.predict_abs(b))
            rows["leak_batch1"] = run(lambda b, m=m: m.predict_abs(b), batch_size=1)
            m.hparams.style_source = "reference"
            for env in ("0.1", "0.8"):
                s = m.reference_styles[dm.labels[env]]
                rows[f"style_of_{env}"] = run(lambda b, s=s, m=m: m.predict_abs(b, s, use_eval_style=False))
            rows["no_style"] = run(lambda b, m=m: m.predict_abs(b, None, use_eval_style=False))
            out[f"{name}/seed{seed}"] = rows
            print(name, seed, {k: round(v["iid"]["ade"], 4) for k, v in rows.items()}, flush=True)
    (args.study / "ablation.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
