"""``motionfc demo``: simulate a small multi-style set, train ERM and the modular model briefly,
print the IID / OoD-inter / OoD-extra table and write the run directory.

Under DDP (``--trainer.devices 2 --trainer.strategy ddp``) every process trains (the launcher
re-runs the command for ranks 1..N-1); the table is then computed by rank 0 alone, over the whole
test split, from its copy of the trained weights (the same on every rank).
"""

from __future__ import annotations

import json
import time

from contrastkit.train.trainer import TrainerOptions


def demo(runs_root: str = "runs", num_train: int = 1000, num_val: int = 100, num_test: int = 200, num_ref: int = 64,
         max_epochs_p3: int = 200, max_epochs_p4: int = 50, max_epochs_p5: int = 20, max_epochs_p6: int = 100, seed: int = 0,
         cache_dir: str | None = None, name: str = "demo", progress: bool = True, resume: bool = False,
         trainer: TrainerOptions = TrainerOptions()) -> dict:  # noqa: B008 - a dataclass of plain values
    """Run the style-study demo (a few minutes on two CPU cores) and return its metrics.

    Args:
        runs_root: where ``motionfc/<name>/version_K`` is written.
        num_train: scenes per training style (0.1, 0.3, 0.5); num_val likewise.
        num_test: test scenes per style (all eight); num_ref: reference scenes per style.
        max_epochs_p3..max_epochs_p6: epochs of the four training stages (P3..P6) (ERM uses only P3).
        seed: seed of the simulation and of training.
        cache_dir: simulation cache (default ``<runs_root>/motionfc/cache``).
        name: run name under ``runs/motionfc/``.
        progress: show Lightning's progress bar while training (a line per step of the demo and
            per training stage is always printed); the same flag as ``seqrec``'s.
        resume: continue the newest ``demo`` run of this name that has a checkpoint (a finished
            model is kept, an interrupted one continues from its ``last.ckpt``); the settings
            must match but for ``progress`` and where it runs (devices, nodes, strategy,
            accelerator).
        trainer: where it trains (``--trainer.devices 2 --trainer.strategy ddp``...).
    """
    from dataclasses import asdict

    from contrastkit.train import announce_run, failure_marked, open_run

    from motionfc.commands import WHERE_IT_RUNS

    t0 = time.time()
    config = {"command": "demo", "runs_root": runs_root, "name": name, "num_train": num_train, "num_val": num_val,
              "num_test": num_test, "num_ref": num_ref, "seed": seed,
              "epochs": [max_epochs_p3, max_epochs_p4, max_epochs_p5, max_epochs_p6], "cache_dir": cache_dir, "progress": progress,
              "resume": resume, "trainer": asdict(trainer)}
    run = open_run(runs_root, "motionfc", name, config, resume=resume, may_differ=("resume", "progress", *WHERE_IT_RUNS))
    with failure_marked(run):
        metrics = _demo(run, config, t0, progress, trainer)
    announce_run(run)
    return metrics


def say(line: str) -> None:
    """Print ``line`` (flushed) from rank 0 only: one console under DDP."""
    from contrastkit.train import is_rank_zero

    if is_rank_zero():
        print(line, flush=True)


def _demo(run, config: dict, t0: float, progress: bool, options: TrainerOptions) -> dict:
    """The demo's work in its run directory ``run`` (see :func:`demo`)."""
    import torch
    from contrastkit.train import (
        is_rank_zero,
        plot_embeddings,
        plot_loss_curves,
        seed_everything,
        write_metrics,
    )

    from motionfc.data.datamodule import StyleDataModule
    from motionfc.plots import plot_scenes
    from motionfc.study import example_predictions, format_table, score, train_method

    seed, epochs = config["seed"], tuple(config["epochs"])
    say(f"motionfc demo: run {run}; simulating the eight ORCA styles (cached after the first run)")
    seed_everything(seed)
    from motionfc.data.synthetic import default_cache_dir

    dm = StyleDataModule(**{k: config[k] for k in ("num_train", "num_val", "num_test", "num_ref", "seed")},
                         cache_dir=config["cache_dir"] or str(default_cache_dir(config["runs_root"])))
    dm.setup()
    models = {}
    for method in ("erm", "modular"):
        say(f"motionfc demo: training {method} ({time.time() - t0:.0f} s)")
        models[method] = train_method(method, dm, run / method, epochs=epochs, progress=progress, options=options)
    if not is_rank_zero():  # the other ranks have trained; rank 0 scores and writes
        return {}
    say(f"motionfc demo: scoring on the eight styles ({time.time() - t0:.0f} s)")
    rows = {"constant velocity": score(None, dm), "ERM": score(models["erm"], dm),
            "modular (style from reference scenes)": score(models["modular"], dm),
            "modular, official leak (style from scored futures)": score(models["modular"], dm, "leak")}
    table = format_table(rows)
    say(table)
    (run / "table.json").write_text(json.dumps(rows, indent=1))  # per style and group; metrics.json stays flat
    metrics = {"seconds": time.time() - t0}
    for key, row in zip(("cv", "erm", "modular", "modular_leak"), rows.values()):
        for g in ("iid", "ood_inter", "ood_extra"):
            metrics[f"{key}/{g}/ade"] = row[g]["ade"]
            metrics[f"{key}/{g}/fde"] = row[g]["fde"]
    from motionfc.evaluate import style_error_rate

    metrics["modular/style_error_8_styles"] = style_error_rate(models["modular"].model.style_encoder, dm.splits["ref"],
                                                               dm.splits["test"], dm.labels)
    say(f"style encoder: linear-probe error rate over the 8 styles = {metrics['modular/style_error_8_styles']:.3f}")
    write_metrics(run, metrics)
    ex = example_predictions({"CV": None, "ERM": models["erm"], "modular": models["modular"]}, dm, "0.7")
    plot_scenes(ex["obs"], ex["fut"], ex["preds"], ex["seq_start_end"], run / "plots" / "predictions_0.7.png",
                "style 0.7 (extrapolation): observed, truth (dashed), predictions")
    for m in models:
        try:
            plot_loss_curves(run / m, run / "plots" / f"loss_{m}.png", columns=["train/loss_epoch"],
                             title=f"{m}: training loss per stage")
        except (FileNotFoundError, ValueError, KeyError):
            pass  # no CSV log to plot (e.g. zero epochs)
    enc = models["modular"].model.style_encoder
    embs, labs = [], []
    with torch.no_grad():
        for env, w in dm.splits["test"].items():
            embs.append(enc.embed(enc.codes(torch.from_numpy(w.traj).float())))
            labs += [float(env)] * w.num_scenes
    plot_embeddings(torch.cat(embs).numpy(), labs, run / "plots" / "style_embeddings.png", "style embeddings (test)")
    (run / "table.md").write_text(table + "\n")
    say(f"motionfc demo: done in {time.time() - t0:.0f} s")
    metrics["run_dir"] = str(run)
    return json.loads(json.dumps(metrics))
