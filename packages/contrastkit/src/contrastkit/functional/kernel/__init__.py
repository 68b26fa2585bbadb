"""The one kernel behind almost every contrastive loss in ContrastKit.

A weighted log-softmax cross-entropy of anchors against candidates::

    z_ik = s_ik / t_i                         s = anchors @ candidates.T   (N, M)
    q_ij = w_ij / sum_j w_ij                  positives as normalized weights
    l_i  = sum_j q_ij [ logsumexp_{k in V(i)} z_ik  -  z_ij ]
    loss = mean over anchors that have a positive (sum_j w_ij > 0)

``V(i)`` is the set of valid candidates of anchor ``i``: every candidate except its own
self-pair (``self_index``) and, for decoupled losses (DCL), except its positives.
Extra candidates (a queue, mined or synthesized hard negatives) join ``V(i)`` with weight 0.

Read the files in this order, one purpose each:

* ``output.py``     — :class:`KernelOutput`, what both kernels return;
* ``validate.py``   — argument checks (shapes, finite values, indices, temperature) and the
  ``chunk_size`` rule shared with the grouped kernel;
* ``spec.py``       — one call's configuration, and the positives as dense weights ``w``;
* ``positives.py``  — path 1 and 3: index positives and dense (soft or label) weights of a chunk;
* ``labels.py``     — path 2: label positives reduced to per-class sums (no ``(N, M)`` mask);
* ``rows.py``       — the anchors→candidates pass: logits, softmax and ``dl/dz = p - q`` per chunk;
* ``symmetric.py``  — the symmetric (CLIP) pass: both directions from one logit matrix;
* ``grads.py``      — accumulation of the input gradients from ``dl/dz``;
* ``autograd.py``   — the ``torch.autograd.Function`` and :func:`contrastive_cross_entropy`.

The second kernel, :func:`contrastkit.functional.grouped_contrastive_cross_entropy`, solves
``G`` independent index-positive problems with batched products (``functional/grouped.py``).
"""

from contrastkit.functional.kernel.autograd import contrastive_cross_entropy
from contrastkit.functional.kernel.output import KernelOutput

__all__ = ["KernelOutput", "contrastive_cross_entropy"]
