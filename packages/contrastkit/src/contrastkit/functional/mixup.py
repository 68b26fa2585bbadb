"""Mixup contrastive loss: i-Mix (Lee et al., ICLR 2021) and M3CoL-style soft targets."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from contrastkit.distributed import gather_candidates
from contrastkit.functional._common import check_finite, check_pair, maybe_normalize
from contrastkit.functional.kernel import KernelOutput, contrastive_cross_entropy


class MixedBatch(NamedTuple):
    """Mixed inputs ``lam * x + (1 - lam) * x[perm]``, the permutation ``(N,)`` and ``lam`` ``(N,)``."""

    inputs: Tensor
    perm: Tensor
    lam: Tensor


def sample_beta(alpha: float, shape: tuple[int, ...], generator: torch.Generator | None = None) -> Tensor:
    """``Beta(alpha, alpha)`` samples drawn reproducibly from ``generator`` (float32, CPU)."""
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0; got {alpha}")
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return torch.distributions.Beta(float(alpha), float(alpha)).sample(shape)


def mix_inputs(
    x: Tensor,
    alpha: float = 1.0,
    *,
    per_sample: bool = False,
    generator: torch.Generator | None = None,
) -> MixedBatch:
    """Mix each input with a random partner: ``x~_i = lam_i x_i + (1 - lam_i) x_{perm(i)}``.

    ``lam ~ Beta(alpha, alpha)``, one per batch (i-Mix, Lee et al. 2021) or one per
    sample (``per_sample``); ``perm`` is a random permutation. Works on any input ``(N, ...)``
    (images, waveforms, embeddings). Pair it with :func:`mixup_weights`.
    """
    if x.dim() == 0 or x.shape[0] == 0:
        raise ValueError(f"x must be a non-empty batch (N, ...); got shape {tuple(x.shape)}")
    n = x.shape[0]
    perm = torch.randperm(n, generator=generator).to(x.device)
    lam = sample_beta(alpha, (n,) if per_sample else (1,), generator).expand(n).to(x.device)
    lam_b = lam.to(x.dtype).view(n, *([1] * (x.dim() - 1)))
    return MixedBatch(lam_b * x + (1 - lam_b) * x[perm], perm, lam)


def mixup_weights(perm: Tensor, lam: Tensor | float, n_candidates: int | None = None, offset: int = 0) -> Tensor:
    """Soft targets ``(N, M)`` of mixed anchors: ``lam_i`` on column ``i``, ``1 - lam_i`` on ``perm(i)``.

    Columns are shifted by ``offset`` (this rank's rows among gathered candidates); when
    ``perm(i) = i`` the anchor's weight on ``i`` is 1.
    """
    n = perm.shape[0]
    m = n if n_candidates is None else n_candidates
    lam = torch.as_tensor(lam, dtype=torch.float64, device=perm.device).expand(n)
    if (lam < 0).any() or (lam > 1).any():
        raise ValueError("lam must lie in [0, 1]")
    rows = torch.arange(n, device=perm.device)
    w = torch.zeros(n, m, dtype=torch.float64, device=perm.device)
    w.index_put_((rows, rows + offset), lam, accumulate=True)
    w.index_put_((rows, perm.long() + offset), 1.0 - lam, accumulate=True)
    return w


def mixup_contrastive_loss(
    mixed_anchors: Tensor,
    candidates: Tensor,
    perm: Tensor,
    lam: Tensor | float,
    temperature: float | Tensor = 0.2,
    *,
    extra_negatives: Tensor | None = None,
    normalize: bool = True,
    chunk_size: int | None = None,
    distributed: bool = False,
    return_output: bool = False,
) -> Tensor | KernelOutput:
    """Contrast mixed anchors against unmixed candidates with mixed (virtual) targets.

    ``l_i = -lam_i log p_i,i - (1 - lam_i) log p_i,perm(i)``, ``p_ij = softmax_j(<a~_i, c_j> / t)``
    over the candidates (and ``extra_negatives``, e.g. MoCo's queue, with weight 0); mean over i.
    ``a~_i`` is the embedding of the mixed input ``lam_i x_i + (1 - lam_i) x_perm(i)`` (i-Mix,
    Lee et al., "i-Mix: A Domain-Agnostic Strategy for Contrastive Representation Learning",
    ICLR 2021, the N-pair form) or of one modality mixed and contrasted with the other
    (M3CoL, Kumar et al. 2024); the targets are the same soft one-hot mix.

    Args:
        mixed_anchors: ``(N, D)`` embeddings of the mixed inputs (see :func:`mix_inputs`).
        candidates: ``(N, D)`` embeddings of the other (unmixed) view or modality.
        perm: ``(N,)`` partner of each anchor. lam: scalar or ``(N,)`` in ``[0, 1]``.
        temperature: scalar or ``(N,)``.
        extra_negatives: ``(K, D)`` or ``(N, K, D)`` additional negatives.
        normalize: L2-normalize anchors, candidates and extra negatives first.
        chunk_size: anchor rows per chunk; same value and gradient.
        distributed: gather candidates from all ranks; ``perm`` indexes this rank's rows.
        return_output: return the kernel's :class:`KernelOutput`.

    Example:
        >>> x, enc = torch.randn(8, 3), torch.nn.Linear(3, 16)
        >>> mixed = mix_inputs(x, alpha=1.0, generator=torch.Generator().manual_seed(0))
        >>> mixup_contrastive_loss(enc(mixed.inputs), enc(x), mixed.perm, mixed.lam).shape
        torch.Size([])
    """
    check_pair("mixed_anchors", mixed_anchors, "candidates", candidates)
    n = mixed_anchors.shape[0]
    if perm.shape != (n,) or perm.is_floating_point():
        raise ValueError(f"perm must be an integer tensor of shape (N,)=({n},); got {tuple(perm.shape)}")
    if extra_negatives is not None:
        check_finite("extra_negatives", extra_negatives)
        extra_negatives = maybe_normalize(extra_negatives, normalize)
    anchors = maybe_normalize(mixed_anchors, normalize)
    gathered = gather_candidates(maybe_normalize(candidates, normalize), enabled=distributed)
    weights = mixup_weights(perm.to(anchors.device), torch.as_tensor(lam, device=anchors.device).detach(),
                            gathered.candidates.shape[0], gathered.offset)
    out = contrastive_cross_entropy(
        anchors, gathered.candidates, weights=weights, temperature=temperature,
        extra_negatives=extra_negatives, chunk_size=chunk_size,
    )
    return out if return_output else out.loss
