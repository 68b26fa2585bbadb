"""The style contrastive loss against an independent loop of the official SupConLoss formula,
and against the core's SupCon."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from contrastkit.functional import supcon_loss
from motionfc.style_loss import style_contrastive_loss


def _official_loop(feats: np.ndarray, labels: list[int], t: float = 0.07) -> float:
    """causalmotion's SupConLoss on (E, B, D) with one label per group, written as loops (float64)."""
    e, b, _ = feats.shape
    x = feats.reshape(e * b, -1)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    lab = [labels[i] for i in range(e) for _ in range(b)]
    total = 0.0
    for i in range(e * b):
        denom = sum(math.exp(x[i] @ x[k] / t) for k in range(e * b) if k != i)
        pos = [k for k in range(e * b) if k != i and lab[k] == lab[i]]
        total += -sum(x[i] @ x[p] / t - math.log(denom) for p in pos) / len(pos)
    return total / (e * b)


def test_matches_official_formula_and_core():
    g = torch.Generator().manual_seed(0)
    feats = torch.nn.functional.normalize(torch.randn(3, 5, 8, generator=g, dtype=torch.float64), dim=-1)
    labels = torch.tensor([0, 1, 2])
    got = style_contrastive_loss(feats, labels, temperature=0.07).item()
    assert got == pytest.approx(_official_loop(feats.numpy(), [0, 1, 2]), rel=1e-6)
    core = supcon_loss(feats.reshape(15, 8), labels.repeat_interleave(5), temperature=0.07).item()
    assert got == pytest.approx(core, rel=1e-12)
    # groups of different sizes, two groups sharing a label (fine-tuning adds pre-training batches)
    parts = [feats[0, :4], feats[1], feats[2, :2]]
    got = style_contrastive_loss(parts, torch.tensor([0, 1, 0]), temperature=0.07).item()
    x = torch.cat(parts)
    want = supcon_loss(x, torch.tensor([0] * 4 + [1] * 5 + [0] * 2), temperature=0.07).item()
    assert got == pytest.approx(want, rel=1e-12)


def test_gradient_matches_autograd_of_loop():
    g = torch.Generator().manual_seed(1)
    feats = torch.randn(2, 3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    style_contrastive_loss(feats, torch.tensor([0, 1]), temperature=0.07).backward()
    x = feats.detach().clone().requires_grad_(True)
    y = torch.nn.functional.normalize(x.reshape(6, 4), dim=-1)
    lab = torch.tensor([0, 0, 0, 1, 1, 1])
    logits = y @ y.T / 0.07
    loss = 0.0
    for i in range(6):
        others = [k for k in range(6) if k != i]
        lse = torch.logsumexp(logits[i, others], 0)
        pos = [k for k in others if lab[k] == lab[i]]
        loss = loss - sum(logits[i, p] - lse for p in pos) / len(pos)
    (loss / 6).backward()
    torch.testing.assert_close(feats.grad, x.grad, rtol=1e-6, atol=1e-9)


def test_bad_input():
    with pytest.raises(ValueError, match="groups"):
        style_contrastive_loss([torch.randn(3, 4)], torch.tensor([0, 1]), temperature=0.07)
    with pytest.raises(ValueError, match=r"\(E, B, D\)"):
        style_contrastive_loss(torch.randn(3, 4), torch.tensor([0, 1, 2]), temperature=0.07)
