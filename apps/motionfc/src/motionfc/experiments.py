"""``motionfc study <experiment>``: the experiments behind the README's tables, as subcommands.

    motionfc study style --seeds "[0, 1, 2]"            # runs/motionfc/style_study/version_K
    motionfc study style --seeds "[0, 1, 2]" --resume   # after a stop: what is finished is kept
    motionfc study ablation --study runs/motionfc/style_study/version_0
    motionfc study irm_sweep --lambdas "[0.01, 0.1]"
    motionfc study eth_ucy_grid --procs 16 --max_minutes 7 --max_epochs "[3, 3, 40]"

Each experiment is a run directory ``<runs_root>/motionfc/<name>/version_K/`` of the shared run
convention (:func:`contrastkit.train.open_run`): ``config.yaml``, the sub-runs it trains (each
with its ``checkpoints/last.ckpt``) and ``units.json``, the finished pieces' results
(:class:`contrastkit.train.units.StudyUnits`, rewritten atomically after each), which ``motionfc
report`` turns into the README's tables and plots. With ``--resume`` an experiment continues its
newest version that has a checkpoint (of any sub-run) or a record: the pieces ``units.json``
holds are skipped, an interrupted sub-run continues from its ``last.ckpt``, and other settings
are refused, naming the fields.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from contrastkit.train.units import StudyUnits

# The style study's variants: name -> (method of motionfc.study.METHODS, style source in training)
STYLE_VARIANTS = {
    "erm": ("erm", "reference"), "irm": ("irm", "reference"), "modular": ("modular", "reference"),
    "irm+modular": ("irm+modular", "reference"), "irm+modular/observed": ("irm+modular", "observed"),
}
ETH_UCY_FOLDS = ("eth", "hotel", "univ", "zara1", "zara2")


def _config(command: str, arguments: dict) -> dict:
    """The run's ``config.yaml``: the command and its arguments as jsonargparse resolved them."""
    return {"command": command, **{k: v for k, v in arguments.items() if k != "self"}}


@contextmanager
def _study_run(config: dict, may_differ: tuple[str, ...] = ("resume",)) -> Iterator[tuple[Path, StudyUnits]]:
    """Open the experiment's run directory ``<runs_root>/motionfc/<name>/version_K`` (``config``
    holds ``runs_root``, ``name`` and ``resume``), yield it with its units (those a resumed run
    recorded) inside :func:`~contrastkit.train.failure_marked`, then print the closing lines."""
    from contrastkit.train import announce_run, failure_marked, open_run

    resume = config.get("resume", False)
    run = open_run(config["runs_root"], "motionfc", config["name"], config, resume=resume, may_differ=may_differ)
    with failure_marked(run):
        units = StudyUnits(run, resume=resume)
        yield run, units
    print(f"units: {units.path}", flush=True)
    announce_run(run)


def _printed(key: str, result: dict, brief: dict | None = None) -> dict:
    """``result``, after a progress line ``key {brief or result}``."""
    print(key, result if brief is None else brief, flush=True)
    return result


def _ades(res: dict) -> dict:
    """``{group: ADE}`` of a score, rounded, for progress lines."""
    return {g: round(res[g]["ade"], 4) for g in ("iid", "ood_inter", "ood_extra")}


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
            resume: continue the newest run of this name, skipping what its ``units.json`` holds
                (the settings must match).
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
        with _study_run(config) as (root, units):
            dm = StyleDataModule(num_train=num_train, num_val=num_val, num_test=num_test, num_ref=num_ref, seed=0,
                                 cache_dir=cache_dir)
            dm.setup()
            units.run("cv", lambda: score(None, dm))

            def table_row(key: str, method: str, source: str, seed: int, run_dir: Path) -> dict:
                """One model of the style table, trained and scored (IID ADE printed)."""
                seed_everything(seed)
                m = train_method(method, dm, run_dir, epochs=tuple(max_epochs), style_source=source)
                res = {"default": score(m, dm)}
                if m.hparams.modular and source == "reference":
                    res["leak"] = score(m, dm, "leak")
                return _printed(key, res,
                                {k: _ades(v)["iid"] for k, v in res.items()})

            def refinement(seed: int) -> dict:
                """Test-time refinement of IRM + modular on an IID and an OoD style."""
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
                return _printed(f"refine/seed{seed}", res)

            def lowshot(variant: str, mode: str, k: int, seed: int) -> dict:
                """Low-shot transfer to style 0.6 from K target scenes."""
                m, fdm = finetune(root / variant / f"seed{seed}" / "checkpoints" / "last.ckpt",
                                  root / "lowshot" / f"{variant}_{mode}_k{k}_seed{seed}", target=0.6, k=k,
                                  mode=mode, epochs=max_epochs_finetune, seed=seed, num_train=num_train,
                                  num_val=num_val, num_test=num_test, num_ref=num_ref, cache_dir=cache_dir)
                return _printed(f"lowshot/{variant}/{mode}/k{k}/seed{seed}", _lowshot_ade(m, fdm))

            for seed in seeds:
                for variant, (method, source) in STYLE_VARIANTS.items():
                    key = f"table/{variant}/seed{seed}"
                    run_dir = root / variant.replace("/", "_") / f"seed{seed}"
                    if not (run_dir / "checkpoints" / "last.ckpt").is_file():
                        units.forget(key)  # its model is gone: train it again (later pieces load it)
                    units.run(key, partial(table_row, key, method, source, seed, run_dir))
                units.run(f"refine/seed{seed}", partial(refinement, seed))
                for variant, mode in (("erm", "all"), ("modular", "integ"), ("irm+modular", "integ"),
                                      ("irm+modular", "all")):
                    for k in shots:  # low-shot transfer to style 0.6
                        units.run(f"lowshot/{variant}/{mode}/k{k}/seed{seed}", partial(lowshot, variant, mode, k, seed))
        return units.results

    def ablation(self, study: str = "runs/motionfc/style_study/version_0", seeds: list[int] = [0, 1, 2],  # noqa: B006
                 name: str = "style_ablation", runs_root: str = "runs", resume: bool = False) -> dict:
        """Where the style vector comes from, on the modular models of ``motionfc study style``:
        reference scenes, the official leak with scoring batches of 64 and of 1 scene, a wrong
        style (that of 0.1 or 0.8) and no style; a unit per model and seed in ``units.json``.

        Args:
            study: a ``motionfc study style`` run directory (its ``config.yaml`` gives the data).
            seeds: the seeds whose checkpoints are scored.
            name, runs_root: the run directory ``<runs_root>/motionfc/<name>/version_K``.
            resume: continue the newest run of this name, skipping the units its ``units.json``
                holds (the settings must match).
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
        with _study_run(config) as (run, units):
            dm = StyleDataModule(num_train=cfg["num_train"], num_val=cfg["num_val"], num_test=cfg["num_test"],
                                 num_ref=cfg["num_ref"], seed=0,
                                 cache_dir=cfg["cache_dir"] or str(default_cache_dir(cfg["runs_root"])))
            dm.setup()

            def table(predict, batch_size=64):
                return style_table(errors_per_env(predict, dm.splits["test"], dm.labels, batch_size))

            def sources(model: str, seed: int) -> dict:
                """The style table of one model under every style source (IID ADE printed)."""
                m = load_module(source / model / f"seed{seed}" / "checkpoints" / "last.ckpt", ("motionfc",),
                                CausalMotion, fallback=CausalMotion)
                _ref_styles(m, dm)
                rows = {"reference": table(lambda b: m.predict_abs(b))}
                m.hparams.style_source = "leak"
                rows["leak_batch64"] = table(lambda b: m.predict_abs(b))
                rows["leak_batch1"] = table(lambda b: m.predict_abs(b), batch_size=1)
                m.hparams.style_source = "reference"
                for env in ("0.1", "0.8"):
                    s = m.reference_styles[dm.labels[env]]
                    rows[f"style_of_{env}"] = table(lambda b, s=s: m.predict_abs(b, s, use_eval_style=False))
                rows["no_style"] = table(lambda b: m.predict_abs(b, None, use_eval_style=False))
                return _printed(f"{model}/seed{seed}", rows, {k: round(v["iid"]["ade"], 4) for k, v in rows.items()})

            for model in ("modular", "irm+modular"):
                for seed in seeds:
                    units.run(f"{model}/seed{seed}", partial(sources, model, seed))
        return units.results

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
            resume: continue the newest run of this name, skipping what its ``units.json`` holds
                (the settings must match).
        """
        config = _config("study irm_sweep", locals())  # before any other local name exists
        from contrastkit.train import seed_everything

        from motionfc.data.datamodule import StyleDataModule
        from motionfc.data.synthetic import default_cache_dir
        from motionfc.study import score, train_method
        from motionfc.transfer import finetune

        with _study_run(config) as (root, units):
            cache_dir = str(default_cache_dir(runs_root))
            dm = StyleDataModule(num_train=1000, num_val=200, num_test=500, num_ref=64, seed=0, cache_dir=cache_dir)
            dm.setup()

            def weighted(key: str, method: str, w: float) -> dict:
                """IRM or IRM + modular trained at ``lambda_irm = w`` and scored."""
                seed_everything(seed)
                m = train_method(method, dm, root / key.replace("/", "_"), epochs=tuple(max_epochs), lambda_irm=w)
                res = score(m, dm)
                return _printed(key, res, _ades(res))

            def lowshot_of(key: str, w: float, mode: str, k: int) -> dict:
                """IRM + modular at ``w`` fine-tuned to style 0.6 on K scenes."""
                ck = root / f"irm+modular_lambda{w:g}_seed{seed}" / "checkpoints" / "last.ckpt"
                m, fdm = finetune(ck, root / "lowshot" / key.replace("/", "_"), target=0.6, k=k, mode=mode,
                                  epochs=30, seed=seed, cache_dir=cache_dir)
                return _printed(key, _lowshot_ade(m, fdm))

            for w in lambdas:
                for method in ("irm", "irm+modular"):
                    key = f"{method}/lambda{w:g}/seed{seed}"
                    units.run(key, partial(weighted, key, method, w))
                for k in lowshot:
                    for mode in ("integ", "all"):
                        key = f"lowshot/irm+modular/lambda{w:g}/{mode}/k{k}/seed{seed}"
                        units.run(key, partial(lowshot_of, key, w, mode, k))
        return units.results

    def eth_ucy_grid(self, procs: int = 2, max_minutes: float = 0.0,
                     max_epochs: list[int] = [150, 100, 150], lambda_irm: float = 0.1,  # noqa: B006
                     lambda_vrex: float = 5.0, lambda_spurious_irm: float = 3.0, seed: int = 0,
                     max_train_scenes: int = 0, only: int = 0, data_root: str | None = None, name: str = "eth_ucy_grid",
                     runs_root: str = "runs", resume: bool = False) -> list[dict]:
        """ETH/UCY grid: STGAT with ERM / IRM / v-REx on the five folds, and the spurious-feature
        setting on eth (ERM vs IRM, tested with alpha 1..64), one process per run, one thread each.

        Each run is a sub-run ``<run>/motionfc/<fold>_<risk>[_spurious]/version_K`` (``motionfc
        eth-ucy``); ``units.json`` holds every finished run's metrics by run name (the settings are
        in ``config.yaml``).

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
        with _study_run(config, may_differ=("resume", "procs", "max_minutes")) as (run, units):
            for unit, result in list(units.results.items()):
                if "error" in result:
                    units.forget(unit)  # failed runs are run again
            todo = []
            for job in jobs:
                job_name = f"{job['fold']}_{job['risk']}{'_spurious' if job.get('spurious') else ''}"
                if units.done(job_name):
                    print(f"{job_name}: finished before, kept ({units.path})", flush=True)
                else:  # an interrupted run continues from its checkpoint
                    todo.append(dict(job, name=job_name, max_epochs=list(max_epochs), max_minutes=max_minutes,
                                     runs_root=str(run), seed=seed, max_train_scenes=max_train_scenes, data_root=data_root,
                                     progress=False, resume=bool(checkpoints_of(run / "motionfc" / job_name))))
            if todo:
                with get_context("spawn").Pool(procs) as pool:
                    for result in pool.imap_unordered(_eth_ucy_job, todo, chunksize=1):
                        units.record(result["name"], result)
            results = list(units.results.values())
            print(json.dumps(results, indent=1))
        return results
