"""``slu evaluate`` (one task state on one split: accuracy per task, overall accuracy, WER) and
``slu validate`` / ``slu test`` (every task state of a run, task by task, on the validation / test
split: the accuracy matrix and the continual-learning metrics read from it).

Each writes ``metrics.json`` into its own run folder ``<runs_root>/slu/<name>/version_K/``.
``validate`` and ``test`` score on the data settings the run was trained with (its ``config.yaml``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from slu.data.datamodule import DataConfig


def _scored_data(model_meta: tuple, data: DataConfig, split: str, ckpt_path: str, runs_root: str):
    """The prepared ``data`` with the run's tokenizer (classes checked), and its ``split`` known to have clips."""
    from slu.data.corpus import SPLITS
    from slu.data.datamodule import prepare_data

    _, tok, meta = model_meta
    prepared = prepare_data(data, runs_root)
    if prepared.corpus.classes != meta["classes"]:
        raise ValueError(f"{ckpt_path}: trained on other classes than --data gives ({len(meta['classes'])} vs "
                         f"{len(prepared.corpus.classes)})")
    prepared.tokenizer = tok  # the run's vocabulary, not one retrained here
    prepared.targets = [tok.encode(u.intent, u.transcript) for u in prepared.corpus.utterances]
    clips = {s: len(prepared.corpus.indices(s)) for s in SPLITS}
    if not clips[split]:
        where = f"{data.dataset}" + (f" at {data.data_root}" if data.data_root else "")
        have = ", ".join(f"{s} ({n} clips)" for s, n in clips.items() if n)
        raise ValueError(f"--split {split}: the data ({where}) has no {split} clips; the splits with clips are {have}")
    return prepared


def _write(runs_root: str, name: str, config: dict, metrics: dict) -> Path:
    from contrastkit.train import announce_run, open_run, write_metrics

    run_dir = open_run(runs_root, "slu", name, config)
    write_metrics(run_dir, metrics)
    announce_run(run_dir)
    return run_dir


def evaluate(ckpt_path: str = "", data: DataConfig = DataConfig(), split: str = "test",  # noqa: B008
             beam_size: int = 1, runs_root: str = "runs", name: str = "evaluate") -> dict:
    """Score a task state on the scenario's tasks: accuracy per task, overall accuracy and WER.

    Args:
        ckpt_path: a task state (``runs/slu/<name>/version_K/checkpoints/task_T.ckpt``).
        data: the data it is scored on (same classes and tokenizer as the run's).
        split: ``test`` or ``valid``.
        beam_size: 1 = greedy decoding; more = beam search of that width.
        runs_root: the runs folder; ``metrics.json`` goes to ``<runs_root>/slu/<name>/version_K/``.
        name: the run's name.
    """
    from slu.evaluate import decode, word_error_rate
    from slu.use import check_beam_size, load_trained

    check_beam_size(beam_size)
    if split not in ("test", "valid"):
        raise ValueError(f"--split must be 'test' or 'valid'; got {split!r}")
    if not ckpt_path:
        raise ValueError("evaluate needs --ckpt_path (a checkpoints/task_T.ckpt written by fit or study)")
    trained = load_trained(ckpt_path)
    model = trained[0]
    prepared = _scored_data(trained, data, split, ckpt_path, runs_root)
    out: dict = {}
    idx_all = []
    for t in range(len(prepared.tasks)):
        idx = prepared.task_indices(split, t)
        if not idx:  # a task whose classes have no clips in this split: no accuracy, not 0
            out[f"task_{t}_acc"] = float("nan")
            continue
        pred, _ = decode(model, prepared, idx, beam_size)
        out[f"task_{t}_acc"] = sum(int(p == prepared.labels[i]) for p, i in zip(pred, idx)) / len(idx)
        idx_all += idx
    pred, texts = decode(model, prepared, idx_all, beam_size)
    out["accuracy"] = sum(int(p == prepared.labels[i]) for p, i in zip(pred, idx_all)) / len(idx_all)
    out["wer"] = word_error_rate(texts, [prepared.corpus.utterances[i].transcript for i in idx_all])
    for k, v in out.items():
        print(f"{k}: " + (f"n/a (no {split} clips of its classes)" if math.isnan(v) else f"{v:.4f}"))
    from dataclasses import asdict

    _write(runs_root, name, {"ckpt_path": str(ckpt_path), "data": asdict(data), "split": split,
                             "beam_size": beam_size}, out)
    return out


def run_data_config(ckpt_path: str | Path) -> DataConfig:
    """The data settings of the run that wrote the task state ``ckpt_path`` (its ``config.yaml``)."""
    import yaml

    from slu.data.synthetic import SyntheticConfig

    config_path = Path(ckpt_path).parent.parent / "config.yaml"
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path}: missing (validate and test read the data settings of the run "
                                f"that wrote {Path(ckpt_path).name})")
    saved = (yaml.safe_load(config_path.read_text()) or {}).get("data")
    if not isinstance(saved, dict):
        raise ValueError(f"{config_path}: no data section (not a run of slu fit or study)")  # noqa: TRY004
    saved = dict(saved)
    if "root" in saved:  # runs made before the data folder was named data_root
        saved["data_root"] = saved.pop("root")
    return DataConfig(**{**saved, "synthetic": SyntheticConfig(**saved.get("synthetic", {})),
                         "fsdd_test_speakers": tuple(saved.get("fsdd_test_speakers", ()))})


def task_states(ckpt_path: str | Path) -> list[Path]:
    """The task states ``[<row>-]task_0.ckpt ... task_T.ckpt`` of the run row that ``ckpt_path`` is one of."""
    ckpt_path = Path(ckpt_path)
    row, sep, task = ckpt_path.stem.rpartition("task_")
    if not sep or not task.isdigit() or ckpt_path.suffix != ".ckpt":
        raise ValueError(f"{ckpt_path}: not a task state of slu (checkpoints/[<row>-]task_T.ckpt)")
    states = []
    while (ckpt_path.parent / f"{row}task_{len(states)}.ckpt").is_file():
        states.append(ckpt_path.parent / f"{row}task_{len(states)}.ckpt")
    if not states:
        raise FileNotFoundError(f"{ckpt_path.parent / (row + 'task_0.ckpt')}: missing (the run's first task state)")
    return states


def score_run(ckpt_path: str, split: str, runs_root: str = "runs", name: str = "") -> dict:
    """The accuracy matrix of a run's task states on ``split`` and what is read from it.

    Row ``t`` of the ``(T', T)`` matrix (``T'`` task states present) is the accuracy of
    ``task_t.ckpt`` on each task ``0..t`` (:func:`slu.evaluate.accuracy_row`); Avg Acc, Last Acc,
    forgetting and BWT are :func:`slu.evaluate.cl_metrics` of it, as ``fit`` reports them on the test
    split. Writes ``metrics.json`` into ``<runs_root>/slu/<name or split>/version_K/``.
    """
    from slu.evaluate import accuracy_row, cl_metrics
    from slu.use import load_trained

    if not ckpt_path:
        raise ValueError("needs --ckpt_path (one checkpoints/task_T.ckpt of a run of fit or study)")
    states = task_states(ckpt_path)
    data = run_data_config(ckpt_path)
    prepared = None
    matrix = np.full((len(states), len(states)), np.nan)
    counts: list[int] = []
    for t, state in enumerate(states):
        trained = load_trained(state)
        prepared = prepared or _scored_data(trained, data, split, str(state), runs_root)
        accs, counts = accuracy_row(trained[0], prepared, t, split)
        matrix[t, : t + 1] = accs
    metrics = cl_metrics(matrix, counts)
    metrics.update(matrix=[[None if np.isnan(v) else v for v in r] for r in matrix.tolist()], counts=counts,
                   split=split, task_states=[str(s) for s in states])
    print(f"{split}: Avg Acc {100 * metrics['avg_acc']:.2f}, Last Acc {100 * metrics['last_acc']:.2f}, "
          f"forgetting {100 * metrics['forgetting']:.2f} over {len(states)} task states")
    _write(runs_root, name or split, {"ckpt_path": str(ckpt_path), "split": split}, metrics)
    return metrics


def validate(ckpt_path: str = "", runs_root: str = "runs", name: str = "validate") -> dict:
    """Score every task state of a run on the validation split (accuracy matrix, Avg/Last Acc, forgetting).

    Args:
        ckpt_path: one task state of the run (``runs/slu/<name>/version_K/checkpoints/task_T.ckpt``);
            all task states of its row are scored, on the data settings the run was trained with.
        runs_root: the runs folder; ``metrics.json`` goes to ``<runs_root>/slu/<name>/version_K/``.
        name: the run's name.
    """
    return score_run(ckpt_path, "valid", runs_root, name)


def test(ckpt_path: str = "", runs_root: str = "runs", name: str = "test") -> dict:
    """Score every task state of a run on the test split (accuracy matrix, Avg/Last Acc, forgetting).

    Args:
        ckpt_path: one task state of the run (``runs/slu/<name>/version_K/checkpoints/task_T.ckpt``);
            all task states of its row are scored, on the data settings the run was trained with.
        runs_root: the runs folder; ``metrics.json`` goes to ``<runs_root>/slu/<name>/version_K/``.
        name: the run's name.
    """
    return score_run(ckpt_path, "test", runs_root, name)


test.__test__ = False  # a command, not a pytest test
