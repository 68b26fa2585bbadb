"""MCLRec's losses against plain float64 loop references (official formulas), and gradients."""

from __future__ import annotations

import math

import pytest
import torch
from seqrec.losses import (
    contrastive_regularization_loss,
    contrastive_regularization_pair_loss,
    mclrec_cl2_loss,
    next_item_ce_loss,
    view_info_nce_loss,
)


@pytest.mark.parametrize("sim, t", [("dot", 1.0), ("dot", 0.5), ("cos", 0.2)])
def test_view_info_nce_matches_reference(sim, t, refs):
    ref_info_nce = refs.info_nce
    a, b = torch.randn(5, 4, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    assert view_info_nce_loss(a, b, t, sim).item() == pytest.approx(ref_info_nce(a, b, t, sim == "cos"), rel=1e-10)


@pytest.mark.parametrize("t", [1.0, 0.7])
def test_regularization_pair_matches_reference(t, refs):
    ref_reg_pair = refs.reg_pair
    a, b = torch.randn(6, 3, dtype=torch.float64), torch.randn(6, 3, dtype=torch.float64)
    assert contrastive_regularization_pair_loss(a, b, t).item() == pytest.approx(ref_reg_pair(a, b, t), rel=1e-10)


def test_cl2_and_r_sum_the_three_pairs(refs):
    ref_info_nce, ref_reg_pair = refs.info_nce, refs.reg_pair
    h1, h2, z1, z2 = (torch.randn(4, 3, dtype=torch.float64) for _ in range(4))
    pairs = [(h1, z2), (h2, z1), (z1, z2)]
    assert mclrec_cl2_loss(h1, h2, z1, z2).item() == pytest.approx(sum(ref_info_nce(a, b, 1.0) for a, b in pairs), rel=1e-10)
    assert contrastive_regularization_loss(h1, h2, z1, z2, 1.0).item() == pytest.approx(
        sum(ref_reg_pair(a, b, 1.0) for a, b in pairs), rel=1e-10)


def test_gradients_of_cl2_and_r():
    args = tuple(torch.randn(4, 3, dtype=torch.float64, requires_grad=True) for _ in range(4))
    assert torch.autograd.gradcheck(lambda *x: mclrec_cl2_loss(*x), args)
    # R is piecewise linear: check away from its kinks (random inputs hit none almost surely)
    assert torch.autograd.gradcheck(lambda *x: contrastive_regularization_loss(*x, 1.0), args)


def test_next_item_ce_matches_reference():
    h, items = torch.randn(3, 4, dtype=torch.float64), torch.randn(6, 4, dtype=torch.float64)
    targets = torch.tensor([1, 6, 3])
    ref = 0.0
    for r in range(3):
        logits = [float(h[r] @ items[j]) for j in range(6)]
        ref += math.log(sum(math.exp(v) for v in logits)) - logits[int(targets[r]) - 1]
    assert next_item_ce_loss(h, items, targets).item() == pytest.approx(ref / 3, rel=1e-10)
