"""``seqrec demo``: popularity, SASRec and MCLRec on generated sequences (no real data needed)."""

from __future__ import annotations

from contrastkit.train import announce_run, failure_marked, open_run, plot_loss_curves, write_metrics

from seqrec.config import DataConfig, ModelConfig, TrainConfig
from seqrec.runner import fit_run, format_table

DEMO_DATA = {"num_users": 1500, "num_items": 300, "num_topics": 20, "seed": 0}
# The demo's MCLRec weights (its README table was made with them); the paper's are in configs/.
DEMO_MCLREC = {"lambda_cl1": 0.1, "lambda_cl2": 0.1}


def demo(root: str = "runs", epochs: int = 15, num_users: int = 1500, num_items: int = 300,
         methods: tuple[str, ...] = ("popularity", "sasrec", "mclrec"), progress: bool = True) -> dict[str, float]:
    """Train and evaluate on synthetic sequences (no real data), a few minutes on a CPU.

    Writes ``<root>/seqrec/demo/version_K/`` (config.yaml, metrics.json, results.md, plots/) with
    each method's run under ``<root>/seqrec/demo_<method>/``; prints the test table and returns
    the metrics (``<method>/test/<metric>``).

    Args:
        root: the runs folder.
        epochs: the most epochs per method (early stopping after 5 without a better val NDCG@20).
        num_users: synthetic users.
        num_items: synthetic items.
        methods: the methods to run, in order (popularity, sasrec, cl4srec, mclrec).
        progress: show Lightning's progress bars.
    """
    synthetic = {**DEMO_DATA, "num_users": num_users, "num_items": num_items}
    data = DataConfig(dataset="synthetic", batch_size=128, synthetic=synthetic)
    train = TrainConfig(max_epochs=epochs, patience=5, root=root)
    config = {"data": vars(data), "train": vars(train), "methods": list(methods)}
    run_dir = open_run(root, "seqrec", "demo", config)
    with failure_marked(run_dir):
        rows, flat, trained = {}, {}, None
        for method in methods:
            model = ModelConfig(method=method, **(DEMO_MCLREC if method == "mclrec" else {}))
            method_run, metrics = fit_run(data, model, TrainConfig(**{**vars(train), "name": f"demo_{method}"}),
                                          progress=progress)
            rows[method] = metrics
            flat.update({f"{method}/{k}": v for k, v in metrics.items() if k.startswith("test/")})
            trained = method_run if method != "popularity" else trained
        write_metrics(run_dir, flat)
        table = format_table(rows)
        (run_dir / "results.md").write_text(table + "\n")
        if trained is not None:  # the loss curves of the last method that trained
            plot_loss_curves(trained, run_dir / "plots" / "loss.png", title=f"losses of {trained.parent.name}")
    print(table)
    announce_run(run_dir)
    return flat
