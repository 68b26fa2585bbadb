"""``slu evaluate``: a trained model's intent accuracy per task, accuracy on all classes, and WER."""

from __future__ import annotations

import math

from slu.data.datamodule import DataConfig


def evaluate(ckpt_path: str = "", data: DataConfig = DataConfig(), split: str = "test",  # noqa: B008
             beam_size: int = 1) -> dict:
    """Score a task state on the scenario's tasks: accuracy per task, overall accuracy and WER.

    Args:
        ckpt_path: a task state (``runs/slu/<name>/version_K/checkpoints/task_T.ckpt``).
        data: the data it is scored on (same classes and tokenizer as the run's).
        split: ``test`` or ``valid``.
        beam_size: 1 = greedy decoding; more = beam search of that width.
    """
    from slu.data.corpus import SPLITS
    from slu.data.datamodule import prepare_data
    from slu.evaluate import decode, word_error_rate
    from slu.use import check_beam_size, load_trained

    check_beam_size(beam_size)
    if split not in ("test", "valid"):
        raise ValueError(f"--split must be 'test' or 'valid'; got {split!r}")
    if not ckpt_path:
        raise ValueError("evaluate needs --ckpt_path (a checkpoints/task_T.ckpt written by fit or study)")
    model, tok, meta = load_trained(ckpt_path)
    prepared = prepare_data(data)
    if prepared.corpus.classes != meta["classes"]:
        raise ValueError(f"{ckpt_path}: trained on other classes than --data gives ({len(meta['classes'])} vs "
                         f"{len(prepared.corpus.classes)})")
    prepared.tokenizer = tok  # the run's vocabulary, not one retrained here
    prepared.targets = [tok.encode(u.intent, u.transcript) for u in prepared.corpus.utterances]
    clips = {s: len(prepared.corpus.indices(s)) for s in SPLITS}
    if not clips[split]:
        where = f"{data.dataset}" + (f" at {data.root}" if data.root else "")
        have = ", ".join(f"{s} ({n} clips)" for s, n in clips.items() if n)
        raise ValueError(f"--split {split}: the data ({where}) has no {split} clips; the splits with clips are {have}")
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
    return out
