"""COCONUT's losses against plain float64 loop references, values and gradients."""

from __future__ import annotations

import math

import torch
from slu.losses import audio_text_loss, feature_kd_loss, nspt_loss, ntpt_loss


def _n(v):
    return v / v.norm()


def ref_nspt(s, t, y, tau):
    """NSPT with loops: positives teacher same class (incl. self), negatives student other classes."""
    s, t = [_n(v) for v in s.double()], [_n(v) for v in t.double()]
    total = 0.0
    for i in range(len(s)):
        pos = [j for j in range(len(s)) if y[j] == y[i]]
        neg = [j for j in range(len(s)) if y[j] != y[i]]
        denom = sum(math.exp(float(s[i] @ t[p]) / tau) for p in pos) + sum(math.exp(float(s[i] @ s[n]) / tau)
                                                                          for n in neg)
        total += -sum(float(s[i] @ t[p]) / tau - math.log(denom) for p in pos) / len(pos)
    return total / len(s)


def ref_ntpt(s, t, y, tau):
    """NTPT with loops: positives and negatives are teacher embeddings."""
    s, t = [_n(v) for v in s.double()], [_n(v) for v in t.double()]
    total = 0.0
    for i in range(len(s)):
        pos = [j for j in range(len(t)) if y[j] == y[i]]
        denom = sum(math.exp(float(s[i] @ t[k]) / tau) for k in range(len(t)))
        total += -sum(float(s[i] @ t[p]) / tau - math.log(denom) for p in pos) / len(pos)
    return total / len(s)


def ref_clip(a, b, tau):
    a, b = [_n(v) for v in a.double()], [_n(v) for v in b.double()]
    n = len(a)
    rows = sum(math.log(sum(math.exp(float(a[i] @ b[k]) / tau) for k in range(n))) - float(a[i] @ b[i]) / tau
               for i in range(n))
    cols = sum(math.log(sum(math.exp(float(a[k] @ b[j]) / tau) for k in range(n))) - float(a[j] @ b[j]) / tau
               for j in range(n))
    return 0.5 * (rows + cols) / n


def _inputs(seed=0, n=9, d=6):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    t = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 1, 0, 2, 1, 0, 2, 3, 1])[:n]
    return s, t, y


def _grad_of_ref(ref, s, t, y, tau, eps=1e-6):
    """Central finite differences of a float reference (value only) w.r.t. ``s``."""
    g = torch.zeros_like(s)
    for idx in range(s.numel()):
        plus, minus = s.detach().clone(), s.detach().clone()
        plus.view(-1)[idx] += eps
        minus.view(-1)[idx] -= eps
        g.view(-1)[idx] = (ref(plus, t, y, tau) - ref(minus, t, y, tau)) / (2 * eps)
    return g


def test_nspt_value_and_gradient_match_loop_reference():
    s, t, y = _inputs()
    loss = nspt_loss(s, t, y, 0.2)
    assert math.isclose(float(loss.detach()), ref_nspt(s, t, y, 0.2), rel_tol=1e-9)
    (grad,) = torch.autograd.grad(loss, s)
    assert torch.allclose(grad, _grad_of_ref(ref_nspt, s, t, y, 0.2), atol=1e-6)


def test_nspt_single_class_has_no_negatives_and_is_finite():
    s, t, _ = _inputs(n=4)
    y = torch.zeros(4, dtype=torch.long)
    assert math.isclose(float(nspt_loss(s, t, y, 0.1)), ref_nspt(s, t, y, 0.1), rel_tol=1e-9)


def test_ntpt_value_and_gradient_match_loop_reference():
    s, t, y = _inputs(1)
    loss = ntpt_loss(s, t, y, 0.1)
    assert math.isclose(float(loss.detach()), ref_ntpt(s, t, y, 0.1), rel_tol=1e-9)
    (grad,) = torch.autograd.grad(loss, s)
    assert torch.allclose(grad, _grad_of_ref(ref_ntpt, s, t, y, 0.1), atol=1e-6)


def test_nspt_differs_from_ntpt_when_student_and_teacher_differ():
    s, t, y = _inputs(2)
    assert abs(float(nspt_loss(s, t, y)) - float(ntpt_loss(s, t, y))) > 1e-3


def test_teacher_gets_no_gradient():
    s, t, y = _inputs(3)
    t.requires_grad_(True)
    nspt_loss(s, t, y).backward()
    assert t.grad is None


def test_audio_text_loss_matches_clip_reference():
    g = torch.Generator().manual_seed(4)
    a = torch.randn(7, 5, generator=g, dtype=torch.float64)
    b = torch.randn(7, 5, generator=g, dtype=torch.float64)
    assert math.isclose(float(audio_text_loss(a, b, 0.07)), ref_clip(a, b, 0.07), rel_tol=1e-9)


def test_feature_kd_is_mse():
    a, b = torch.ones(3, 4), torch.zeros(3, 4)
    assert float(feature_kd_loss(a, b)) == 1.0


def test_nspt_alone_is_coconut_without_the_audio_text_term():
    from slu.method import MethodConfig

    nspt, coconut = MethodConfig(name="nspt"), MethodConfig(name="coconut")
    assert nspt.uses_memory and not nspt.cumulative
    assert (nspt.weight("supcon"), nspt.weight("text")) == (coconut.weight("supcon"), 0.0) and coconut.weight("text") > 0
