"""The standard commands that train or score: demo, evaluate, study."""

from __future__ import annotations

from contrastkit.train import (
    announce_run,
    failure_marked,
    fit_resumable,
    make_trainer,
    markdown_table,
    open_run,
    seed_table,
    write_metrics,
    write_table,
)
from contrastkit.train.units import StudyUnits

from toyapp.data import ToyDataModule
from toyapp.method import ToyContrastive


def probe_accuracy(module: ToyContrastive, data: ToyDataModule) -> float:
    """Test accuracy of a linear probe fitted on the training points' embeddings."""
    from contrastkit.eval.linear_probe import linear_probe

    data.setup()
    (xtr, ytr, _), (xte, yte, _) = (data.splits[s].tensors for s in ("train", "test"))
    return linear_probe(module.embed(xtr), ytr, module.embed(xte), yte).metrics["accuracy"]


def train(run_dir, max_epochs: int, seed: int, progress: bool = False) -> tuple[ToyContrastive, ToyDataModule]:
    """Fit a model in ``run_dir`` (continuing from its checkpoint when it has one)."""
    import lightning as L

    L.seed_everything(seed, verbose=False)
    data, module = ToyDataModule(seed=seed), ToyContrastive()
    fit_resumable(make_trainer(run_dir, max_epochs, progress=progress), module, data, run_dir=run_dir)
    return module.eval(), data


def demo(max_epochs: int = 5, seed: int = 0, name: str = "demo", runs_root: str = "runs", resume: bool = False,
         progress: bool = False) -> dict:
    """Train on the toy clusters and score a linear probe; ``--resume`` continues a stopped demo.

    Args:
        max_epochs: training epochs. seed: data, weights and batches.
        name / runs_root: the run folder ``<runs_root>/toyapp/<name>/version_K``.
        resume: continue the newest run of that name. progress: show a progress bar.
    """
    run_dir = open_run(runs_root, "toyapp", name, {"max_epochs": max_epochs, "seed": seed}, resume=resume)
    with failure_marked(run_dir):
        module, data = train(run_dir, max_epochs, seed, progress)
        metrics = {"probe_accuracy": probe_accuracy(module, data)}
        write_metrics(run_dir, metrics)
    announce_run(run_dir)
    return metrics


def evaluate(ckpt_path: str = "", name: str = "evaluate", runs_root: str = "runs") -> dict:
    """Score a checkpoint's linear probe on the test points of the data it was trained on.

    Args:
        ckpt_path: a ``.ckpt`` of ``fit``, ``demo`` or ``study``.
        name / runs_root: the run folder.
    """
    from toyapp.use import model_and_data

    module, data = model_and_data(ckpt_path)
    run_dir = open_run(runs_root, "toyapp", name, {"ckpt_path": str(ckpt_path)})
    metrics = {"probe_accuracy": probe_accuracy(module, data), "checkpoint": str(ckpt_path)}
    write_metrics(run_dir, metrics)
    announce_run(run_dir)
    return metrics


def study(seeds: list[int] = [0, 1, 2], max_epochs: int = 5, name: str = "study", runs_root: str = "runs",  # noqa: B006
          resume: bool = False) -> dict:
    """The demo per seed; ``table.md``/``table.csv`` give mean ± sample std over seeds.

    Args:
        seeds: one unit each (``--resume`` keeps the finished ones). max_epochs: per unit.
        name / runs_root: the run folder.
        resume: continue the newest run of that name.
    """
    run_dir = open_run(runs_root, "toyapp", name, {"seeds": list(seeds), "max_epochs": max_epochs}, resume=resume)
    with failure_marked(run_dir):
        units = StudyUnits(run_dir, resume=resume, label="[toyapp]")
        for seed in seeds:
            units.run(f"seed{seed}", lambda seed=seed: {
                "probe_accuracy": probe_accuracy(*train(run_dir / f"seed{seed}", max_epochs, seed))})
        header, rows = seed_table({"toy": {"probe_accuracy": [u["probe_accuracy"] for u in units.results.values()]}},
                                  ["probe_accuracy"])
        write_table(run_dir / "table", header, rows)
    print(markdown_table(header, rows))
    announce_run(run_dir)
    return units.results
