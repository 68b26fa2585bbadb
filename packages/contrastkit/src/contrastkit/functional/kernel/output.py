"""What the two kernels return (:func:`contrastive_cross_entropy` and the grouped kernel)."""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor


class KernelOutput(NamedTuple):
    """What :func:`~contrastkit.functional.contrastive_cross_entropy` returns.

    loss:        scalar, differentiable.
    per_anchor:  ``(N,)`` loss of each anchor (0 for dropped anchors), no gradient; ``(G, N)`` from
                 :func:`~contrastkit.functional.grouped_contrastive_cross_entropy`.
    num_dropped: anchors (and, when symmetric, candidates) with no positive.
    """

    loss: Tensor
    per_anchor: Tensor
    num_dropped: int
