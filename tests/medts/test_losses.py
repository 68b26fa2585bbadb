"""Each COMET level against a plain float64 loop reference written from the paper/official semantics
(the references never call medts.losses or the core kernel)."""

import math

import numpy as np
import pytest
import torch
from medts.losses import (
    hierarchical_levels,
    id_loss_from_similarity,
    id_similarity,
    observation_loss,
    sample_loss,
)


def hierarchical(fn, z1, z2):
    return hierarchical_levels({"loss": fn}, z1, z2)["loss"]


def id_loss(z1, z2, ids, temperature=0.1, pairing="official"):
    return id_loss_from_similarity(id_similarity(z1, z2), ids, temperature, pairing)


def _nll_two_views(z: np.ndarray, k: int, p: int) -> float:
    """-log softmax of candidate p for anchor k over all candidates but k (raw dot products)."""
    n = len(z)
    s = [float(np.dot(z[k], z[j])) for j in range(n)]
    lse = math.log(sum(math.exp(s[j]) for j in range(n) if j != k))
    return lse - s[p]


def ref_sample(z1, z2):
    b, t, _ = z1.shape
    if b == 1:
        return 0.0
    vals = []
    for tt in range(t):
        z = np.concatenate([z1[:, tt], z2[:, tt]])
        for k in range(2 * b):
            vals.append(_nll_two_views(z, k, (k + b) % (2 * b)))
    return sum(vals) / len(vals)


def ref_observation(z1, z2):
    b, t, _ = z1.shape
    if t == 1:
        return 0.0
    vals = []
    for i in range(b):
        z = np.concatenate([z1[i], z2[i]])
        for k in range(2 * t):
            vals.append(_nll_two_views(z, k, (k + t) % (2 * t)))
    return sum(vals) / len(vals)


def ref_pool(z):
    b, t, d = z.shape
    out = np.zeros((b, t // 2, d))
    for i in range(b):
        for s in range(t // 2):
            for c in range(d):
                out[i, s, c] = max(z[i, 2 * s, c], z[i, 2 * s + 1, c])
    return out


def ref_hierarchical(fn, z1, z2):
    total, depth = 0.0, 0
    while z1.shape[1] > 1:
        total += fn(z1, z2)
        depth += 1
        z1, z2 = ref_pool(z1), ref_pool(z2)
    return total / depth


def ref_flat(z):
    b, t, d = z.shape
    out = []
    for i in range(b):
        v = []
        for c in range(d):
            col = [z[i, s, c] for s in range(t)]
            nrm = math.sqrt(sum(x * x for x in col))
            v += [x / nrm for x in col]
        nrm = math.sqrt(sum(x * x for x in v))
        out.append([x / nrm for x in v])
    return np.array(out)


def ref_id_official(z1, z2, ids, temp=0.1):
    u1, u2 = ref_flat(z1), ref_flat(z2)
    b = len(ids)
    s = [[float(np.dot(u1[i], u2[j])) / temp for j in range(b)] for i in range(b)]
    up, low = [], []
    for i in range(b):
        for j in range(b):
            if ids[i] != ids[j]:
                continue
            if i < j:  # anchor view-1 row i, softmax over its row
                up.append(math.log(sum(math.exp(s[i][k]) for k in range(b))) - s[i][j])
            if i > j:  # anchor view-2 column j, softmax over its column
                low.append(math.log(sum(math.exp(s[k][j]) for k in range(b))) - s[i][j])
    terms = [sum(v) / len(v) for v in (up, low) if v]
    return sum(terms) / len(terms) if terms else 0.0


def ref_id_all(z1, z2, ids, temp=0.1):
    u1, u2 = ref_flat(z1), ref_flat(z2)
    b = len(ids)
    out = []
    for a, c in ((u1, u2), (u2, u1)):
        per = []
        for i in range(b):
            s = [float(np.dot(a[i], c[j])) / temp for j in range(b)]
            lse = math.log(sum(math.exp(x) for x in s))
            pos = [j for j in range(b) if j != i and ids[j] == ids[i]]
            if pos:
                per.append(sum(lse - s[j] for j in pos) / len(pos))
        out.append(sum(per) / len(per))
    return sum(out) / 2


def _views(b=5, t=6, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(b, t, d, generator=g, dtype=torch.float64)
    z2 = torch.randn(b, t, d, generator=g, dtype=torch.float64)
    return z1, z2


def test_sample_level_matches_loop():
    z1, z2 = _views()
    assert sample_loss(z1, z2).item() == pytest.approx(ref_sample(z1.numpy(), z2.numpy()), rel=1e-10)


def test_observation_level_matches_loop():
    z1, z2 = _views()
    assert observation_loss(z1, z2).item() == pytest.approx(ref_observation(z1.numpy(), z2.numpy()), rel=1e-10)


@pytest.mark.parametrize("t", [7, 8])
def test_hierarchical_pooling_matches_loop(t):
    z1, z2 = _views(b=3, t=t, d=2)
    got = hierarchical(sample_loss, z1, z2).item()
    assert got == pytest.approx(ref_hierarchical(ref_sample, z1.numpy(), z2.numpy()), rel=1e-10)
    got = hierarchical(observation_loss, z1, z2).item()
    assert got == pytest.approx(ref_hierarchical(ref_observation, z1.numpy(), z2.numpy()), rel=1e-10)


@pytest.mark.parametrize("ids", [[0, 1, 0, 0, 2, 1, 1], [3, 3, 3, 3, 3, 3, 3], [0, 1, 0, 2, 1, 2, 0]])
def test_id_level_official_pairs_match_loop(ids):
    z1, z2 = _views(b=len(ids), t=4, d=3, seed=1)
    idt = torch.tensor(ids)
    got = id_loss(z1, z2, idt, 0.1, "official").item()
    assert got == pytest.approx(ref_id_official(z1.numpy(), z2.numpy(), ids), rel=1e-10)


def test_id_level_all_pairs_matches_loop():
    ids = [0, 1, 0, 0, 2, 1, 2]
    z1, z2 = _views(b=len(ids), t=4, d=3, seed=2)
    got = id_loss(z1, z2, torch.tensor(ids), 0.1, "all").item()
    assert got == pytest.approx(ref_id_all(z1.numpy(), z2.numpy(), ids), rel=1e-10)


def test_id_level_without_positives_is_zero_not_nan():
    z1, z2 = _views(b=4)
    assert id_loss(z1, z2, torch.arange(4)).item() == 0.0


def test_gradients_match_autograd_of_naive_formulas():
    """gradcheck through the kernel's hand-written backward for every level."""
    z1, z2 = _views(b=4, t=4, d=2, seed=3)
    z1.requires_grad_(True)
    z2.requires_grad_(True)
    ids = torch.tensor([0, 0, 1, 1])
    assert torch.autograd.gradcheck(lambda a, b: hierarchical(sample_loss, a, b), (z1, z2))
    assert torch.autograd.gradcheck(lambda a, b: hierarchical(observation_loss, a, b), (z1, z2))
    assert torch.autograd.gradcheck(lambda a, b: id_loss(a, b, ids, 0.1, "official"), (z1, z2))
    assert torch.autograd.gradcheck(lambda a, b: id_loss(a, b, ids, 0.1, "all"), (z1, z2))


def test_id_loss_rejects_bad_ids():
    z1, z2 = _views(b=4)
    with pytest.raises(ValueError, match="ids must be"):
        id_loss(z1, z2, torch.zeros(3, dtype=torch.long))


def test_one_pyramid_for_two_losses_matches_loop():
    z1, z2 = _views(b=6, t=8, d=3, seed=4)
    both = hierarchical_levels({"s": sample_loss, "o": observation_loss}, z1, z2)
    a, b = z1.numpy(), z2.numpy()
    assert both["s"].item() == pytest.approx(ref_hierarchical(ref_sample, a, b), rel=1e-10)
    assert both["o"].item() == pytest.approx(ref_hierarchical(ref_observation, a, b), rel=1e-10)


@pytest.mark.parametrize("pairing", ["official", "all"])
def test_id_level_nan_raises(pairing):
    """A NaN similarity raises instead of giving a finite loss."""
    sim = torch.eye(4, dtype=torch.float64)
    sim[1, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        id_loss_from_similarity(sim, torch.tensor([0, 0, 1, 1]), 0.1, pairing)


def test_id_level_float16_is_computed_in_float32():
    z1, z2 = _views(b=6, t=4, d=3, seed=5)
    ids = [0, 0, 1, 1, 1, 2]
    sim = id_similarity(z1, z2)
    got = id_loss_from_similarity(sim.rows.half(), torch.tensor(ids))
    assert got.dtype == torch.float32
    assert got.item() == pytest.approx(ref_id_official(z1.numpy(), z2.numpy(), ids), rel=2e-3)
