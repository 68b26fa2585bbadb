"""``motionfc simulate | fit | test | evaluate | eth-ucy | demo``.

``fit`` / ``test`` are LightningCLI on the style study (:class:`~motionfc.method.CausalMotion`
with :class:`~motionfc.data.datamodule.StyleDataModule`; ``--config configs/style_*.yaml``).
"""

from __future__ import annotations

import json

from motionfc.demo import demo


def simulate(styles: list[float] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], num_train: int = 1000,  # noqa: B006
             num_val: int = 200, num_test: int = 500, num_ref: int = 64, seed: int = 0,
             cache_dir: str | None = None) -> dict:
    """Simulate (or load from the cache) the ORCA style dataset and print each split's minimum separation.

    Args:
        styles: ORCA radii (the styles) to simulate.
        num_train, num_val, num_test, num_ref: scenes per style and split.
        seed: generation seed.
        cache_dir: cache folder (default ``$MOTIONFC_CACHE`` or ``~/.cache/motionfc``).
    """
    import numpy as np

    from motionfc.data.synthetic import style_scenes

    out = {}
    for r in styles:
        for split, n in (("train", num_train), ("val", num_val), ("test", num_test), ("ref", num_ref)):
            s = style_scenes(r, split, n, seed=seed, cache_dir=cache_dir)
            out[f"{r:.1f}/{split}"] = {"scenes": n, "min_separation": float(np.linalg.norm(s[:, 0] - s[:, 1], axis=-1).min())}
    print(json.dumps(out, indent=1))
    return out


def evaluate(checkpoint: str = "", style_source: str | None = None, num_train: int = 1000, num_val: int = 200,
             num_test: int = 500, num_ref: int = 64, seed: int = 0, cache_dir: str | None = None,
             refine_steps: int = 0, refine_lr: float = 1e-3) -> dict:
    """Score a style-study checkpoint on all eight styles (IID / OoD-inter / OoD-extra ADE/FDE).

    Args:
        checkpoint: a CausalMotion checkpoint (``runs/motionfc/.../checkpoints/last.ckpt``).
        style_source: override the style source ("reference", "leak"; "observed" models stay observed).
        num_train, num_val, num_test, num_ref, seed, cache_dir: the dataset (as trained).
        refine_steps: test-time refinement steps (0: none), with learning rate ``refine_lr``.
    """
    import torch

    from motionfc.data.datamodule import StyleDataModule
    from motionfc.evaluate import batches_of, style_table
    from motionfc.method import CausalMotion
    from motionfc.metrics import displacement_errors
    from motionfc.study import format_table, reference_styles, score
    from motionfc.transfer import refine_batch

    if not checkpoint:
        raise ValueError("evaluate needs --checkpoint (a CausalMotion .ckpt)")
    m = CausalMotion.load_from_checkpoint(checkpoint, map_location="cpu")
    dm = StyleDataModule(num_train=num_train, num_val=num_val, num_test=num_test, num_ref=num_ref, seed=seed,
                         cache_dir=cache_dir)
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
    print(format_table(rows))
    return rows


def eth_ucy(fold: str = "eth", risk: str = "erm", weight: float = 0.0, epochs: list[int] = [150, 100, 150],  # noqa: B006
            spurious: bool = False, test_alphas: list[float] = [1, 2, 4, 8, 16, 32, 64],  # noqa: B006
            max_train_scenes: int = 0, seed: int = 0, runs_root: str = "runs", name: str = "",
            max_minutes: float = 0.0, root: str | None = None, resume: bool = False) -> dict:
    """Train STGAT on a leave-one-scene-out fold with ERM / IRM / v-REx and score it (ADE/FDE, meters).

    Args:
        fold: eth, hotel, univ, zara1 or zara2.
        risk: erm, irm or vrex; weight: the IRM lambda or v-REx beta.
        epochs: STGAT's three stage lengths.
        spurious: add the spurious channel (training alphas hotel 1, univ 2, zara1 4, zara2 8);
            the test is then run once per alpha in ``test_alphas``.
        max_train_scenes: subsample each training environment (0: all).
        seed, runs_root, name: seed and run directory (``runs/motionfc/<name>/version_K``).
        max_minutes: wall-clock budget of the training (0: none); the epochs run are recorded.
        root: ETH/UCY ``raw`` folder (default ``$CONTRASTKIT_DATA/eth_ucy/raw``).
        resume: continue the latest run of this name from its ``last.ckpt`` instead of starting a new version.
    """
    import torch
    from contrastkit.train import (
        fit_resumable,
        make_trainer,
        new_run_dir,
        save_config,
        seed_everything,
        write_metrics,
    )

    from motionfc.baselines import RISKS, StgatForecaster
    from motionfc.data.datamodule import EthUcyDataModule
    from motionfc.data.eth_ucy import FOLDS

    if fold not in FOLDS or risk not in RISKS:
        raise ValueError(f"unknown fold {fold!r} or risk {risk!r}; expected a fold in {FOLDS} and a risk in {RISKS}")
    if len(epochs) != 3 or weight < 0:
        raise ValueError(f"epochs must be three stage lengths and weight >= 0; got {epochs}, {weight}")
    torch.set_num_threads(1)
    seed_everything(seed)
    run = new_run_dir(runs_root, "motionfc", name or f"ethucy_{fold}_{risk}{weight:g}{'_spurious' if spurious else ''}_s{seed}",
                      resume=resume)
    save_config(run, {"fold": fold, "risk": risk, "weight": weight, "epochs": list(epochs), "spurious": spurious, "seed": seed,
                          "max_train_scenes": max_train_scenes})
    dm = EthUcyDataModule(fold, root=root, spurious=spurious, test_alpha=float(test_alphas[0]), seed=seed,
                          max_train_scenes=max_train_scenes)
    m = StgatForecaster(risk=risk, weight=weight, epochs=tuple(epochs), extra_channels=int(spurious))
    extra = {"max_time": {"minutes": max_minutes}} if max_minutes else {}
    trainer = make_trainer(run, sum(epochs), monitor="val/ade", mode="min", progress=False, num_sanity_val_steps=0,
                           check_val_every_n_epoch=2, **extra)
    best = fit_resumable(trainer, m, dm, run_dir=run)
    m = StgatForecaster.load_from_checkpoint(best, map_location="cpu")  # the official keeps the best validation ADE
    metrics = {"epochs_run": trainer.current_epoch, "best_checkpoint": str(best)}
    for a in test_alphas if spurious else [None]:
        if a is not None:
            dm.hparams.test_alpha = float(a)
            dm.splits = {}
        res = trainer.test(m, datamodule=dm, verbose=False)[0]
        key = f"alpha{a:g}/" if a is not None else ""
        metrics[f"{key}ade"], metrics[f"{key}fde"] = res["test/ade"], res["test/fde"]
    write_metrics(run, metrics)
    print(json.dumps(metrics, indent=1))
    return metrics


def main(argv: list[str] | None = None):
    """Console entry of ``motionfc``: the command's result when called with ``argv``, None from the
    console script (see :func:`contrastkit.train.run_cli`)."""
    from contrastkit.train import run_cli

    from motionfc.data.datamodule import StyleDataModule
    from motionfc.method import CausalMotion

    return run_cli("motionfc", CausalMotion, StyleDataModule,
                   {"simulate": simulate, "evaluate": evaluate, "eth-ucy": eth_ucy, "demo": demo}, argv)
