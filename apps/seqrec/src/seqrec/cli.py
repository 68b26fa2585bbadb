"""``seqrec fit | test | evaluate | demo`` (console script), through ``contrastkit.train.run_cli``.

    seqrec fit --config apps/seqrec/configs/beauty.yaml
    seqrec test --checkpoint runs/seqrec/beauty_mclrec/version_0/checkpoints/best.ckpt
    seqrec evaluate --model.method popularity --data.dataset Beauty
    seqrec demo

(tests/seqrec/test_docs.py parses every ``seqrec`` command of this docstring and of the README.)
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import torch
from contrastkit.train import new_run_dir, plot_loss_curves, run_cli, save_config, write_metrics

from seqrec.config import DataConfig, ModelConfig, TrainConfig
from seqrec.runner import describe_data, evaluate_run, fit_run, format_table, popularity_metrics

DEMO_DATA = {"num_users": 1500, "num_items": 300, "num_topics": 20, "seed": 0}
# The demo's MCLRec weights (its README table was made with them); the paper's are in configs/.
DEMO_MCLREC = {"lambda_cl1": 0.1, "lambda_cl2": 0.1}
# From the README's Beauty tables (CPU, one thread); said after every MCLRec fit.
MCLREC_NOTE = ("note: MCLRec learns slowly at first. On Beauty (CPU, 1 thread) ~6 min gives test HR@20 .0180, "
               "below popularity (.0195), while SASRec reaches .0602 in 4 min; after 35 min (4.8 epochs) MCLRec "
               "has .0494, past popularity but still below SASRec's .0763 at 20 min. The budget at which it "
               "overtakes SASRec is not yet measured (the paper trains up to 50 epochs on a GPU).")


# jsonargparse reads the dataclass defaults from the signature, hence the calls in the defaults.
def fit(data: DataConfig = DataConfig(), model: ModelConfig = ModelConfig(),  # noqa: B008
        train: TrainConfig = TrainConfig()) -> dict[str, float]:  # noqa: B008
    """Train one method (popularity, sasrec, cl4srec, mclrec), early-stopped, then test it."""
    run_dir, metrics = fit_run(data, model, train)
    print(f"run: {run_dir} ({describe_data(data)})\n" + format_table({model.method: metrics}))
    if model.method == "mclrec":
        print(MCLREC_NOTE)
    return metrics


def test(checkpoint: str = "", data: DataConfig | None = None, other_data: bool = False,
         exclude_history: bool = False, device: str = "cpu") -> dict[str, float]:
    """Full-ranking validation and test metrics of a checkpoint written by ``seqrec fit``.

    Args:
        checkpoint: the .ckpt file (loaded with weights_only=True: never runs code from it).
        data: the data to score on; by default the dataset the checkpoint records.
        other_data: allow data other than the checkpoint's (same item count).
        exclude_history: rank only items absent from each user's history.
        device: torch device.
    """
    if not checkpoint:
        raise ValueError("test needs --checkpoint PATH (a .ckpt written by seqrec fit)")
    metrics, what = evaluate_run(checkpoint, data, other_data=other_data, exclude_history=exclude_history,
                                 device=device)
    print(what + "\n" + format_table({Path(checkpoint).name: metrics}))
    return metrics


def evaluate(data: DataConfig | None = None, model: ModelConfig = ModelConfig(method="popularity"),  # noqa: B008
             checkpoint: str | None = None, other_data: bool = False, device: str = "cpu") -> dict[str, float]:
    """Evaluate the popularity ranking (``--model.method popularity``) or a checkpoint (as ``test``).

    Args:
        data: the data (popularity: default synthetic; a checkpoint: the dataset it records).
        model: ``method popularity`` and ``exclude_history``; other settings are unused here.
        checkpoint: a .ckpt file written by ``seqrec fit`` (loaded with weights_only=True).
        other_data: allow a checkpoint to be scored on data other than its own.
        device: torch device.
    """
    if checkpoint:
        return test(checkpoint, data, other_data, model.exclude_history, device)
    if model.method != "popularity":
        raise ValueError("evaluate without --checkpoint only evaluates --model.method popularity")
    data = data or DataConfig()
    metrics = popularity_metrics(data, model.exclude_history)
    print(f"popularity on {describe_data(data)}\n" + format_table({"popularity": metrics}))
    return metrics


def demo(root: str = "runs", epochs: int = 15, num_users: int = 1500, num_items: int = 300,
         methods: tuple[str, ...] = ("popularity", "sasrec", "mclrec"), threads: int = 1,
         progress: bool = True) -> dict[str, float]:
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
        model = ModelConfig(method=method, **(DEMO_MCLREC if method == "mclrec" else {}))
        _, metrics = fit_run(data, model, replace(train, name=f"demo_{method}"))
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


def _log_to_console() -> None:
    """Show the ``seqrec`` logger's INFO lines (what each reader read and skipped) on stderr."""
    log = logging.getLogger("seqrec")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("seqrec: %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)


def main(argv: list[str] | None = None):
    """Console entry point: the command's metrics when called with ``argv``, None from the console
    script (see :func:`contrastkit.train.run_cli`)."""
    _log_to_console()
    return run_cli("seqrec", commands={"fit": fit, "test": test, "evaluate": evaluate, "demo": demo}, argv=argv)


if __name__ == "__main__":
    main()
