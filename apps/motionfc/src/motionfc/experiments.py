"""``motionfc study <experiment>``: the experiments behind the README's tables, as subcommands.

    motionfc study style --seeds "[0, 1, 2]" --out runs/motionfc/style_study
    motionfc study ablation --study runs/motionfc/style_study
    motionfc study irm_sweep --out runs/motionfc/irm_sweep --lambdas "[0.01, 0.1]"
    motionfc study eth_ucy_grid --out summary.json --procs 16 --max_minutes 7 --epochs "[3, 3, 40]"

Each writes a ``summary.json`` that ``motionfc report`` turns into the README's tables and plots.
The style study and the IRM sweep are resumable: every finished piece is stored in the summary
and skipped on a rerun.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

# The style study's variants: name -> (method of motionfc.study.METHODS, style source in training)
STYLE_VARIANTS = {
    "erm": ("erm", "reference"), "irm": ("irm", "reference"), "modular": ("modular", "reference"),
    "irm+modular": ("irm+modular", "reference"), "irm+modular/observed": ("irm+modular", "observed"),
}
ETH_UCY_FOLDS = ("eth", "hotel", "univ", "zara1", "zara2")


def _load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def _save(path: Path, data: dict) -> None:
    """Write ``data`` as JSON through a temporary file and an atomic rename."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


def _ref_styles(module, dm) -> None:
    import torch

    module.set_reference_styles({dm.labels[e]: torch.from_numpy(w.traj) for e, w in dm.splits["ref"].items()})


def _lowshot_ade(module, dm) -> dict:
    """ADE/FDE of a fine-tuned model on the 0.6 test scenes."""
    from motionfc.evaluate import ade_fde_of, errors_per_env, module_predict

    _ref_styles(module, dm)
    errs = errors_per_env(module_predict(module), {"0.6": dm.splits["test"]["0.6"]}, dm.labels)
    return ade_fde_of([errs["0.6"]])


def _eth_ucy_job(job: dict) -> dict:
    """One run of the ETH/UCY grid (in its own process, one thread)."""
    from contrastkit.train import set_threads

    from motionfc.commands import eth_ucy

    set_threads(1)  # one process per run, one thread each

    t = time.time()
    try:
        metrics = eth_ucy(**job)
        return {**{k: v for k, v in job.items() if k in ("fold", "risk", "lambda_penalty", "spurious")}, **metrics,
                "seconds": time.time() - t}
    except Exception as err:  # noqa: BLE001 - one failed run must not lose the others' results
        return {**job, "error": repr(err)}


class Study:
    """The paper's experiments (style table, style sources, IRM sweep, ETH/UCY grid)."""

    def style(self, out: str = "runs/motionfc/style_study", seeds: list[int] = [0, 1, 2],  # noqa: B006
              num_train: int = 1000, num_val: int = 200, num_test: int = 500, num_ref: int = 64,
              epochs: list[int] = [200, 50, 20, 100],  # noqa: B006
              shots: list[int] = [64, 128, 192, 256, 320, 384], finetune_epochs: int = 30,  # noqa: B006
              refine_steps: int = 3, refine_lr: float = 1e-3, cache_dir: str | None = None) -> dict:
        """Style study: ERM, IRM, modular, IRM + modular on IID / OoD-inter / OoD-extra, the
        style-source ablation, test-time refinement and low-shot transfer to style 0.6.

        Args:
            out: folder of the runs and of ``summary.json``.
            seeds: training seeds (the data seed is 0).
            num_train, num_val, num_test, num_ref: scenes per style and split.
            epochs: the four stage lengths (P3, P4, P5, P6).
            shots: K target scenes of the low-shot transfer; finetune_epochs: its epochs.
            refine_steps, refine_lr: test-time refinement.
            cache_dir: simulation cache (default ``$MOTIONFC_CACHE`` or ``~/.cache/motionfc``).
        """
        args = dict(locals())
        args.pop("self")
        import numpy as np
        import torch
        from contrastkit.train import seed_everything

        from motionfc.checkpoints import load_module
        from motionfc.data.datamodule import StyleDataModule
        from motionfc.evaluate import ade_fde_of, batches_of
        from motionfc.method import CausalMotion
        from motionfc.metrics import displacement_errors
        from motionfc.study import score, train_method
        from motionfc.transfer import finetune, refine_batch

        root = Path(out)
        root.mkdir(parents=True, exist_ok=True)
        summary_path = root / "summary.json"
        summary = _load(summary_path)
        summary["args"] = args
        dm = StyleDataModule(num_train=num_train, num_val=num_val, num_test=num_test, num_ref=num_ref, seed=0,
                             cache_dir=cache_dir)
        dm.setup()
        summary.setdefault("cv", score(None, dm))
        _save(summary_path, summary)
        for seed in seeds:
            for name, (method, source) in STYLE_VARIANTS.items():
                key = f"table/{name}/seed{seed}"
                ckpt = root / name.replace("/", "_") / f"seed{seed}" / "checkpoints" / "last.ckpt"
                if key in summary and ckpt.is_file():
                    continue
                seed_everything(seed)
                m = train_method(method, dm, ckpt.parent.parent, epochs=tuple(epochs), style_source=source)
                res = {"default": score(m, dm)}
                if m.hparams.modular and source == "reference":
                    res["leak"] = score(m, dm, "leak")
                summary[key] = res
                _save(summary_path, summary)
                print(key, {k: round(v["iid"]["ade"], 4) for k, v in res.items()}, flush=True)
            key = f"refine/seed{seed}"  # test-time refinement of IRM + modular on an IID and an OoD style
            if key not in summary:
                m = load_module(CausalMotion, root / "irm+modular" / f"seed{seed}" / "checkpoints" / "last.ckpt")
                res = {}
                for leak in (False, True):
                    m.hparams.style_source = "leak" if leak else "reference"
                    _ref_styles(m, dm)
                    for env in ("0.5", "0.6"):
                        w = dm.splits["test"][env].subset(np.arange(min(200, dm.splits["test"][env].num_scenes)))
                        ref = torch.from_numpy(dm.splits["ref"][env].traj).float()
                        pre, post = [], []
                        for b in batches_of(w, dm.labels[env], 64):
                            before, after = refine_batch(m, b, ref, steps=refine_steps, lr=refine_lr, leak=leak)
                            pre.append(displacement_errors(before, b["fut"]).detach().double().numpy())
                            post.append(displacement_errors(after, b["fut"]).detach().double().numpy())
                        res[f"{'leak' if leak else 'reference'}/{env}"] = {"before": ade_fde_of(pre),
                                                                          "after": ade_fde_of(post)}
                summary[key] = res
                _save(summary_path, summary)
                print(key, res, flush=True)
            for name, mode in (("erm", "all"), ("modular", "integ"), ("irm+modular", "integ"), ("irm+modular", "all")):
                for k in shots:  # low-shot transfer to style 0.6
                    key = f"lowshot/{name}/{mode}/k{k}/seed{seed}"
                    if key in summary:
                        continue
                    m, fdm = finetune(root / name / f"seed{seed}" / "checkpoints" / "last.ckpt",
                                      root / "lowshot" / f"{name}_{mode}_k{k}_seed{seed}", target=0.6, k=k, mode=mode,
                                      epochs=finetune_epochs, seed=seed, num_train=num_train, num_val=num_val,
                                      num_test=num_test, num_ref=num_ref, cache_dir=cache_dir)
                    summary[key] = _lowshot_ade(m, fdm)
                    _save(summary_path, summary)
                    print(key, summary[key], flush=True)
        print(f"done: {summary_path}", flush=True)
        return summary

    def ablation(self, study: str = "runs/motionfc/style_study", seeds: list[int] = [0, 1, 2]) -> dict:  # noqa: B006
        """Where the style vector comes from, on the modular models of ``motionfc study style``:
        reference scenes, the official leak with scoring batches of 64 and of 1 scene, a wrong
        style (that of 0.1 or 0.8) and no style; writes ``<study>/ablation.json``.

        Args:
            study: the ``motionfc study style`` output folder.
            seeds: the seeds whose checkpoints are scored.
        """

        from motionfc.checkpoints import load_module
        from motionfc.data.datamodule import StyleDataModule
        from motionfc.evaluate import errors_per_env, style_table
        from motionfc.method import CausalMotion

        root = Path(study)
        cfg = json.loads((root / "summary.json").read_text())["args"]
        dm = StyleDataModule(num_train=cfg["num_train"], num_val=cfg["num_val"], num_test=cfg["num_test"],
                             num_ref=cfg["num_ref"], seed=0, cache_dir=cfg["cache_dir"])
        dm.setup()

        def run(predict, batch_size=64):
            return style_table(errors_per_env(predict, dm.splits["test"], dm.labels, batch_size))

        out = {}
        for name in ("modular", "irm+modular"):
            for seed in seeds:
                m = load_module(CausalMotion, root / name / f"seed{seed}" / "checkpoints" / "last.ckpt").eval()
                _ref_styles(m, dm)
                rows = {"reference": run(lambda b, m=m: m.predict_abs(b))}
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
        _save(root / "ablation.json", out)
        return out

    def irm_sweep(self, out: str = "runs/motionfc/irm_sweep", lambdas: list[float] = [0.01, 0.1],  # noqa: B006
                  epochs: list[int] = [200, 50, 20, 100], seed: int = 0,  # noqa: B006
                  lowshot: list[int] = []) -> dict:  # noqa: B006
        """IRM weight sweep of the style study: IRM and IRM + modular at each ``lambda_irm``.

        Args:
            out: folder of the runs and of ``summary.json``.
            lambdas: the IRMv1 weights (λ) to train with.
            epochs: the four stage lengths (P3, P4, P5, P6).
            seed: training seed.
            lowshot: also fine-tune IRM + modular to style 0.6 with these K (modulator only and all).
        """
        from contrastkit.train import seed_everything

        from motionfc.data.datamodule import StyleDataModule
        from motionfc.study import score, train_method
        from motionfc.transfer import finetune

        dm = StyleDataModule(num_train=1000, num_val=200, num_test=500, num_ref=64, seed=0)
        dm.setup()
        root = Path(out)
        root.mkdir(parents=True, exist_ok=True)
        path = root / "summary.json"
        res = _load(path)
        for w in lambdas:
            for method in ("irm", "irm+modular"):
                key = f"{method}/lambda{w:g}/seed{seed}"
                if key in res:
                    continue
                seed_everything(seed)
                m = train_method(method, dm, root / key.replace("/", "_"), epochs=tuple(epochs), lambda_irm=w)
                res[key] = score(m, dm)
                _save(path, res)
                print(key, {g: round(res[key][g]["ade"], 4) for g in ("iid", "ood_inter", "ood_extra")}, flush=True)
            for k in lowshot:
                for mode in ("integ", "all"):
                    key = f"lowshot/irm+modular/lambda{w:g}/{mode}/k{k}/seed{seed}"
                    if key in res:
                        continue
                    ck = root / f"irm+modular_lambda{w:g}_seed{seed}" / "checkpoints" / "last.ckpt"
                    m, fdm = finetune(ck, root / "lowshot" / key.replace("/", "_"), target=0.6, k=k, mode=mode,
                                      epochs=30, seed=seed)
                    res[key] = _lowshot_ade(m, fdm)
                    _save(path, res)
                    print(key, res[key], flush=True)
        return res

    def eth_ucy_grid(self, out: str = "eth_ucy_summary.json", procs: int = 2, max_minutes: float = 0.0,
                     epochs: list[int] = [150, 100, 150], lambda_irm: float = 0.1,  # noqa: B006
                     lambda_vrex: float = 5.0, lambda_spurious_irm: float = 3.0, runs_root: str = "runs",
                     seed: int = 0, max_train_scenes: int = 0, only: int = 0) -> list[dict]:
        """ETH/UCY grid: STGAT with ERM / IRM / v-REx on the five folds, and the spurious-feature
        setting on eth (ERM vs IRM, tested with alpha 1..64), one process per run, one thread each.

        Args:
            out: the summary JSON written at the end.
            procs: parallel processes.
            max_minutes: training budget of each run (0: none); epochs: STGAT's three stage lengths.
            lambda_irm, lambda_vrex: penalty weights of the fold runs; lambda_spurious_irm: of the
                spurious IRM run.
            runs_root, seed: run directories and seed.
            max_train_scenes: subsample each training scene (smoke tests; 0: all).
            only: run only the last N jobs (smoke tests; 0: all).
        """
        from multiprocessing import get_context

        args = {k: v for k, v in locals().items() if k not in ("self", "get_context")}
        jobs = [{"fold": f, "risk": r, "lambda_penalty": w} for f in ETH_UCY_FOLDS
                for r, w in (("erm", 0.0), ("irm", lambda_irm), ("vrex", lambda_vrex))]
        jobs += [{"fold": "eth", "risk": r, "lambda_penalty": w, "spurious": True}
                 for r, w in (("erm", 0.0), ("irm", lambda_spurious_irm))]
        jobs = [dict(j, epochs=list(epochs), max_minutes=max_minutes, runs_root=runs_root, seed=seed,
                     max_train_scenes=max_train_scenes, progress=False) for j in jobs]
        jobs = jobs[-only:] if only else jobs  # the last ones include the spurious setting
        with get_context("spawn").Pool(procs) as pool:
            results = pool.map(_eth_ucy_job, jobs, chunksize=1)
        _save(Path(out), {"args": args, "results": results})
        print(json.dumps(results, indent=1))
        return results
