"""Accumulation of the input gradients from ``dL/dz``, chunk by chunk (both kernel passes).

With ``z = a_s @ [c; e].T``: ``dL/da_s += g @ [c; e]``, ``dL/dc += g.T @ a_s``, ``dL/de += ...``
(per-anchor negatives: an einsum). At the end the chain rule through ``a_s = a * scale`` gives
``dL/da = scale * dL/da_s`` and ``dL/dscale_i = <dL/da_s_i, a_i>`` (``O(N D)``).
"""

from __future__ import annotations

import torch
from torch import Tensor


class Grads:
    """Gradients w.r.t. the scaled anchors, the candidates and the extra negatives (in ``acc``)."""

    def __init__(self, grad_as: Tensor, grad_c: Tensor, grad_e: Tensor | None) -> None:
        self.grad_as, self.grad_c, self.grad_e = grad_as, grad_c, grad_e
        self.grad_a = self.grad_s = None

    @classmethod
    def zeros(cls, anchors: Tensor, candidates: Tensor, extra: Tensor | None, acc: torch.dtype) -> Grads:
        def zeros(t):
            return None if t is None else torch.zeros(t.shape, dtype=acc, device=t.device)

        return cls(zeros(anchors), zeros(candidates), zeros(extra))

    def add_chunk(self, g: Tensor, a_s_all: Tensor, c: Tensor, e: Tensor | None, r0: int, r1: int,
                  per_anchor_negatives: bool) -> None:
        """``g`` ``(r, M + K)`` = dL/dz of rows ``r0:r1``; everything in the accumulation dtype."""
        m = c.shape[0]
        a_s = a_s_all[r0:r1]
        g_c = g[:, :m]
        self.grad_as[r0:r1].addmm_(g_c, c)
        self.grad_c.addmm_(g_c.T, a_s)
        if e is not None:
            g_e = g[:, m:]
            if per_anchor_negatives:
                self.grad_as[r0:r1] += torch.einsum("rk,rkd->rd", g_e, e[r0:r1])
                self.grad_e[r0:r1] += torch.einsum("rk,rd->rkd", g_e, a_s)
            else:
                self.grad_as[r0:r1].addmm_(g_e, e)
                self.grad_e.addmm_(g_e.T, a_s)

    def scale_(self, factor: float) -> None:
        for t in (self.grad_as, self.grad_c, self.grad_e):
            if t is not None:
                t.mul_(factor)

    def finish(self, a: Tensor, scale: Tensor, scale_needs_grad: bool) -> None:
        """Chain rule through ``a_s = a * scale`` (``dscale`` only when the temperature needs it)."""
        if scale_needs_grad:
            self.grad_s = (self.grad_as * a).sum(1)
        else:
            self.grad_s = self.grad_as.new_zeros(0)
        self.grad_a = self.grad_as * scale[:, None].to(self.grad_as.dtype)

    def tensors(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        e = self.grad_e if self.grad_e is not None else self.grad_a.new_zeros(0)
        return self.grad_a, self.grad_c, self.grad_s, e
