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

Cappellazzo, Falavigna, Brutti, "Continual Contrastive Spoken Language Understanding",
Findings of ACL 2024 (arXiv 2310.02699).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from contrastkit.functional import clip_loss, contrastive_cross_entropy
from torch import Tensor


def nspt_loss(student: Tensor, teacher: Tensor, labels: Tensor, temperature: float = 0.1) -> Tensor:
    """NSPT loss (module docstring). ``student``, ``teacher``: ``(N, D)`` embeddings of the same N
    rehearsal samples (L2-normalized here); ``labels``: ``(N,)``. The teacher side gets no gradient."""
    s, t = F.normalize(student, dim=-1), F.normalize(teacher.detach(), dim=-1)
    total, count = s.new_zeros(()), 0
    for c in torch.unique(labels):
        same = labels == c
        zeros = torch.zeros(int(same.sum()), dtype=torch.long, device=s.device)
        others = s[~same]
        out = contrastive_cross_entropy(
            s[same], t[same], anchor_labels=zeros, candidate_labels=zeros, temperature=temperature,
            extra_negatives=others if len(others) else None, reduction="sum")
        total = total + out.loss
        count += int(same.sum()) - int(out.num_dropped)
    return total / max(count, 1)


def ntpt_loss(student: Tensor, teacher: Tensor, labels: Tensor, temperature: float = 0.1) -> Tensor:
    """NTPT loss: anchors ``student`` ``(N, D)``; candidates ``teacher`` ``(N, D)`` (no gradient),
    positives of the same label, negatives the other labels' teacher embeddings."""
    s, t = F.normalize(student, dim=-1), F.normalize(teacher.detach(), dim=-1)
    return contrastive_cross_entropy(s, t, anchor_labels=labels, candidate_labels=labels,
                                     temperature=temperature).loss


def audio_text_loss(audio: Tensor, text: Tensor, temperature: float = 0.1) -> Tensor:
    """Symmetric InfoNCE between ``audio`` and ``text`` ``(N, D)`` (row i of each = utterance i)."""
    return clip_loss(audio, text, logit_scale=1.0 / temperature)


def feature_kd_loss(student: Tensor, teacher: Tensor) -> Tensor:
    """Audio-KD: ``mean((student - teacher)^2)`` over ``(N, D)`` features, teacher detached."""
    return F.mse_loss(student, teacher.detach())
