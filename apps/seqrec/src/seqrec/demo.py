"""``seqrec demo``: popularity, SASRec and MCLRec on generated sequences (no real data needed)."""

from __future__ import annotations

from contrastkit.train import (
    TrainerOptions,
    announce_run,
    failure_marked,
    is_rank_zero,
    open_run,
    plot_loss_curves,
    write_metrics,
)

from seqrec.config import DataConfig, ModelConfig, TrainConfig
from seqrec.runner import MAY_DIFFER, Part, check_method, fit_parts, format_table

DEMO_DATA = {"num_users": 1500, "num_items": 300, "num_topics": 20, "seed": 0}
# The demo's MCLRec weights (its README table was made with them); the paper's are in configs/.
DEMO_MCLREC = {"lambda_cl1": 0.1, "lambda_cl2": 0.1}
# The seed of the demo's fits: its README table was made with it (the fits' default seed was 2020).
DEMO_SEED = 2020


def demo(runs_root: str = "runs", max_epochs: int = 15, num_users: int = 1500, num_items: int = 300,
         methods: tuple[str, ...] = ("popularity", "sasrec", "mclrec"), progress: bool = True,
         resume: bool = False, trainer: TrainerOptions = TrainerOptions()) -> dict[str, float]:  # noqa: B008
    """Train and evaluate on synthetic sequences (no real data), a few minutes on a CPU.

    Writes ``<runs_root>/seqrec/demo/version_K/`` (config.yaml, metrics.json, results.md, plots/) with
    each method's run inside it, ``<method>/`` (checkpoints, logs, metrics.json); prints the test
    table and returns the metrics (``<method>/test/<metric>``).

    Args:
        runs_root: the runs folder.
        max_epochs: the most epochs per method (early stopping after 5 without a better val NDCG@20).
        num_users: synthetic users.
        num_items: synthetic items.
        methods: the methods to run, in order (popularity, sasrec, cl4srec, mclrec).
        progress: show Lightning's progress bars.
        resume: continue the newest demo run that has a checkpoint: methods that early stopping
            ended are read back, the interrupted one continues from its last epoch.
        trainer: where the methods train (``--trainer.devices 2 --trainer.strategy ddp``...).
    """
    for method in methods:
        check_method(method)
    synthetic = {**DEMO_DATA, "num_users": num_users, "num_items": num_items}
    data = DataConfig(dataset="synthetic", batch_size=128, synthetic=synthetic)
    train = TrainConfig(patience=5)
    config = {"data": vars(data), "train": vars(train), "max_epochs": max_epochs, "seed": DEMO_SEED,
              "methods": list(methods), "trainer": vars(trainer)}
    run_dir = open_run(runs_root, "seqrec", "demo", config, resume=resume, may_differ=MAY_DIFFER)
    with failure_marked(run_dir):
        parts = {m: Part(ModelConfig(method=m, **(DEMO_MCLREC if m == "mclrec" else {})), train, DEMO_SEED)
                 for m in methods}
        rows = fit_parts(run_dir, data, parts, max_epochs, progress, trainer)
        flat = {f"{m}/{k}": v for m, metrics in rows.items() for k, v in metrics.items() if k.startswith("test/")}
        write_metrics(run_dir, flat)
        table = format_table(rows)
        trained = [m for m in methods if m != "popularity"]
        if is_rank_zero():
            (run_dir / "results.md").write_text(table + "\n")
            if trained:  # the loss curves of the last method that trained
                plot_loss_curves(run_dir / trained[-1], run_dir / "plots" / "loss.png",
                                 title=f"losses of {trained[-1]}")
    if is_rank_zero():
        print(table)
    announce_run(run_dir)
    return flat
