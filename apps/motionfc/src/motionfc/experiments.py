"""``motionfc study <experiment>``: the experiments behind the README's tables, as subcommands.

    motionfc study style --seeds "[0, 1, 2]"            # runs/motionfc/style_study/version_K
    motionfc study style --seeds "[0, 1, 2]" --resume   # after a stop: what is finished is kept
    motionfc study ablation --study runs/motionfc/style_study/version_0
    motionfc study irm_sweep --lambdas "[0.01, 0.1]"
    motionfc study eth_ucy_grid --procs 16 --max_minutes 7 --max_epochs "[3, 3, 40]"

Each experiment is a run directory ``<runs_root>/motionfc/<name>/version_K/`` of the shared run
convention (:func:`contrastkit.train.open_run`): ``config.yaml``, the sub-runs it trains (each
with its ``checkpoints/last.ckpt``) and ``summary.json``, rewritten atomically after every
finished piece, which ``motionfc report`` turns into the README's tables and plots. With
``--resume`` an experiment continues its newest version that has a checkpoint (of any sub-run):
the pieces its summary holds are skipped, an interrupted sub-run continues from its
``last.ckpt``, and other settings are refused, naming the fields.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The style study's variants: name -> (method of motionfc.study.METHODS, style source in training)
STYLE_VARIANTS = {
    "erm": ("erm", "reference"), "irm": ("irm", "reference"), "modular": ("modular", "reference"),
    "irm+modular": ("irm+modular", "reference"), "irm+modular/observed": ("irm+modular", "observed"),
}
ETH_UCY_FOLDS = ("eth", "hotel", "univ", "zara1", "zara2")
SUMMARY = "summary.json"


def _load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def _save(path: Path, data: dict) -> None:
    """Write ``data`` as JSON through a temporary file and an atomic rename."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


def _kept(key: str, run: Path) -> None:
    """Say that a resumed study keeps a piece its summary records (what it redoes says itself)."""
    print(f"{key}: finished before, kept ({run / SUMMARY})", flush=True)


def _config(command: str, arguments: dict) -> dict:
    """The run's ``config.yaml``: the command and its arguments as jsonargparse resolved them."""
    return {"command": command, **{k: v for k, v in arguments.items() if k != "self"}}


@contextmanager
def _study_run(config: dict, may_differ: tuple[str, ...] = ("resume",)) -> Iterator[tuple[Path, dict]]:
    """Open the experiment's run directory ``<runs_root>/motionfc/<name>/version_K`` (``config``
    holds ``runs_root``, ``name`` and ``resume``), yield it with the summary it holds (empty for a
    new run) inside :func:`~contrastkit.train.failure_marked`, then print the closing lines."""
    from contrastkit.train import announce_run, failure_marked, open_run

    run = open_run(config["runs_root"], "motionfc", config["name"], config, resume=config.get("resume", False),
                   may_differ=may_differ)
    with failure_marked(run):
        yield run, _load(run / SUMMARY)
    print(f"summary: {run / SUMMARY}", flush=True)
    announce_run(run)


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
        return {**{k: v for k, v in job.items() if k in ("name", "fold", "risk", "lambda_irm", "lambda_vrex", "spurious")},
                **metrics, "seconds": time.time() - t}
    except Exception as err:  # noqa: BLE001 - one failed run must not lose the others' results
        return {**job, "error": repr(err)}


class Study:
    """The paper's experiments (style table, style sources, IRM sweep, ETH/UCY grid)."""

    def style(self, seeds: list[int] = [0, 1, 2],  # noqa: B006
              num_train: int = 1000, num_val: int = 200, num_test: int = 500, num_ref: int = 64,
              max_epochs: list[int] = [200, 50, 20, 100],  # noqa: B006
              shots: list[int] = [64, 128, 192, 256, 320, 384], max_epochs_finetune: int = 30,  # noqa: B006
              refine_steps: int = 3, refine_lr: float = 1e-3, cache_dir: str | None = None,
              name: str = "style_study", runs_root: str = "runs", resume: bool = False) -> dict:
        """Style study: ERM, IRM, modular, IRM + modular on IID / OoD-inter / OoD-extra, the
        style-source ablation, test-time refinement and low-shot transfer to style 0.6.

        Args:
            seeds: training seeds (the data seed is 0).
            num_train, num_val, num_test, num_ref: scenes per style and split.
            max_epochs: the four stage lengths (P3, P4, P5, P6).
            shots: K target scenes of the low-shot transfer; max_epochs_finetune: its epochs.
            refine_steps, refine_lr: test-time refinement.
            cache_dir: simulation cache (default ``<runs_root>/motionfc/cache``).
            name, runs_root: the run directory ``<runs_root>/motionfc/<name>/version_K``.
            resume: continue the newest run of this name that has a checkpoint, skipping what its
                ``summary.json`` holds (the settings must match).
        """
        config = _config("study style", locals())  # before any other local name exists
        import numpy as np
        import torch
        from contrastkit.train import load_module, seed_everything

        from motionfc.data.datamodule import StyleDataModule
        from motionfc.data.synthetic import default_cache_dir
        from motionfc.evaluate import ade_fde_of, batches_of
        from motionfc.method import CausalMotion
        from motionfc.metrics import displacement_errors
        from motionfc.study import score, train_method
        from motionfc.transfer import finetune, refine_batch

        cache_dir = cache_dir or str(default_cache_dir(runs_root))
        with _study_run(config) as (root, summary):
            summary_path = root / SUMMARY
            dm = StyleDataModule(num_train=num_train, num_val=num_val, num_test=num_test, num_ref=num_ref, seed=0,
                                 cache_dir=cache_dir)
            dm.setup()
            summary.setdefault("cv", score(None, dm))
            _save(summary_path, summary)
            for seed in seeds:
                for variant, (method, source) in STYLE_VARIANTS.items():
                    key = f"table/{variant}/seed{seed}"
                    ckpt = root / variant.replace("/", "_") / f"seed{seed}" / "checkpoints" / "last.ckpt"
                    if key in summary and ckpt.is_file():
                        _kept(key, root)
                        continue
                    seed_everything(seed)
                    m = train_method(method, dm, ckpt.parent.parent, epochs=tuple(max_epochs), style_source=source)
                    res = {"default": score(m, dm)}
                    if m.hparams.modular and source == "reference":
                        res["leak"] = score(m, dm, "leak")
                    summary[key] = res
                    _save(summary_path, summary)
                    print(key, {k: round(v["iid"]["ade"], 4) for k, v in res.items()}, flush=True)
                key = f"refine/seed{seed}"  # test-time refinement of IRM + modular on an IID and an OoD style
                if key in summary:
                    _kept(key, root)
                else:
                    m = load_module(root / "irm+modular" / f"seed{seed}" / "checkpoints" / "last.ckpt", ("motionfc",),
                                    CausalMotion, fallback=CausalMotion)
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
                for variant, mode in (("erm", "all"), ("modular", "integ"), ("irm+modular", "integ"),
                                      ("irm+modular", "all")):
                    for k in shots:  # low-shot transfer to style 0.6
                        key = f"lowshot/{variant}/{mode}/k{k}/seed{seed}"
                        if key in summary:
                            _kept(key, root)
                            continue
                        m, fdm = finetune(root / variant / f"seed{seed}" / "checkpoints" / "last.ckpt",
                                          root / "lowshot" / f"{variant}_{mode}_k{k}_seed{seed}", target=0.6, k=k,
                                          mode=mode, epochs=max_epochs_finetune, seed=seed, num_train=num_train,
                                          num_val=num_val, num_test=num_test, num_ref=num_ref, cache_dir=cache_dir)
                        summary[key] = _lowshot_ade(m, fdm)
                        _save(summary_path, summary)
                        print(key, summary[key], flush=True)
        return summary

    def ablation(self, study: str = "runs/motionfc/style_study/version_0", seeds: list[int] = [0, 1, 2],  # noqa: B006
                 name: str = "style_ablation", runs_root: str = "runs") -> dict:
        """Where the style vector comes from, on the modular models of ``motionfc study style``:
        reference scenes, the official leak with scoring batches of 64 and of 1 scene, a wrong
        style (that of 0.1 or 0.8) and no style; writes the run's ``summary.json``.

        Args:
            study: a ``motionfc study style`` run directory (its ``config.yaml`` gives the data).
            seeds: the seeds whose checkpoints are scored.
            name, runs_root: the run directory ``<runs_root>/motionfc/<name>/version_K``.
        """
        config = _config("study ablation", locals())  # before any other local name exists
        import yaml
        from contrastkit.train import load_module

        from motionfc.data.datamodule import StyleDataModule
        from motionfc.data.synthetic import default_cache_dir
        from motionfc.evaluate import errors_per_env, style_table
        from motionfc.method import CausalMotion

        source = Path(study)
        if not (source / "config.yaml").is_file():
            raise FileNotFoundError(f"{source / 'config.yaml'}: not found; --study must be a `motionfc study style` "
                                    "run directory (runs/motionfc/<name>/version_K)")
        cfg = yaml.safe_load((source / "config.yaml").read_text())
        with _study_run(config) as (run, _):
            dm = StyleDataModule(num_train=cfg["num_train"], num_val=cfg["num_val"], num_test=cfg["num_test"],
                                 num_ref=cfg["num_ref"], seed=0,
                                 cache_dir=cfg["cache_dir"] or str(default_cache_dir(cfg["runs_root"])))
            dm.setup()

            def table(predict, batch_size=64):
                return style_table(errors_per_env(predict, dm.splits["test"], dm.labels, batch_size))

            out = {}
            for model in ("modular", "irm+modular"):
                for seed in seeds:
                    m = load_module(source / model / f"seed{seed}" / "checkpoints" / "last.ckpt", ("motionfc",),
                                    CausalMotion, fallback=CausalMotion)
                    _ref_styles(m, dm)
                    rows = {"reference": table(lambda b, m=m: m.predict_abs(b))}
                    m.hparams.style_source = "leak"
                    rows["leak_batch64"] = table(lambda b, m=m: m.predict_abs(b))
                    rows["leak_batch1"] = table(lambda b, m=m: m.predict_abs(b), batch_size=1)
                    m.hparams.style_source = "reference"
                    for env in ("0.1", "0.8"):
                        s = m.reference_styles[dm.labels[env]]
                        rows[f"style_of_{env}"] = table(lambda b, s=s, m=m: m.predict_abs(b, s, use_eval_style=False))
                    rows["no_style"] = table(lambda b, m=m: m.predict_abs(b, None, use_eval_style=False))
                    out[f"{model}/seed{seed}"] = rows
                    print(model, seed, {k: round(v["iid"]["ade"], 4) for k, v in rows.items()}, flush=True)
            _save(run / SUMMARY, out)
        return out

    def irm_sweep(self, lambdas: list[float] = [0.01, 0.1],  # noqa: B006
                  max_epochs: list[int] = [200, 50, 20, 100], seed: int = 0,  # noqa: B006
                  lowshot: list[int] = [], name: str = "irm_sweep", runs_root: str = "runs",  # noqa: B006
                  resume: bool = False) -> dict:
        """IRM weight sweep of the style study: IRM and IRM + modular at each ``lambda_irm``.

        Args:
            lambdas: the IRMv1 weights (λ) to train with.
            max_epochs: the four stage lengths (P3, P4, P5, P6).
            seed: training seed.
            lowshot: also fine-tune IRM + modular to style 0.6 with these K (modulator only and all).
            name, runs_root: the run directory ``<runs_root>/motionfc/<name>/version_K``.
            resume: continue the newest run of this name that has a checkpoint, skipping what its
                ``summary.json`` holds (the settings must match).
        """
        config = _config("study irm_sweep", locals())  # before any other local name exists
        from contrastkit.train import seed_everything

        from motionfc.data.datamodule import StyleDataModule
        from motionfc.data.synthetic import default_cache_dir
        from motionfc.study import score, train_method
        from motionfc.transfer import finetune

        with _study_run(config) as (root, res):
            path = root / SUMMARY
            cache_dir = str(default_cache_dir(runs_root))
            dm = StyleDataModule(num_train=1000, num_val=200, num_test=500, num_ref=64, seed=0, cache_dir=cache_dir)
            dm.setup()
            for w in lambdas:
                for method in ("irm", "irm+modular"):
                    key = f"{method}/lambda{w:g}/seed{seed}"
                    if key in res:
                        _kept(key, root)
                        continue
                    seed_everything(seed)
                    m = train_method(method, dm, root / key.replace("/", "_"), epochs=tuple(max_epochs), lambda_irm=w)
                    res[key] = score(m, dm)
                    _save(path, res)
                    print(key, {g: round(res[key][g]["ade"], 4) for g in ("iid", "ood_inter", "ood_extra")},
                          flush=True)
                for k in lowshot:
                    for mode in ("integ", "all"):
                        key = f"lowshot/irm+modular/lambda{w:g}/{mode}/k{k}/seed{seed}"
                        if key in res:
                            _kept(key, root)
                            continue
                        ck = root / f"irm+modular_lambda{w:g}_seed{seed}" / "checkpoints" / "last.ckpt"
                        m, fdm = finetune(ck, root / "lowshot" / key.replace("/", "_"), target=0.6, k=k, mode=mode,
                                          epochs=30, seed=seed, cache_dir=cache_dir)
                        res[key] = _lowshot_ade(m, fdm)
                        _save(path, res)
                        print(key, res[key], flush=True)
        return res

    def eth_ucy_grid(self, procs: int = 2, max_minutes: float = 0.0,
                     max_epochs: list[int] = [150, 100, 150], lambda_irm: float = 0.1,  # noqa: B006
                     lambda_vrex: float = 5.0, lambda_spurious_irm: float = 3.0, seed: int = 0,
                     max_train_scenes: int = 0, only: int = 0, data_root: str | None = None, name: str = "eth_ucy_grid",
                     runs_root: str = "runs", resume: bool = False) -> list[dict]:
        """ETH/UCY grid: STGAT with ERM / IRM / v-REx on the five folds, and the spurious-feature
        setting on eth (ERM vs IRM, tested with alpha 1..64), one process per run, one thread each.

        Each run is a sub-run ``<run>/motionfc/<fold>_<risk>[_spurious]/version_K`` (``motionfc
        eth-ucy``); ``summary.json`` holds the settings and every finished run's metrics.

        Args:
            procs: parallel processes.
            max_minutes: training budget of each run (0: none); max_epochs: STGAT's three stage lengths.
            lambda_irm, lambda_vrex: penalty weights of the fold runs; lambda_spurious_irm: of the
                spurious IRM run.
            seed: the seed of every run.
            max_train_scenes: subsample each training scene (smoke tests; 0: all).
            only: run only the last N jobs (smoke tests; 0: all).
            data_root: the ETH/UCY data folder (default ``$CONTRASTKIT_DATA/eth_ucy/raw``).
            name, runs_root: the run directory ``<runs_root>/motionfc/<name>/version_K``.
            resume: continue the newest run of this name that has a checkpoint: finished runs are
                kept, unfinished ones continue from their ``last.ckpt`` (the settings must match but
                for ``procs`` and ``max_minutes``).
        """
        config = _config("study eth_ucy_grid", locals())  # before any other local name exists
        from multiprocessing import get_context

        from contrastkit.train.rundir import checkpoints_of

        jobs = [job for f in ETH_UCY_FOLDS for job in ({"fold": f, "risk": "erm"},
                                                        {"fold": f, "risk": "irm", "lambda_irm": lambda_irm},
                                                        {"fold": f, "risk": "vrex", "lambda_vrex": lambda_vrex})]
        jobs += [{"fold": "eth", "risk": "erm", "spurious": True},
                 {"fold": "eth", "risk": "irm", "lambda_irm": lambda_spurious_irm, "spurious": True}]
        jobs = jobs[-only:] if only else jobs  # the last ones include the spurious setting
        with _study_run(config, may_differ=("resume", "procs", "max_minutes")) as (run, summary):
            results = [r for r in summary.get("results", []) if "error" not in r]  # failed runs are run again
            done = {r["name"] for r in results}
            todo = []
            for job in jobs:
                job_name = f"{job['fold']}_{job['risk']}{'_spurious' if job.get('spurious') else ''}"
                if job_name in done:
                    _kept(job_name, run)
                else:  # an interrupted run continues from its checkpoint
                    todo.append(dict(job, name=job_name, max_epochs=list(max_epochs), max_minutes=max_minutes,
                                     runs_root=str(run), seed=seed, max_train_scenes=max_train_scenes, data_root=data_root,
                                     progress=False, resume=bool(checkpoints_of(run / "motionfc" / job_name))))
            summary = {"args": config, "results": results}
            _save(run / SUMMARY, summary)
            if todo:
                with get_context("spawn").Pool(procs) as pool:
                    for result in pool.imap_unordered(_eth_ucy_job, todo, chunksize=1):
                        results.append(result)
                        _save(run / SUMMARY, summary)
            print(json.dumps(results, indent=1))
        return results
