"""The class-incremental protocol's metrics: the accuracy matrix and what is read from it, WER.

``R[i, j]`` is the intent accuracy on the test clips of task ``j`` after training task ``i``
(``j <= i``; NaN above the diagonal). With ``n_j`` test clips in task ``j``:

- accuracy on all classes seen after task i: ``A_i = sum_{j<=i} n_j R[i, j] / sum_{j<=i} n_j``;
- Avg Acc = ``mean_i A_i`` (the paper's average accuracy), Last Acc = ``A_{T-1}``;
- forgetting (Chaudhry et al., 2018) = ``mean_{j<T-1} max_{j<=i<T-1} R[i, j] - R[T-1, j]``;
- backward transfer (Lopez-Paz & Ranzato, 2017) = ``mean_{j<T-1} R[T-1, j] - R[j, j]``.

Seen and unseen wording: a test clip is *seen wording* when its sentence (normalized,
:func:`slu.data.corpus.normalize_text`) is one of the training transcripts, *unseen wording*
otherwise (the synthetic sets hold out whole wording families, so their unseen clips say sentences
no training clip said). Every matrix is also computed on each of the two subsets
(:func:`wording_rows`); the unseen-wording accuracy is the headline.

Intent accuracy is read from decoded tokens: the first token after ``<bos>`` must be the clip's
intent token. With greedy decoding that token depends on nothing else, so it is computed with one
decoder step; :func:`decode` runs the whole greedy (or beam) search for transcripts and WER.

Under DDP these run outside the trainer, on every rank, over the whole test set: each rank
computes the same full-set metric (nothing is sharded, nothing counted twice); rank 0 writes it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from slu.data.datamodule import SLUData, eval_loader


def cl_metrics(matrix: np.ndarray, counts: list[int] | np.ndarray) -> dict[str, float | list[float]]:
    """Avg Acc, Last Acc, forgetting, BWT and the per-task seen accuracy ``A_i`` (module docstring).

    Args:
        matrix: ``(T, T)`` accuracies in [0, 1]; entries above the diagonal are ignored.
        counts: ``(T,)`` test clips per task.
    """
    R = np.asarray(matrix, dtype=np.float64)
    n = np.asarray(counts, dtype=np.float64)
    T = R.shape[0]
    if R.shape != (T, T) or n.shape != (T,):
        raise ValueError(f"matrix must be (T, T) and counts (T,); got {R.shape} and {n.shape}")
    seen = [float((R[i, : i + 1] * n[: i + 1]).sum() / n[: i + 1].sum()) for i in range(T)]
    out: dict[str, float | list[float]] = {"avg_acc": float(np.mean(seen)), "last_acc": seen[-1], "seen_acc": seen}
    if T > 1:
        out["forgetting"] = float(np.mean([R[j: T - 1, j].max() - R[T - 1, j] for j in range(T - 1)]))
        out["bwt"] = float(np.mean([R[T - 1, j] - R[j, j] for j in range(T - 1)]))
    else:
        out["forgetting"] = out["bwt"] = 0.0
    return out


WORDINGS = ("unseen", "seen")


def subset_metrics(matrix: np.ndarray, counts: list[int] | np.ndarray) -> dict[str, float]:
    """Avg Acc and Last Acc of a wording subset, whose tasks may have no clips (count 0, NaN
    accuracy): ``A_i`` over the tasks ``j <= i`` with clips (NaN when none has), Avg Acc the
    mean of the defined ``A_i``, Last Acc ``A_{T-1}``; NaN when the subset is empty."""
    R = np.nan_to_num(np.asarray(matrix, dtype=np.float64))
    n = np.asarray(counts, dtype=np.float64)
    seen = [float((R[i, : i + 1] * n[: i + 1]).sum() / n[: i + 1].sum()) if n[: i + 1].sum() else float("nan")
            for i in range(len(n))]
    defined = [a for a in seen if not np.isnan(a)]
    return {"avg_acc": float(np.mean(defined)) if defined else float("nan"), "last_acc": seen[-1]}


def unseen_mask(data: SLUData, indices: list[int]) -> list[bool]:
    """For each clip of ``indices``: True when its sentence is not one of ``data.seen_sentences``."""
    from slu.data.corpus import normalize_text

    return [normalize_text(data.corpus.utterances[i].transcript) not in data.seen_sentences for i in indices]


def wording_rows(model, data: SLUData, upto: int, split: str = "test") -> dict[str, tuple[list[float], list[int]]]:
    """``{"all" | "seen" | "unseen": (accuracy per task 0..upto, clips per task)}`` on the ``split``
    clips (one prediction per clip; a task without clips in a wording subset has NaN and 0)."""
    out: dict[str, tuple[list[float], list[int]]] = {k: ([], []) for k in ("all", *WORDINGS)}
    for j in range(upto + 1):
        idx = data.task_indices(split, j)
        if not idx:
            raise ValueError(f"task {j} ({data.tasks[j]}) has no {split} clips")
        right = (intent_predictions(model, data, idx) == torch.tensor([data.labels[i] for i in idx])).tolist()
        unseen = unseen_mask(data, idx)
        for key, keep in (("all", [True] * len(idx)), ("unseen", unseen), ("seen", [not u for u in unseen])):
            hits = [r for r, k in zip(right, keep) if k]
            out[key][0].append(sum(hits) / len(hits) if hits else float("nan"))
            out[key][1].append(len(hits))
    return out


def wording_metrics(rows: dict[str, tuple[np.ndarray, list[int]]]) -> dict:
    """``avg_acc_<w>``, ``last_acc_<w>``, ``matrix_<w>`` and ``counts_<w>`` for ``w`` in unseen,
    seen, from ``{w: (matrix (T, T), counts of the last row)}``."""
    out: dict = {}
    for w in WORDINGS:
        matrix, counts = rows[w]
        for k, v in subset_metrics(matrix, counts).items():
            out[f"{k}_{w}"] = v
        out[f"matrix_{w}"] = [[None if np.isnan(v) else v for v in r] for r in np.asarray(matrix).tolist()]
        out[f"counts_{w}"] = list(counts)
    return out


@torch.no_grad()
def intent_predictions(model, data: SLUData, indices: list[int], batch_size: int = 64) -> Tensor:
    """Predicted class ids ``(N,)`` (``-1`` when the first decoded token is not an intent)."""
    model.eval()
    tok = data.tokenizer
    preds = []
    for batch in eval_loader(data, indices, batch_size):
        memory, lengths = model.encode(batch["feats"], batch["lengths"])
        bos = torch.full((memory.shape[0], 1), tok.bos_id, dtype=torch.long)
        first = model.logits(memory, lengths, bos)[:, -1].argmax(-1)
        preds.append(torch.tensor([tok.class_of(t) for t in first.tolist()]))
    return torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long)


def accuracy_row(model, data: SLUData, upto: int, split: str = "test") -> tuple[list[float], list[int]]:
    """Accuracy on the ``split`` clips of each task ``0..upto`` and the tasks' clip counts there."""
    return wording_rows(model, data, upto, split)["all"]


@torch.no_grad()
def decode(model, data: SLUData, indices: list[int], beam_size: int = 1, batch_size: int = 64) -> tuple[list[int], list[str]]:
    """Full decoding (greedy, or beam search when ``beam_size > 1``): predicted class ids and transcripts."""
    model.eval()
    tok = data.tokenizer
    classes, texts = [], []
    for batch in eval_loader(data, indices, batch_size):
        memory, lengths = model.encode(batch["feats"], batch["lengths"])
        if beam_size > 1:
            seqs = model.beam(memory, lengths, tok.bos_id, tok.eos_id, beam_size)
        else:
            seqs = model.greedy(memory, lengths, tok.bos_id, tok.eos_id)
        for s in seqs.tolist():
            classes.append(tok.class_of(s[1]) if len(s) > 1 else -1)
            texts.append(tok.decode_transcript(s[1:]))
    return classes, texts


def word_error_rate(predictions: list[str], references: list[str]) -> float:
    """WER through torchmetrics."""
    from torchmetrics.functional.text import word_error_rate as wer

    return float(wer(predictions, references))
