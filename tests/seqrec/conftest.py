"""Shared fixtures of the seqrec tests: the real ``seqrec_5core`` folder and small synthetic data."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from seqrec.data import data_root


@pytest.fixture(scope="session")
def real_dir():
    path = data_root() / "seqrec_5core"
    if not path.is_dir():
        pytest.fail(f"real data folder {path} missing: set CONTRASTKIT_DATA (realdata tests need it)")
    return path


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    torch.manual_seed(0)


def ref_info_nce(a, b, t, cos=False):
    """Official ``info_nce`` + CrossEntropy: rows k of [a; b], positive its partner, negatives all
    other views except itself; mean over 2B rows. Plain loops in float64."""
    z = [v.double() for v in torch.cat([a, b])]
    if cos:
        z = [v / v.norm() for v in z]
    n2, total = len(z), 0.0
    for k in range(n2):
        p = (k + n2 // 2) % n2
        logits = [float(z[k] @ z[j]) / t for j in range(n2) if j != k]
        pos = float(z[k] @ z[p]) / t
        total += math.log(sum(math.exp(v) for v in logits)) - pos
    return total / n2


def ref_reg_pair(a, b, t):
    """Official ``meta_contrast_rl_1`` with loops."""
    z = [v.double() for v in torch.cat([a, b])]
    n2 = len(z)
    first, second, count = 0.0, 0.0, 0
    for k in range(n2):
        p = (k + n2 // 2) % n2
        pos = float(z[k] @ z[p]) / t
        negs = [float(z[k] @ z[j]) / t for j in range(n2) if j not in (k, p)]
        m = max(negs)
        first += max(pos - min(pos, m), 0.0)
        for v in negs:
            second += max(max(pos, m) - v, 0.0)
            count += 1
    return first / n2 + second / count


@pytest.fixture(scope="session")
def refs():
    """Plain float64 loop references of the official MCLRec losses."""
    return SimpleNamespace(info_nce=ref_info_nce, reg_pair=ref_reg_pair)
