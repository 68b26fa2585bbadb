"""The paper's protocol: Winoground-style scores on CompA-style benchmarks, retrieval R@k, zero-shot accuracy.

Scores as the official ``evaluation/benchmark_eval.py``, from cosine similarities ``s_ij`` of caption
i and audio j (0 = the pair, 1 = the reversed pair):

    text score  = [s00 > s10 and s11 > s01]   (each audio prefers its own caption)
    audio score = [s00 > s01 and s11 > s10]   (each caption prefers its own audio)
    group score = text and audio

in percent; chance 25 / 25 / 16.67. The third pair ("A and B at the same time") is not scored by the
official script; here it is scored separately over the three pairs (``third_*``: each of the three
audios prefers its own caption / each caption its own audio / both). A built benchmark's rows are
scored per wording, seen and unseen, the unseen figures being the headline (:func:`evaluate_benchmark`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from contrastkit.eval.retrieval import retrieval_recall_at_k

from audiolang.captions import check_captions
from audiolang.data.audio import load_audio
from audiolang.data.benchmark_csv import read_benchmark_csv
from audiolang.data.datamodule import pad
from audiolang.models.dual import DualEncoder

CHANCE = {"text": 25.0, "audio": 25.0, "group": 100 / 6}


def winoground_scores(s00, s01, s10, s11) -> dict[str, float]:
    """Text, audio and group scores (percent) from ``(N,)`` similarities (module docstring)."""
    s00, s01, s10, s11 = (np.asarray(x, dtype=np.float64) for x in (s00, s01, s10, s11))
    text = (s00 > s10) & (s11 > s01)
    audio = (s00 > s01) & (s11 > s10)
    return {"text": 100 * float(text.mean()), "audio": 100 * float(audio.mean()),
            "group": 100 * float((text & audio).mean())}


def three_way_scores(sim: np.ndarray) -> dict[str, float]:
    """``sim`` ``(N, 3, 3)`` caption x audio: each audio's own caption is its best (text), each
    caption's own audio is its best (audio), both (group); percent."""
    sim = np.asarray(sim, dtype=np.float64)
    eye = np.eye(3, dtype=bool)
    own = sim[:, eye]  # (N, 3) diagonal
    other = np.where(eye, -np.inf, sim)
    text = (own > other.max(axis=1)).all(1)   # for audio j, own caption beats the other captions
    audio = (own > other.max(axis=2)).all(1)  # for caption i, own audio beats the other audios
    return {"third_text": 100 * float(text.mean()), "third_audio": 100 * float(audio.mean()),
            "third_group": 100 * float((text & audio).mean())}


def check_finite(rows: torch.Tensor, names: list[str], what: str) -> None:
    """Raise ``ValueError`` naming the rows of ``rows`` ``(N, D)`` that hold NaN or inf (``names[i]``
    names row i): a result is never computed, printed or written from them."""
    bad = [names[i] for i in torch.nonzero(~torch.isfinite(rows).all(1)).flatten().tolist()]
    if bad:
        raise ValueError(f"non-finite (NaN or infinite) {what} for {len(bad)} input(s): {', '.join(bad[:5])}"
                         + (" ..." if len(bad) > 5 else "") + "; nothing written")


@torch.no_grad()
def embed_files(encoder: DualEncoder, files: list[Path], batch_size: int = 32) -> torch.Tensor:
    """Unit-norm audio embeddings ``(N, D)`` of files (resampled to the encoder's rate)."""
    out = []
    device = encoder.log_scale.device
    for i in range(0, len(files), batch_size):
        wave, lengths = pad([load_audio(f, encoder.sample_rate) for f in files[i:i + batch_size]])
        out.append(encoder.encode_audio(wave.to(device), lengths.to(device)).cpu())
    return torch.cat(out)


@torch.no_grad()
def evaluate_benchmark(encoder: DualEncoder, csv_path: str | Path, audio_dir: str | Path | None = None) -> dict[str, float]:
    """Winoground scores, the third pair's, and R@1/5/10 text->audio and audio->text, for one
    benchmark CSV.

    A built benchmark (a ``wording`` column) is scored per wording: ``seen/<score>`` over its rows
    captioned in training families, ``unseen/<score>`` over its rows captioned in test-only ones
    (the same audio), and the plain ``<score>`` keys repeat the unseen figures, the headline.
    A CSV without that column (a CompA download) is scored whole under the plain keys.
    """
    was_training = encoder.training
    encoder.eval()
    rows = read_benchmark_csv(csv_path, audio_dir)
    third = all(r.third_file is not None for r in rows)
    fields = (("caption", "pair_caption"), ("reversed_caption", "reversed_pair_caption"),
              ("third_caption", "third_caption"))[:3 if third else 2]
    given = [(f"{csv_path}, line {r.line} ({column})", getattr(r, field)) for field, column in fields for r in rows]
    check_captions(encoder, given)
    t = encoder.embed_texts([text for _, text in given]).cpu().double()
    check_finite(t, [f"{where} {text!r}" for where, text in given], "caption embeddings")
    t = t.reshape(len(fields), len(rows), -1)  # (column, row, D)
    files = list(dict.fromkeys(f for r in rows for f in (r.file, r.reversed_file, r.third_file) if f is not None))
    a = embed_files(encoder, files).double()
    check_finite(a, [str(f) for f in files], "audio embeddings")
    at = {f: i for i, f in enumerate(files)}
    audio = torch.stack([a[[at[getattr(r, f)] for r in rows]] for f in ("file", "reversed_file", "third_file")[:len(fields)]])
    groups = sorted({r.wording for r in rows})
    if groups == [""]:
        out = _scores(t, audio)
    else:
        unknown = [g for g in groups if g not in ("seen", "unseen")]
        if unknown:
            raise ValueError(f"{csv_path}: the wording column holds {unknown}; expected 'seen' or 'unseen'")
        out = {}
        for group in groups:
            keep = torch.tensor([r.wording == group for r in rows])
            out.update({f"{group}/{k}": v for k, v in _scores(t[:, keep], audio[:, keep]).items()})
        out.update({k.split("/", 1)[1]: v for k, v in out.items() if k.startswith("unseen/")})
    encoder.train(was_training)
    return out


def _scores(t: torch.Tensor, a: torch.Tensor) -> dict[str, float]:
    """Scores of caption embeddings ``t`` and audio embeddings ``a``, both ``(C, N, D)`` (C = 2 or 3
    columns: pair, reversed pair, third; N rows): Winoground, third-pair, and R@k over the ``C * N``
    captions and audios (each row's audio files distinct from the others')."""
    c, n = t.shape[:2]
    sim = lambda i, j: (t[i] * a[j]).sum(1).numpy()
    out = winoground_scores(sim(0, 0), sim(0, 1), sim(1, 0), sim(1, 1))
    if c == 3:
        out.update(three_way_scores(np.stack([np.stack([sim(i, j) for j in range(3)], 1) for i in range(3)], 1)))
    t, a = t.reshape(c * n, -1), a.reshape(c * n, -1)
    index = torch.arange(c * n)
    for k, v in retrieval_recall_at_k(t, a, index, (1, 5, 10)).items():
        out[f"t2a_R@{k}"] = 100 * v
    for k, v in retrieval_recall_at_k(a, t, index, (1, 5, 10)).items():
        out[f"a2t_R@{k}"] = 100 * v
    return out


@torch.no_grad()
def zero_shot_by_group(encoder: DualEncoder, clip_set) -> dict[str, float]:
    """Zero-shot classification of single clips by their class sentence ("a dog barks"), accuracy in
    percent per group (ESC-10 fold) and their mean (``zero_shot_mean``)."""
    was_training = encoder.training
    encoder.eval()
    labels = sorted({c.label for c in clip_set.clips})
    prompt = {c.label: c.sentence for c in clip_set.clips}
    text = encoder.embed_texts([prompt[label] for label in labels]).cpu()
    out = {}
    for group in sorted({c.group for c in clip_set.clips}):
        clips = [c for c in clip_set.clips if c.group == group]
        wave, lengths = pad([clip_set.waves[c.key] for c in clips])
        audio = encoder.encode_audio(wave.to(encoder.log_scale.device), lengths.to(encoder.log_scale.device)).cpu()
        pred = (audio @ text.T).argmax(1)
        truth = torch.tensor([labels.index(c.label) for c in clips])
        out[f"zero_shot_{group}"] = 100 * float((pred == truth).double().mean())
    out["zero_shot_mean"] = float(np.mean(list(out.values())))
    encoder.train(was_training)
    return out
