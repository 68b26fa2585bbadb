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


def _scored_data(model_meta: tuple, data: DataConfig, split: str, ckpt_path: str, runs_root: str,
                 fsc_csv: str = ""):
    """The data a task state is scored on: ``data``'s corpus (or the rows of ``fsc_csv``, all in
    ``split``) with the run's tokenizer, classes and training sentences (the task state's data record), and its
    ``split`` known to have clips. No training clips are needed (a test-only folder scores)."""
    from slu.data.corpus import SPLITS, Corpus
    from slu.data.datamodule import cache_folder, read_corpus, scoring_data, training_sentences
    from slu.data.features import corpus_features

    _, tok, meta = model_meta
    if fsc_csv:
        from slu.data.fsc import read_fsc_csv

        corpus = Corpus(f"fsc_csv:{fsc_csv}", read_fsc_csv(fsc_csv, split=split))
        features = corpus_features(corpus, meta["features"], meta["n_mels"], data.max_clipped,
                                   cache_folder(data, runs_root))
        where = fsc_csv
    else:
        corpus, features = read_corpus(data, runs_root)
        where = f"{data.dataset}" + (f" at {data.data_root}" if data.data_root else "")
    # runs written before the training sentences were recorded: the scored data's own training split, if any
    seen = frozenset(meta["train_sentences"]) if "train_sentences" in meta else training_sentences(corpus)
    prepared = scoring_data(corpus, features, tok, data, seen, f"{ckpt_path} scored on {where}")
    clips = {s: len(prepared.corpus.indices(s)) for s in SPLITS}
    if not clips[split]:
        have = ", ".join(f"{s} ({n} clips)" for s, n in clips.items() if n)
        raise ValueError(f"--split {split}: the data ({where}) has no {split} clips; the splits with clips are {have}")
    return prepared


def _write(runs_root: str, name: str, config: dict, metrics: dict) -> Path:
    from contrastkit.train import announce_run, open_run, write_metrics

    run_dir = open_run(runs_root, "slu", name, config)
    write_metrics(run_dir, metrics)
    announce_run(run_dir)
    return run_dir


def evaluate(ckpt_path: str = "", data: DataConfig = DataConfig(), fsc_csv: str = "",  # noqa: B008
             split: str = "test", beam_size: int = 1, runs_root: str = "runs", name: str = "evaluate") -> dict:
    """Score a task state: accuracy on unseen-wording and seen-wording clips, overall, per task, and WER.

    A clip is seen wording when its sentence (normalized) is one of the run's training sentences
    (recorded in the task state), unseen wording otherwise.

    Args:
        ckpt_path: a task state (``runs/slu/<name>/version_K/checkpoints/task_T.ckpt``).
        data: the data it is scored on: on the command line the run's own data settings (its
            ``config.yaml``), each ``--data.*`` flag changing one of them; its classes must be among
            the run's (a test-only folder, without training clips, is scored as it is).
        fsc_csv: an FSC-format CSV (``path, speakerId, transcription, action, object, location``)
            scored instead of ``data``'s clips, every row in ``split`` (e.g. an unseen-utterance
            challenge split); audio paths are relative to the CSV's folder's parent when that
            folder is ``data`` (FSC's layout), else to the CSV's folder.
        split: ``test`` or ``valid``.
        beam_size: 1 = greedy decoding; more = beam search of that width.
        runs_root: the runs folder; ``metrics.json`` goes to ``<runs_root>/slu/<name>/version_K/``.
        name: the run's name.
    """
    from dataclasses import asdict

    from slu.evaluate import decode, unseen_mask, word_error_rate
    from slu.use import check_beam_size, load_trained

    check_beam_size(beam_size)
    if split not in ("test", "valid"):
        raise ValueError(f"--split must be 'test' or 'valid'; got {split!r}")
    if not ckpt_path:
        raise ValueError("evaluate needs --ckpt_path (a checkpoints/task_T.ckpt written by fit or study)")
    trained = load_trained(ckpt_path)
    prepared = _scored_data(trained, data, split, ckpt_path, runs_root, fsc_csv)
    idx = prepared.corpus.indices(split)
    pred, texts = decode(trained[0], prepared, idx, beam_size)
    right = [int(p == prepared.labels[i]) for p, i in zip(pred, idx)]
    unseen = unseen_mask(prepared, idx)
    refs = [prepared.corpus.utterances[i].transcript for i in idx]
    out: dict = {}
    for key, keep in (("unseen", unseen), ("seen", [not u for u in unseen])):
        hits = [r for r, k in zip(right, keep) if k]
        out[f"accuracy_{key}"] = sum(hits) / len(hits) if hits else float("nan")
        out[f"n_{key}"] = len(hits)
        out[f"wer_{key}"] = (word_error_rate([t for t, k in zip(texts, keep) if k], [r for r, k in zip(refs, keep) if k])
                             if hits else float("nan"))
    out["accuracy"], out["n"] = sum(right) / len(right), len(right)
    out["wer"] = word_error_rate(texts, refs)
    position = {i: k for k, i in enumerate(idx)}
    for t in range(len(prepared.tasks)):
        mine = [right[position[i]] for i in prepared.task_indices(split, t)]
        out[f"task_{t}_acc"] = sum(mine) / len(mine) if mine else float("nan")  # no clips of its classes: n/a, not 0
    print(f"accuracy: unseen wording {_pct(out['accuracy_unseen'])} ({out['n_unseen']} clips), seen wording "
          f"{_pct(out['accuracy_seen'])} ({out['n_seen']} clips), all {_pct(out['accuracy'])} ({out['n']} clips)")
    print(f"WER: unseen wording {_pct(out['wer_unseen'])}, seen wording {_pct(out['wer_seen'])}, all {_pct(out['wer'])}")
    for t in range(len(prepared.tasks)):
        v = out[f"task_{t}_acc"]
        print(f"task {t}: " + (f"n/a (no {split} clips of its classes)" if math.isnan(v) else _pct(v)))
    _write(runs_root, name, {"ckpt_path": str(ckpt_path), "data": asdict(data), "fsc_csv": fsc_csv, "split": split,
                             "beam_size": beam_size}, out)
    return out


def _pct(v: float) -> str:
    return "n/a" if math.isnan(v) else f"{100 * v:.2f} %"


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


def run_settings(ckpt_path: str | Path) -> dict:
    """``{"data": ...}``: what ``evaluate`` starts from (:func:`run_data_config`, as plain values)."""
    from dataclasses import asdict

    return {"data": asdict(run_data_config(ckpt_path))}


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
    from slu.evaluate import cl_metrics, wording_metrics, wording_rows
    from slu.use import load_trained

    if not ckpt_path:
        raise ValueError("needs --ckpt_path (one checkpoints/task_T.ckpt of a run of fit or study)")
    states = task_states(ckpt_path)
    data = run_data_config(ckpt_path)
    prepared = None
    T = len(states)
    matrices = {k: np.full((T, T), np.nan) for k in ("all", "seen", "unseen")}
    counts: dict[str, list[int]] = {}
    for t, state in enumerate(states):
        trained = load_trained(state)
        prepared = prepared or _scored_data(trained, data, split, str(state), runs_root)
        for k, (accs, n) in wording_rows(trained[0], prepared, t, split).items():
            matrices[k][t, : t + 1], counts[k] = accs, n
    metrics = cl_metrics(matrices["all"], counts["all"])
    metrics.update(wording_metrics({k: (matrices[k], counts[k]) for k in ("seen", "unseen")}))
    metrics.update(matrix=[[None if np.isnan(v) else v for v in r] for r in matrices["all"].tolist()],
                   counts=counts["all"], split=split, task_states=[str(s) for s in states])
    print(f"{split}: Avg Acc unseen wording {_pct(metrics['avg_acc_unseen'])}, seen wording "
          f"{_pct(metrics['avg_acc_seen'])}, all {_pct(metrics['avg_acc'])}; Last Acc unseen "
          f"{_pct(metrics['last_acc_unseen'])}, seen {_pct(metrics['last_acc_seen'])}, all {_pct(metrics['last_acc'])}; "
          f"forgetting {_pct(metrics['forgetting'])} over {T} task states")
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
