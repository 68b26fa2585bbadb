"""``seqrec fit | test | evaluate | demo`` (console script), through ``contrastkit.train.run_cli``.

    seqrec fit --config apps/seqrec/configs/beauty_mclrec.yaml
    seqrec test --checkpoint runs/seqrec/beauty_mclrec/version_0/checkpoints/best.ckpt --data.dataset Beauty
    seqrec evaluate --model.method popularity --data.dataset Beauty
    seqrec demo
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
from contrastkit.train import new_run_dir, plot_loss_curves, run_cli, save_config, write_metrics

from seqrec.config import DataConfig, ModelConfig, TrainConfig
from seqrec.runner import evaluate_run, fit_run, format_table, popularity_metrics

DEMO_DATA = {"num_users": 1500, "num_items": 300, "num_topics": 20, "seed": 0}


# jsonargparse reads the dataclass defaults from the signature, hence the calls in the defaults.
def fit(data: DataConfig = DataConfig(), model: ModelConfig = ModelConfig(),  # noqa: B008
        train: TrainConfig = TrainConfig()) -> dict[str, float]:  # noqa: B008
    """Train one method (popularity, sasrec, cl4srec, mclrec), early-stopped, then test it."""
    run_dir, metrics = fit_run(data, model, train)
    print(f"run: {run_dir}\n" + format_table({model.method: metrics}))
    return metrics


def test(checkpoint: str = "", data: DataConfig = DataConfig(), exclude_history: bool = False,  # noqa: B008
         device: str = "cpu") -> dict[str, float]:
    """Full-ranking validation and test metrics of a checkpoint written by ``seqrec fit``."""
    if not checkpoint:
        raise ValueError("test needs --checkpoint PATH (a .ckpt written by seqrec fit)")
    metrics = evaluate_run(checkpoint, data, exclude_history, device)
    print(format_table({Path(checkpoint).name: metrics}))
    return metrics


def evaluate(data: DataConfig = DataConfig(), model: ModelConfig = ModelConfig(method="popularity"),  # noqa: B008
             checkpoint: str | None = None, device: str = "cpu") -> dict[str, float]:
    """Evaluate the popularity ranking (``--model.method popularity``) or a checkpoint."""
    if checkpoint:
        return test(checkpoint, data, model.exclude_history, device)
    if model.method != "popularity":
        raise ValueError("evaluate without --checkpoint only evaluates --model.method popularity")
    metrics = popularity_metrics(data, model.exclude_history)
    print(format_table({"popularity": metrics}))
    return metrics


def demo(root: str = "runs", epochs: int = 15, num_users: int = 1500, num_items: int = 300,
         methods: tuple[str, ...] = ("popularity", "sasrec", "mclrec"), threads: int = 1,
         progress: bool = False) -> dict[str, float]:
    """Train and evaluate on synthetic sequences (no real data), a few minutes on a CPU.

    Writes ``<root>/seqrec/demo/version_K/`` (config.yaml, metrics.json, plots/) with each method's
    run under ``<root>/seqrec/demo_<method>/``; prints the test table and returns the metrics.
    """
    torch.set_num_threads(threads)
    run_dir = new_run_dir(root, "seqrec", "demo")
    synthetic = {**DEMO_DATA, "num_users": num_users, "num_items": num_items}
    data = DataConfig(dataset="synthetic", batch_size=128, synthetic=synthetic)
    train = TrainConfig(max_epochs=epochs, patience=5, root=root, threads=threads, progress=progress)
    save_config(run_dir, {"data": vars(data), "train": vars(train), "methods": list(methods)})
    rows, flat = {}, {}
    for method in methods:
        _, metrics = fit_run(data, ModelConfig(method=method), replace(train, name=f"demo_{method}"))
        rows[method] = metrics
        flat.update({f"{method}/{k}": v for k, v in metrics.items() if k.startswith("test/")})
    write_metrics(run_dir, flat)
    table = format_table(rows)
    (run_dir / "results.md").write_text(table + "\n")
    last = Path(root) / "seqrec" / f"demo_{methods[-1]}"
    versions = sorted(last.glob("version_*"), key=lambda p: int(p.name.split("_")[1]))
    if versions and (versions[-1] / "logs").is_dir():
        plot_loss_curves(versions[-1], run_dir / "plots" / "loss.png")
    print(f"run: {run_dir}\n{table}")
    return flat


def main(argv: list[str] | None = None):
    """Console entry point: the command's metrics when called with ``argv``, None from the console
    script (see :func:`contrastkit.train.run_cli`)."""
    return run_cli("seqrec", commands={"fit": fit, "test": test, "evaluate": evaluate, "demo": demo}, argv=argv)


if __name__ == "__main__":
    main()
