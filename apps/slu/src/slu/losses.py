"""COCONUT's losses and the distillation baselines' losses, the contrastive ones through the core kernel.

- :func:`nspt_loss`: the supervised contrastive loss on rehearsal samples in COCONUT's NSPT form
  (Negative Student, Positive Teacher). For anchor ``i`` (the student's embedding ``s_i`` of a
  rehearsal sample of class ``y_i``), positives are the teacher's embeddings ``t_p`` of the
  rehearsal samples of the same class (``i`` itself included) and negatives the student's
  embeddings ``s_n`` of the rehearsal samples of other classes::

      l_i = -1/|P(i)| sum_{p in P(i)} log [ exp(s_i.t_p / tau) /
                                            (sum_{p' in P(i)} exp(s_i.t_p' / tau) + sum_{n in N(i)} exp(s_i.s_n / tau)) ]

  The candidate set depends on the anchor's class, so the kernel is called once per class
  present (anchors of class c; candidates ``t`` of class c, all positive; extra negatives ``s``
  of the other classes) and the per-anchor losses are averaged.
- :func:`ntpt_loss`: the NTPT variant: positives and negatives both from the teacher
  (``l_i`` with ``t_n`` in place of ``s_n``), i.e. SupCon of student anchors against teacher candidates.
- :func:`audio_text_loss`: the multimodal audio-text contrastive loss on the new task's data,
  symmetric InfoNCE (CLIP) between audio and text embeddings of the same utterances.
- :func:`feature_kd_loss`: audio-KD, mean squared error between the student's and the teacher's
  pooled encoder features.

Across processes (``distributed=True``, Lightning DDP): the contrastive losses keep this rank's
rows as anchors and take their candidates (and the labels that define positives) from every
rank's rows (:func:`contrastkit.distributed.gather_rows`), so a step sees the global batch's candidates as one process
would. A rank's count of rehearsal (or new) clips differs from the next one's, so the rows are
padded to the largest count before the core's equal-size gathers and the padding is dropped
after. Each contrastive loss returns ``W * (sum over this rank's anchors) / (global anchor
count)``: DDP's average over the ``W`` ranks is then the global batch's mean, in value and in
gradient, whatever the split. Audio-KD is per anchor and gathers nothing.

Cappellazzo, Falavigna, Brutti, "Continual Contrastive Spoken Language Understanding",
Findings of ACL 2024 (arXiv 2310.02699).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from contrastkit.distributed import gather_rows, global_count, world
from contrastkit.functional import clip_loss, contrastive_cross_entropy
from torch import Tensor


def _share(total: Tensor, count: int, distributed: bool, like: Tensor) -> Tensor:
    """``W * total / (count summed over ranks)``: DDP's mean over ranks is the global mean."""
    scale = world()[1] if distributed else 1
    return total * scale / max(global_count(count, like, distributed), 1)


def nspt_loss(student: Tensor, teacher: Tensor, labels: Tensor, temperature: float = 0.1,
              distributed: bool = False) -> Tensor:
    """NSPT loss (module docstring). ``student``, ``teacher``: ``(N, D)`` embeddings of the same N
    rehearsal samples (L2-normalized here); ``labels``: ``(N,)``. The teacher side gets no gradient.
    ``distributed``: positives (teacher) and negatives (student, with gradient) from every rank's
    rehearsal samples, with their labels; anchors this rank's (N may be 0 on a rank)."""
    s, t = F.normalize(student, dim=-1), F.normalize(teacher.detach(), dim=-1)
    (s_all, t_all, y_all), _ = gather_rows(s, t, labels, distributed=distributed)
    # every rank's gathered student rows stay in the graph: their backward is a collective
    total, count = 0.0 * s_all.sum(), 0
    for c in torch.unique(labels):
        same, same_all = labels == c, y_all == c
        others = s_all[~same_all]
        out = contrastive_cross_entropy(
            s[same], t_all[same_all], anchor_labels=torch.zeros(int(same.sum()), dtype=torch.long, device=s.device),
            candidate_labels=torch.zeros(int(same_all.sum()), dtype=torch.long, device=s.device),
            temperature=temperature, extra_negatives=others if len(others) else None, reduction="sum")
        total = total + out.loss
        count += int(same.sum()) - int(out.num_dropped)
    return _share(total, count, distributed, s)


def ntpt_loss(student: Tensor, teacher: Tensor, labels: Tensor, temperature: float = 0.1,
              distributed: bool = False) -> Tensor:
    """NTPT loss: anchors ``student`` ``(N, D)``; candidates ``teacher`` ``(N, D)`` (no gradient),
    positives of the same label, negatives the other labels' teacher embeddings. ``distributed``:
    candidates and their labels from every rank; anchors this rank's (N may be 0 on a rank)."""
    s, t = F.normalize(student, dim=-1), F.normalize(teacher.detach(), dim=-1)
    (t_all, y_all), _ = gather_rows(t, labels, distributed=distributed)
    if not len(s):
        return _share(0.0 * s.sum(), 0, distributed, s)
    out = contrastive_cross_entropy(s, t_all, anchor_labels=labels, candidate_labels=y_all, temperature=temperature,
                                    reduction="sum")
    return _share(out.loss, len(s) - int(out.num_dropped), distributed, s)


def audio_text_loss(audio: Tensor, text: Tensor, temperature: float = 0.1, distributed: bool = False) -> Tensor:
    """Symmetric InfoNCE between ``audio`` and ``text`` ``(N, D)`` (row i of each = utterance i).
    ``distributed``: each rank's audios against every rank's texts and each rank's texts against every
    rank's audios (both gathered with gradients); N may differ between ranks, and be 0."""
    if not distributed:
        return clip_loss(audio, text, logit_scale=1.0 / temperature)
    a, b = F.normalize(audio, dim=-1), F.normalize(text, dim=-1)
    (a_all, b_all), offset = gather_rows(a, b, distributed=distributed)
    total = 0.0 * (a_all.sum() + b_all.sum())  # the gathers' backward is a collective: keep them in the graph
    if len(a):
        index = torch.arange(len(a), device=a.device) + offset
        for anchors, candidates in ((a, b_all), (b, a_all)):
            total = total + 0.5 * contrastive_cross_entropy(anchors, candidates, positive_index=index,
                                                            temperature=temperature, reduction="sum").loss
    return _share(total, len(a), distributed, a)


def feature_kd_loss(student: Tensor, teacher: Tensor) -> Tensor:
    """Audio-KD: ``mean((student - teacher)^2)`` over ``(N, D)`` features, teacher detached."""
    return F.mse_loss(student, teacher.detach())
