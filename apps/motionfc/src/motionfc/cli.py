"""``motionfc simulate | fit | test | evaluate | eth-ucy | demo | study | report | embed | forecast | export``.

``fit`` / ``test`` are LightningCLI on the style study (:class:`~motionfc.method.CausalMotion`
with :class:`~motionfc.data.datamodule.StyleDataModule`; ``--config configs/style_*.yaml``);
``study`` runs the paper's experiments (:class:`motionfc.experiments.Study`), ``report`` makes
the README's tables from their summaries (:func:`motionfc.report.report`).
"""

from __future__ import annotations

import json


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
    from contrastkit.train import announce_run, failure_marked, open_run

    from motionfc.checkpoints import load_module
    from motionfc.method import CausalMotion

    if not ckpt_path:
        raise ValueError("evaluate needs --ckpt_path (a CausalMotion .ckpt)")
    m = load_module(CausalMotion, ckpt_path)  # a bad checkpoint stops before a run directory exists
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
    from motionfc.evaluate import batches_of, style_table
    from motionfc.metrics import displacement_errors
    from motionfc.plots import plot_scenes
    from motionfc.study import example_predictions, format_table, reference_styles, score
    from motionfc.transfer import refine_batch

    num_train, num_val, num_test, num_ref, seed, cache_dir, style_source, refine_steps, refine_lr = (
        args[k] for k in ("num_train", "num_val", "num_test", "num_ref", "seed", "cache_dir", "style_source",
                          "refine_steps", "refine_lr"))
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


def main(argv: list[str] | None = None):
    """Console entry of ``motionfc``: the command's result when called with ``argv``, None from the
    console script (see :func:`contrastkit.train.run_cli`)."""
    from contrastkit.train.cli import run_cli

    return run_cli("motionfc", "motionfc.method:CausalMotion", "motionfc.data.datamodule:StyleDataModule",
                   {"simulate": simulate, "evaluate": evaluate, "eth-ucy": "motionfc.commands:eth_ucy", "demo": "motionfc.demo:demo",
                    "study": "motionfc.experiments:Study", "report": "motionfc.report:report",
                    "embed": "motionfc.use:embed", "forecast": "motionfc.use:forecast",
                    "export": "motionfc.use:export"}, argv)
