"""The app's own commands: ``motionfc simulate`` (the style dataset), ``motionfc evaluate`` (a style-study
checkpoint on the eight styles) and ``motionfc eth-ucy`` (STGAT on a leave-one-scene-out ETH/UCY fold).
Heavy imports stay inside the functions, so ``motionfc --help`` imports no torch."""

from __future__ import annotations

import json

from contrastkit.train.trainer import TrainerOptions

# where a run trains may change on a resume (see docs/scale-out.md: the sampler order changes with
# the world size; weights, optimizer states and the epoch carry over)
WHERE_IT_RUNS = ("devices", "num_nodes", "strategy", "accelerator")

# eth-ucy settings that may change when a run is resumed: how it is shown and how long it may run,
# and the stage lengths (extending the schedule; the first two stages must match, checked below)
ETH_UCY_MAY_DIFFER = ("resume", "progress", "max_minutes", "max_epochs", "model.epochs", *WHERE_IT_RUNS)


def simulate(styles: list[float] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], num_train: int = 1000,  # noqa: B006
             num_val: int = 200, num_test: int = 500, num_ref: int = 64, seed: int = 0,
             cache_dir: str | None = None, runs_root: str = "runs") -> dict:
    """Simulate (or load from the cache) the ORCA style dataset and print each split's minimum separation.

    Args:
        styles: ORCA radii (the styles) to simulate.
        num_train, num_val, num_test, num_ref: scenes per style and split.
        seed: generation seed.
        cache_dir: cache folder (default ``<runs_root>/motionfc/cache``).
    """
    import numpy as np

    from motionfc.data.synthetic import default_cache_dir, style_scenes

    cache_dir = cache_dir or str(default_cache_dir(runs_root))
    out = {}
    for r in styles:
        for split, n in (("train", num_train), ("val", num_val), ("test", num_test), ("ref", num_ref)):
            s = style_scenes(r, split, n, seed=seed, cache_dir=cache_dir)
            out[f"{r:.1f}/{split}"] = {"scenes": n, "min_separation": float(np.linalg.norm(s[:, 0] - s[:, 1], axis=-1).min())}
    print(json.dumps(out, indent=1))
    return out


def evaluate(ckpt_path: str = "", style_source: str | None = None, num_train: int = 1000, num_val: int = 200,
             num_test: int = 500, num_ref: int = 64, seed: int = 0, cache_dir: str | None = None,
             refine_steps: int = 0, refine_lr: float = 1e-3, runs_root: str = "runs", name: str = "evaluate") -> dict:
    """Score a style-study checkpoint on all eight styles (IID / OoD-inter / OoD-extra ADE/FDE).

    Writes a run directory ``<runs_root>/motionfc/<name>/version_K``: ``config.yaml``, the table
    as ``metrics.json`` (``{row: {env or group: {ade, fde, peds}}}``) and ``table.md``, and
    ``plots/predictions_0.7.png`` (constant velocity and the model on four extrapolation scenes).

    Args:
        ckpt_path: a CausalMotion checkpoint (``runs/motionfc/.../checkpoints/last.ckpt``), read with
            ``weights_only=True`` (a file that would run code is refused).
        style_source: override the style source ("reference", "leak"; "observed" models stay observed).
        num_train, num_val, num_test, num_ref, seed, cache_dir: the dataset (as trained).
        refine_steps: test-time refinement steps (0: none), with learning rate ``refine_lr``.
        runs_root, name: where the run directory is written.
    """
    args = {"command": "evaluate", **locals()}
    from contrastkit.train import announce_run, failure_marked, load_module, open_run

    from motionfc.method import CausalMotion

    if not ckpt_path:
        raise ValueError("evaluate needs --ckpt_path (a CausalMotion .ckpt)")
    # a bad checkpoint stops before a run directory exists
    m = load_module(ckpt_path, ("motionfc",), CausalMotion, fallback=CausalMotion)
    run = open_run(runs_root, "motionfc", name, args)
    with failure_marked(run):
        rows = _evaluate(m, run, args)
    announce_run(run)
    return rows


def _evaluate(m, run, args: dict) -> dict:
    """The work of :func:`evaluate` in its run directory ``run``."""
    import torch
    from contrastkit.train import write_metrics

    from motionfc.data.datamodule import StyleDataModule
    from motionfc.data.synthetic import default_cache_dir
    from motionfc.evaluate import batches_of, style_table
    from motionfc.metrics import displacement_errors
    from motionfc.plots import plot_scenes
    from motionfc.study import example_predictions, format_table, reference_styles, score
    from motionfc.transfer import refine_batch

    num_train, num_val, num_test, num_ref, seed, cache_dir, style_source, refine_steps, refine_lr = (
        args[k] for k in ("num_train", "num_val", "num_test", "num_ref", "seed", "cache_dir", "style_source",
                          "refine_steps", "refine_lr"))
    dm = StyleDataModule(num_train=num_train, num_val=num_val, num_test=num_test, num_ref=num_ref, seed=seed,
                         cache_dir=cache_dir or str(default_cache_dir(args["runs_root"])))
    dm.setup()
    table = score(m, dm, style_source)
    rows = {"model": table}
    if refine_steps:
        if style_source:
            m.hparams.style_source = style_source
        reference_styles(m, dm)
        errs = {}
        for env, w in dm.splits["test"].items():
            ref = torch.from_numpy(dm.splits["ref"][env].traj).float()
            e = [displacement_errors(refine_batch(m, b, ref, steps=refine_steps, lr=refine_lr,
                                                  leak=style_source == "leak")[1], b["fut"])
                 for b in batches_of(w, dm.labels[env], 64)]
            errs[env] = torch.cat(e).double().numpy()
        rows[f"refined ({refine_steps} steps)"] = style_table(errs)
    table = format_table(rows)
    print(table)
    write_metrics(run, rows)
    (run / "table.md").write_text(table + "\n")
    if "0.7" in dm.splits["test"]:
        if style_source:
            m.hparams.style_source = style_source
        reference_styles(m, dm)
        ex = example_predictions({"CV": None, "model": m}, dm, "0.7")
        plot_scenes(ex["obs"], ex["fut"], ex["preds"], ex["seq_start_end"], run / "plots" / "predictions_0.7.png",
                    "style 0.7: observed, truth (dashed), predictions")
    return rows


def eth_ucy(fold: str = "eth", risk: str = "erm", lambda_irm: float = 0.0, lambda_vrex: float = 0.0,
            max_epochs: list[int] = [150, 100, 150],  # noqa: B006
            spurious: bool = False, test_alphas: list[float] = [1, 2, 4, 8, 16, 32, 64],  # noqa: B006
            max_train_scenes: int = 0, seed: int = 0, runs_root: str = "runs", name: str = "",
            max_minutes: float = 0.0, data_root: str | None = None, format: str = "eth_ucy", resume: bool = False,
            progress: bool = True, trainer: TrainerOptions = TrainerOptions()) -> dict:  # noqa: B008
    """Train STGAT on a leave-one-scene-out fold with ERM / IRM / v-REx and score it (ADE/FDE, meters).

    Args:
        fold: eth, hotel, univ, zara1 or zara2.
        risk: erm, irm or vrex.
        lambda_irm: the IRMv1 penalty weight (λ), for risk irm.
        lambda_vrex: the v-REx penalty weight (β), for risk vrex. A weight the risk does not use
            is an error (``--lambda_penalty``, the one weight of earlier versions, is now
            ``--lambda_irm``; a v-REx run names its weight ``--lambda_vrex``).
        max_epochs: STGAT's three stage lengths; only stage 3 forecasts, and the scored checkpoint is
            the stage-3 epoch with the best validation ADE (the last checkpoint, with a warning,
            when a time budget ends before stage 3 is validated). ``metrics.json`` names it:
            ``scored_checkpoint``, ``scored_epoch`` (0-based) and ``scored_stage``. A resumed run
            may extend the last stage; the first two must stay as they were.
        spurious: add the spurious channel (training alphas hotel 1, univ 2, zara1 4, zara2 8);
            the test is then run once per alpha in ``test_alphas``.
        max_train_scenes: subsample each training environment (0: all).
        seed, runs_root, name: seed and run directory (``runs/motionfc/<name>/version_K``).
        max_minutes: wall-clock budget of the training (0: none); the epochs run are recorded.
        data_root: the data folder (ETH/UCY ``raw``, default ``$CONTRASTKIT_DATA/eth_ucy/raw``; Trajnet++:
            ``train/``, ``val/``, ``test/`` folders of ``.ndjson`` files named by scene).
        format: "eth_ucy" (``frame ped x y`` text files) or "trajnetpp" (ndjson).
        resume: continue the newest run of this name that has a checkpoint (its settings must
            match but for ``progress``, ``max_minutes`` and a longer last stage).
        progress: show Lightning's progress bar (one line per stage is always printed); the same
            flag as ``seqrec``'s.
        trainer: where it trains (``--trainer.devices 2 --trainer.strategy ddp``...). Under DDP
            the test metrics are summed over the ranks' disjoint shards of the test scenes;
            STGAT draws its noise per scene from each rank's generator, so they are not
            bit-identical to a one-process test (nor is one one-process test to another).
    """
    args = dict(locals())  # the command's arguments, as resolved by jsonargparse (before any other name exists)
    from dataclasses import asdict

    args["trainer"] = asdict(trainer)
    from contrastkit.train import (
        ResumeError,
        announce_run,
        failure_marked,
        fit_resumable,
        is_rank_zero,
        load_checkpoint,
        load_module,
        make_trainer,
        open_run,
        plot_loss_curves,
        save_config,
        seed_everything,
        write_metrics,
    )

    from motionfc.baselines import RISKS, FinalStageBest, StgatForecaster
    from motionfc.checkpoints import renamed_hparams
    from motionfc.data.datamodule import EthUcyDataModule
    from motionfc.data.eth_ucy import FOLDS
    from motionfc.plots import plot_eth_ucy_predictions
    from motionfc.progress import StageLines

    if risk not in RISKS or (format == "eth_ucy" and fold not in FOLDS):
        raise ValueError(f"unknown fold {fold!r} or risk {risk!r}; expected a fold in {FOLDS} and a risk in {RISKS}")
    if len(max_epochs) != 3 or min(lambda_irm, lambda_vrex) < 0:
        raise ValueError(f"max_epochs must be three stage lengths and lambda_irm, lambda_vrex >= 0; got {max_epochs}, "
                         f"{lambda_irm}, {lambda_vrex}")
    unused = [f"--{k} {v:g}" for k, v in (("lambda_irm", lambda_irm), ("lambda_vrex", lambda_vrex))
              if v and k != f"lambda_{risk}"]
    if unused:
        raise ValueError(f"risk {risk} does not use {', '.join(unused)}: IRMv1's weight is --lambda_irm, v-REx's is "
                         "--lambda_vrex (--lambda_penalty, the one weight of earlier versions, is now --lambda_irm)")
    weight = {"irm": lambda_irm, "vrex": lambda_vrex}.get(risk, 0.0)
    seed_everything(seed)
    dm = EthUcyDataModule(fold, data_root=data_root, spurious=spurious, test_alpha=float(test_alphas[0]), seed=seed,
                          max_train_scenes=max_train_scenes, format=format)
    m = StgatForecaster(risk=risk, lambda_irm=lambda_irm, lambda_vrex=lambda_vrex, epochs=tuple(max_epochs),
                        extra_channels=int(spurious),
                        obs_len=dm.obs_len)
    name = args["name"] = name or f"ethucy_{fold}_{risk}{weight:g}{'_spurious' if spurious else ''}_s{seed}"
    # the full resolved configuration: the command's arguments and every hyper-parameter of the
    # model and the data (what a resume must match)
    config = {"command": "eth-ucy", **args, "model": dict(m.hparams), "data": dict(dm.hparams)}
    run = open_run(runs_root, "motionfc", name, config, resume=resume, may_differ=ETH_UCY_MAY_DIFFER)
    if resume:
        import yaml

        saved = yaml.safe_load((run / "config.yaml").read_text()).get("max_epochs")
        if list(saved[:2]) != list(max_epochs[:2]) or max_epochs[2] < saved[2]:
            raise ResumeError(f"--resume: {run / 'config.yaml'} has stage lengths {saved}; a resume may only "
                              f"lengthen the last stage, got {list(max_epochs)}")
        save_config(run, config)  # the run now follows the extended schedule
    with failure_marked(run):
        select = FinalStageBest(run / "checkpoints" / "best.ckpt")
        extra = {"max_time": {"minutes": max_minutes}} if max_minutes else {}
        fitter = make_trainer(run, sum(max_epochs), progress=progress, num_sanity_val_steps=0, check_val_every_n_epoch=2,
                              callbacks=[select, StageLines(name)], options=(trainer or TrainerOptions()).finding_unused_parameters(), **extra)
        fit_resumable(fitter, m, dm, run_dir=run)
        if select.epoch is not None:  # the official code keeps the best validation ADE (of stage 3)
            scored = select.path
        else:
            scored = run / "checkpoints" / "last.ckpt"
            print(f"[{name}] warning: stage 3 (forecasting) was never validated (the run stopped after "
                  f"{fitter.current_epoch} of {sum(max_epochs)} epochs): scoring {scored}, whose forecaster is untrained",
                  flush=True)
        scored_epoch = int(load_checkpoint(scored)["epoch"])
        m = load_module(scored, ("motionfc",), StgatForecaster, fallback=StgatForecaster, upgrade=renamed_hparams)
        metrics = {"epochs_run": fitter.current_epoch, "scored_checkpoint": str(scored), "scored_epoch": scored_epoch,
                   "scored_stage": m.stage_of(scored_epoch), "best_val_ade": select.best}
        for a in test_alphas if spurious else [None]:
            if a is not None:
                dm.hparams.test_alpha = float(a)
                dm.splits = {}
            res = fitter.test(m, datamodule=dm, verbose=False)[0]
            key = f"alpha{a:g}/" if a is not None else ""
            metrics[f"{key}ade"], metrics[f"{key}fde"] = res["test/ade"], res["test/fde"]
        write_metrics(run, metrics)
        if is_rank_zero():
            plot_loss_curves(run, columns=["train/loss_epoch"], title=f"{name}: training loss per STGAT stage")
            plot_eth_ucy_predictions(m, dm, run / "plots" / "predictions.png", f"{name}: test scene {fold}")
            print(json.dumps(metrics, indent=1))
    announce_run(run)
    return metrics
