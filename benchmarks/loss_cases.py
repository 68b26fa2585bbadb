"""The benchmarked loss implementations: ContrastKit's, the peers', and plain dense versions.

Every case of one loss gets the same inputs (seeded) and computes the same quantity, so the loss
values in the results table must agree across implementations:

* ``nt_xent`` (SimCLR, Chen et al. 2020): ``z1, z2`` ``(N, D)``, temperature 0.5, 2N anchors.
* ``supcon`` (Khosla et al. 2020, L_out): ``N`` samples x 2 views ``(N, 2, D)``, labels from
  ``min(100, N)`` classes, temperature 0.1, 2N anchors.
* ``clip`` (Radford et al. 2021): ``a, b`` ``(N, D)``, logit scale 1 / 0.07, symmetric.

Peers are imported only inside their builders; a missing one raises :class:`PeerMissing`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

NT_XENT_T = 0.5
SUPCON_T = 0.1
CLIP_SCALE = 1.0 / 0.07
CHUNK = 2048

# (loss, impl) -> (PyPI distribution, import name); None for ours and the dense versions.
PEERS: dict[tuple[str, str], tuple[str, str]] = {
    ("nt_xent", "lightly"): ("lightly", "lightly"),
    ("nt_xent", "pml"): ("pytorch-metric-learning", "pytorch_metric_learning"),
    ("supcon", "pml"): ("pytorch-metric-learning", "pytorch_metric_learning"),
    ("clip", "open_clip"): ("open_clip_torch", "open_clip"),
}

IMPLS: dict[str, list[str]] = {
    "nt_xent": ["ours", "ours_chunked", "lightly", "pml", "dense"],
    "supcon": ["ours", "ours_chunked", "pml", "dense"],
    "clip": ["ours", "ours_chunked", "open_clip"],
}


class PeerMissing(RuntimeError):
    """A peer library is not installed (reported as 'not installed' in the table)."""


class Case(NamedTuple):
    """The leaf inputs (requiring grad) and a closure computing the scalar loss from them."""

    leaves: list[Tensor]
    loss_fn: Callable[[], Tensor]


def peer_installed(loss: str, impl: str) -> bool:
    """True when the impl is ours/dense or its peer library can be imported."""
    peer = PEERS.get((loss, impl))
    return peer is None or importlib.util.find_spec(peer[1]) is not None


def preload() -> None:
    """Import ours and every installed peer once (a forked measurement then starts warm)."""
    import contrastkit.functional  # noqa: F401

    entry = {"lightly": "lightly.loss", "pytorch_metric_learning": "pytorch_metric_learning.losses",
             "open_clip": "open_clip.loss"}
    for _, module in set(PEERS.values()):
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(entry[module])


def num_candidates(loss: str, n: int) -> int:
    """Rows of the similarity matrix's long side: 2N views for nt_xent/supcon, N for clip."""
    return n if loss == "clip" else 2 * n


def prior_bytes(loss: str, impl: str, n: int) -> float:
    """Rough peak-memory estimate before any measurement (float32), used only to skip cases.

    Dense implementations keep a few ``(L, L)`` matrices (logits, log-softmax, gradient);
    pytorch-metric-learning's NT-Xent builds a (pairs x negatives) matrix, cubic in N.
    """
    length = num_candidates(loss, n)
    square = 4.0 * length * length
    if impl == "ours":
        return 1.5 * square
    if impl == "ours_chunked":
        return 2.0 * 4.0 * min(CHUNK, length) * length
    if loss == "nt_xent" and impl == "pml":
        return 2.0 * 4.0 * length * length * length
    return {"dense": 4.0, "lightly": 6.0, "pml": 10.0, "open_clip": 5.0}[impl] * square


def memory_exponent(loss: str, impl: str) -> int:
    """How peak memory (and time) grows with N, to project the next size from a measured one."""
    return 3 if (loss, impl) == ("nt_xent", "pml") else 2


def make_inputs(loss: str, n: int, d: int, seed: int = 0) -> tuple[list[Tensor], Tensor | None]:
    """Seeded float32 leaves for ``loss`` (and SupCon's labels ``(N,)``)."""
    g = torch.Generator().manual_seed(seed)
    if loss == "supcon":
        feats = torch.randn(n, 2, d, generator=g).requires_grad_()
        labels = torch.randint(0, min(100, n), (n,), generator=g)
        return [feats], labels
    a = torch.randn(n, d, generator=g).requires_grad_()
    b = torch.randn(n, d, generator=g).requires_grad_()
    return [a, b], None


def _dense_nt_xent(z1: Tensor, z2: Tensor, t: float) -> Tensor:
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = (z @ z.T) / t
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(logits, target)


def _dense_supcon(feats: Tensor, labels: Tensor, t: float) -> Tensor:
    z = F.normalize(feats.reshape(-1, feats.shape[-1]), dim=1)
    y = labels.repeat_interleave(feats.shape[1])
    eye = torch.eye(z.shape[0], dtype=torch.bool)
    pos = (y[:, None] == y[None, :]) & ~eye
    # Soft-target cross-entropy; a finite fill keeps 0 * log p(self) = 0 (not 0 * -inf = NaN).
    logits = ((z @ z.T) / t).masked_fill(eye, -1e9)
    target = pos.float() / pos.sum(1, keepdim=True).clamp_min(1)
    keep = pos.any(1)
    return F.cross_entropy(logits[keep], target[keep])


def build(loss: str, impl: str, n: int, d: int) -> Case:
    """Inputs and loss closure for one (loss, impl, N, D) case; raises PeerMissing."""
    if not peer_installed(loss, impl):
        raise PeerMissing(f"{PEERS[(loss, impl)][0]} not installed")
    leaves, labels = make_inputs(loss, n, d)
    chunk = CHUNK if impl == "ours_chunked" else None
    if loss == "nt_xent":
        z1, z2 = leaves
        if impl in ("ours", "ours_chunked"):
            from contrastkit.functional import nt_xent_loss

            return Case(leaves, lambda: nt_xent_loss(z1, z2, temperature=NT_XENT_T, chunk_size=chunk))
        if impl == "dense":
            return Case(leaves, lambda: _dense_nt_xent(z1, z2, NT_XENT_T))
        if impl == "lightly":
            from lightly.loss import NTXentLoss

            fn = NTXentLoss(temperature=NT_XENT_T)
            return Case(leaves, lambda: fn(z1, z2))
        from pytorch_metric_learning.losses import NTXentLoss as PmlNTXent

        fn = PmlNTXent(temperature=NT_XENT_T)
        ids = torch.arange(n).repeat(2)
        return Case(leaves, lambda: fn(torch.cat([z1, z2]), ids))
    if loss == "supcon":
        (feats,) = leaves
        if impl in ("ours", "ours_chunked"):
            from contrastkit.functional import supcon_loss

            return Case(leaves, lambda: supcon_loss(feats, labels, temperature=SUPCON_T, chunk_size=chunk))
        if impl == "dense":
            return Case(leaves, lambda: _dense_supcon(feats, labels, SUPCON_T))
        from pytorch_metric_learning.losses import SupConLoss

        fn = SupConLoss(temperature=SUPCON_T)
        y = labels.repeat_interleave(2)
        return Case(leaves, lambda: fn(feats.reshape(2 * n, d), y))
    if loss == "clip":
        a, b = leaves
        scale = torch.tensor(CLIP_SCALE)
        if impl in ("ours", "ours_chunked"):
            from contrastkit.functional import clip_loss

            return Case(leaves, lambda: clip_loss(a, b, scale, chunk_size=chunk))
        from open_clip.loss import ClipLoss

        fn = ClipLoss()
        return Case(leaves, lambda: fn(F.normalize(a, dim=1), F.normalize(b, dim=1), scale))
    raise ValueError(f"unknown loss {loss!r}; expected one of {sorted(IMPLS)}")
