"""Scene risk, IRMv1 (biased and unbiased) and v-REx against plain float64 references."""

from __future__ import annotations

import numpy as np
import torch
from motionfc.risks import even_odd_risks, irm_penalty, scene_risks, vrex_penalty


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    sse = torch.tensor([[0, 2], [2, 5], [5, 6], [6, 9], [9, 11]])
    return torch.randn(11, 12, 2, generator=g, dtype=torch.float64), torch.randn(11, 12, 2, generator=g, dtype=torch.float64), sse


def test_scene_risk_matches_loop():
    p, g, sse = _data()
    ref = []
    for a, b in sse.tolist():
        s = sum(float(((p[i, t] - g[i, t]) ** 2).sum()) for i in range(a, b) for t in range(12))
        ref.append(s / (12 * (b - a)))
    np.testing.assert_allclose(scene_risks(p, g, sse).numpy(), ref, rtol=1e-12)
    e, o = even_odd_risks(p, g, sse)
    np.testing.assert_allclose([e.item(), o.item()], [ref[0] + ref[2] + ref[4], ref[1] + ref[3]], rtol=1e-12)


def _dR_dw(p, g, sse, scenes):
    """d/dw of sum_s ||w p - g||^2 / (T n_s) at w = 1: sum_s 2 <p - g, p> / (T n_s)."""
    out = 0.0
    for s in scenes:
        a, b = sse[s].tolist()
        out += 2 * float(((p[a:b] - g[a:b]) * p[a:b]).sum()) / (12 * (b - a))
    return out


def test_irm_penalties_match_closed_form():
    p, g, sse = _data(1)
    w = torch.ones((), dtype=torch.float64, requires_grad=True)
    e, o = even_odd_risks(p * w, g, sse)
    ge, go = _dR_dw(p, g, sse, [0, 2, 4]), _dR_dw(p, g, sse, [1, 3])
    np.testing.assert_allclose(irm_penalty(e, o, w, unbiased=True).item(), ge * go, rtol=1e-10)
    e, o = even_odd_risks(p * w, g, sse)
    np.testing.assert_allclose(irm_penalty(e, o, w, unbiased=False).item(), (ge + go) ** 2, rtol=1e-10)


def test_irm_penalty_is_differentiable_wrt_predictions():
    _, g, sse = _data(2)
    def f(p):
        w = torch.ones((), dtype=torch.float64, requires_grad=True)
        e, o = even_odd_risks(p * w, g, sse)
        return irm_penalty(e, o, w)
    p = torch.randn(11, 12, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(f, (p,))


def test_vrex_is_unbiased_variance():
    r = torch.tensor([0.3, 1.2, 0.7, 2.0], dtype=torch.float64, requires_grad=True)
    np.testing.assert_allclose(vrex_penalty(r).item(), np.var([0.3, 1.2, 0.7, 2.0], ddof=1), rtol=1e-12)
    vrex_penalty(r).backward()
    m = r.detach().mean()
    np.testing.assert_allclose(r.grad.numpy(), (2 * (r.detach() - m) / 3).numpy(), rtol=1e-12)
