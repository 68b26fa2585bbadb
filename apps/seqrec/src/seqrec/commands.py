"""``seqrec fit``, ``seqrec test`` and ``seqrec evaluate``: thin typed commands over :mod:`seqrec.runner`.

Their parameters are the flags (jsonargparse): ``--data.*`` (:data:`~seqrec.config.DataConfig`,
the data module's arguments), ``--model.*`` (:data:`~seqrec.config.ModelConfig`, the method
classes' arguments), ``--train.*`` (:class:`~seqrec.config.TrainConfig`), or ``--config x.yaml``
with the same three sections. ``--threads N`` is handled by ``contrastkit.train.run_cli``.
"""

from __future__ import annotations

from pathlib import Path

from contrastkit.train import announce_run

from seqrec.config import DataConfig, ModelConfig, TrainConfig
from seqrec.runner import describe_data, evaluate_run, fit_run, format_table, popularity_metrics

# From the README's Beauty tables (CPU, one thread); said after every MCLRec fit.
MCLREC_NOTE = ("note: MCLRec learns slowly at first. On Beauty (CPU, 1 thread) ~6 min gives test HR@20 .0180, "
               "below popularity (.0195), while SASRec reaches .0602 in 4 min; after 35 min (4.8 epochs) MCLRec "
               "has .0494, past popularity but still below SASRec's .0763 at 20 min. The budget at which it "
               "overtakes SASRec is not yet measured (the paper trains up to 50 epochs on a GPU).")


# jsonargparse reads the dataclass defaults from the signature, hence the calls in the defaults.
def fit(data: DataConfig = DataConfig(), model: ModelConfig = ModelConfig(),  # noqa: B008
        train: TrainConfig = TrainConfig(), resume: bool = False,  # noqa: B008
        progress: bool = True) -> dict[str, float]:
    """Train one method (popularity, sasrec, cl4srec, mclrec), early-stopped, then test it.

    Args:
        data: the data (the data module's arguments).
        model: the method and its settings.
        train: epochs, early stopping, seed, run name and device.
        resume: continue the newest run of ``train.name`` that has a checkpoint (same settings;
            ``max_epochs`` and ``max_time`` may grow).
        progress: show Lightning's progress bar.
    """
    run_dir, metrics = fit_run(data, model, train, resume=resume, progress=progress)
    print(f"{model.method} on {describe_data(data)}\n" + format_table({model.method: metrics}))
    if model.method == "mclrec":
        print(MCLREC_NOTE)
    announce_run(run_dir)
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
