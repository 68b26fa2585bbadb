"""ADE / FDE against a plain loop, and the accumulating metric against the one-shot function."""

from __future__ import annotations

import math

import pytest
import torch
from motionfc.metrics import DisplacementError, ade_fde


def test_ade_fde_match_loop_and_accumulate():
    g = torch.Generator().manual_seed(0)
    pred, fut = torch.randn(7, 12, 2, generator=g), torch.randn(7, 12, 2, generator=g)
    ade_ref = sum(math.dist(pred[i, t].tolist(), fut[i, t].tolist()) for i in range(7) for t in range(12)) / 84
    fde_ref = sum(math.dist(pred[i, -1].tolist(), fut[i, -1].tolist()) for i in range(7)) / 7
    ade, fde = ade_fde(pred, fut)
    assert (ade, fde) == pytest.approx((ade_ref, fde_ref), rel=1e-6)
    got = []
    for m in (DisplacementError(), DisplacementError(final=True)):
        m.update(pred[:3], fut[:3])
        m.update(pred[3:], fut[3:])
        got.append(m.compute().item())
    assert got == pytest.approx([ade_ref, fde_ref], rel=1e-6)
    with pytest.raises(ValueError, match=r"\(N, T, 2\)"):
        ade_fde(pred, fut[:, :5])
