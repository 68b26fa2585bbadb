"""CompA-CLAP's losses, each through the core kernel (:func:`contrastkit.functional.contrastive_cross_entropy`).

Notation: ``a_i`` audio, ``t_i`` its primary caption, ``n_ik`` its K hard-negative captions,
``p_ip`` its P sub-compositions (positives), all unit norm; ``z = logit_scale * cosine``.

Stage 1, CLAP (:func:`clap_loss`): the symmetric CLIP loss over ``a_i, t_j``.

Stages 2 and 3 (:func:`compositional_loss`), as the official ``src-stage2/3 .../loss.py``:

- audio->text: candidates of ``a_i`` are all primary captions ``t_1..t_B``, its own positives and
  its own negatives; target mass ``1/(P+1)`` on ``t_i`` and on each ``p_ip``::

      l_i = logsumexp_{c in C_i} z(a_i, c) - 1/(P+1) [ z(a_i, t_i) + sum_p z(a_i, p_ip) ]
          = kernel_i + 1/(P+1) sum_p [ z(a_i, t_i) - z(a_i, p_ip) ]

  The kernel gives the first term (its per-anchor extra candidates are ``[p_i; n_i]``); the second
  is linear in the logits. Other audios' positives and negatives are not candidates (masked out).
- text->audio: anchors are the primaries and the positives, each against the batch's audios, with
  its own audio as target (mean over the ``B(1+P)`` anchors).
- loss = mean of the two directions. Stage 2 is P = 0.

``text_hard_negatives=True`` (not in the paper): each primary caption's text->audio row also
contrasts with its own hard-negative audio (the rendering of its first negative caption).

Across processes (``distributed=True``, :mod:`contrastkit.distributed`): the candidates every
anchor shares are gathered from all ranks with gradients, anchors stay local, and the per-anchor
candidates stay where their anchor is:

- stage 1: audio and text are both gathered (the core :func:`~contrastkit.functional.clip_loss`);
- audio->text: the primary captions ``t_1..t_{WB}`` are gathered; each audio's own positives and
  hard negatives are not (they are candidates of that audio alone);
- text->audio: the audios are gathered; a caption's hard-negative audio stays local;
- ``mask="multiplicative"``: every other audio's positives and negatives (global row ``j != offset + i``)
  are gathered too, since the official product keeps them in every row.

With equal local batches and DDP's gradient averaging this is the step of one process holding
the global batch (``tests/audiolang/test_distributed.py``).

``mask="multiplicative"`` reproduces the official masking for the ablation: the official code
multiplies the (B, T) audio->text logits by a mask of 1 (kept) and -1e5 (other audios' positives
and negatives). A kept-out caption with a negative cosine then gets a huge *positive* logit, and the
loss explodes. Here that is the same kernel call with those captions as extra candidates scaled by
-1e5 (``z(a, -1e5 c) = -1e5 z(a, c)``), so the value equals the official one.
"""

from __future__ import annotations

import torch
from contrastkit.distributed import gather_candidates
from contrastkit.functional import clip_loss as core_clip_loss
from contrastkit.functional import contrastive_cross_entropy
from torch import Tensor

OFFICIAL_MASK = -1e5
MASKS = ("additive", "multiplicative")


def clap_loss(audio: Tensor, text: Tensor, logit_scale: Tensor, distributed: bool = False) -> dict[str, Tensor]:
    """Stage 1: the symmetric CLIP loss; ``audio``, ``text`` ``(B, D)`` unit norm; ``distributed``:
    both are gathered from all ranks (local rows are the anchors)."""
    return {"loss": core_clip_loss(audio, text, logit_scale, normalize=False, distributed=distributed)}


def _check(audio: Tensor, primary: Tensor, negatives: Tensor, positives: Tensor | None) -> tuple[int, int, int]:
    b, d = audio.shape
    if primary.shape != (b, d):
        raise ValueError(f"primary must be (B, D)=({b}, {d}); got {tuple(primary.shape)}")
    if negatives.dim() != 3 or negatives.shape[0] != b or negatives.shape[2] != d:
        raise ValueError(f"negatives must be (B, K, D)=({b}, K, {d}); got {tuple(negatives.shape)}")
    p = 0
    if positives is not None:
        if positives.dim() != 3 or positives.shape[0] != b or positives.shape[2] != d:
            raise ValueError(f"positives must be (B, P, D)=({b}, P, {d}); got {tuple(positives.shape)}")
        p = positives.shape[1]
    return b, negatives.shape[1], p


def compositional_loss(
    audio: Tensor,
    primary: Tensor,
    negatives: Tensor | None,
    logit_scale: Tensor,
    positives: Tensor | None = None,
    negative_audio: Tensor | None = None,
    mask: str = "additive",
    distributed: bool = False,
) -> dict[str, Tensor]:
    """Stage 2 (``positives=None``) or stage 3 (module docstring).

    Args:
        audio: ``(B, D)``; primary: ``(B, D)``; negatives: ``(B, K, D)`` or None (the modular
            loss alone); positives: ``(B, P, D)``; all unit norm.
        logit_scale: the model's scale (``1 / temperature``).
        negative_audio: ``(B, Ka, D)`` hard-negative audios for the text->audio direction, or None.
        mask: ``"additive"`` (other audios' captions are not candidates) or ``"multiplicative"``
            (the official -1e5 product, for the ablation).
        distributed: gather the shared candidates from all ranks (module docstring); positives,
            negatives and negative audios stay per anchor.

    Returns:
        ``{"loss", "audio_to_text", "text_to_audio"}``.
    """
    if mask not in MASKS:
        raise ValueError(f"mask must be one of {MASKS}; got {mask!r}")
    if negatives is None:
        negatives = audio.new_zeros(audio.shape[0], 0, audio.shape[1])
    b, k, p = _check(audio, primary, negatives, positives)
    if k + p == 0:
        raise ValueError("compositional_loss needs negatives or positives (stage 1 is clap_loss)")
    temperature = 1.0 / logit_scale
    primaries = gather_candidates(primary, enabled=distributed)  # (W*B, D); this rank's rows at offset
    audios = gather_candidates(audio, enabled=distributed)
    index = torch.arange(b, device=audio.device) + primaries.offset  # global row of each local anchor
    own = negatives if positives is None else torch.cat([positives, negatives], dim=1)  # (B, P+K, D)
    extra = own
    if mask == "multiplicative":
        everyone = gather_candidates(own, enabled=distributed).candidates  # (W*B, P+K, D)
        n = everyone.shape[0]
        if n > 1:
            # row i also holds every other audio's positives and negatives (global rows j != index[i]), times -1e5
            rows = torch.arange(n, device=audio.device)
            others = torch.stack([rows[rows != g] for g in index.tolist()])  # (B, n-1)
            extra = torch.cat([own, OFFICIAL_MASK * everyone[others].reshape(b, -1, own.shape[-1])], dim=1)
    a2t = contrastive_cross_entropy(audio, primaries.candidates, positive_index=index, temperature=temperature,
                                    extra_negatives=extra).loss
    if p:
        z_primary = (audio * primary).sum(-1)  # (B,)
        z_pos = torch.einsum("bd,bpd->bp", audio, positives)
        a2t = a2t + logit_scale * ((z_primary[:, None] - z_pos).sum(1) / (p + 1)).mean()
    t2a = contrastive_cross_entropy(primary, audios.candidates, positive_index=index, temperature=temperature,
                                    extra_negatives=negative_audio, reduction="sum").loss
    if p:
        t2a = t2a + contrastive_cross_entropy(positives.reshape(b * p, -1), audios.candidates,
                                              positive_index=index.repeat_interleave(p),
                                              temperature=temperature, reduction="sum").loss
    t2a = t2a / (b * (1 + p))
    return {"loss": 0.5 * (a2t + t2a), "audio_to_text": a2t, "text_to_audio": t2a}
