"""The nn.Module wrappers against the float64 loop references, and their state (scale, queue, prototypes)."""

from __future__ import annotations

import collections
import doctest
import importlib
import math
import pkgutil
import subprocess
import sys
from pathlib import Path

import contrastkit.functional as CF
import contrastkit.losses as CL
import pytest
import torch
from contrastkit.testing import (
    l2n,
    ref_clip,
    ref_cwcl,
    ref_dcl,
    ref_dclw,
    ref_info_nce,
    ref_nt_xent,
    ref_siglip,
    ref_supcon,
    ref_swav,
    ref_symile,
    ref_weighted_ce,
)
from contrastkit.testing.checks import random_embeddings

N, D = 6, 5


def _pair(dtype=torch.float64):
    return random_embeddings(N, D, 0, dtype), random_embeddings(N, D, 1, dtype)


PERM = torch.tensor([1, 0, 3, 2, 5, 4])


def _mixup_reference(a, b):
    """i-Mix targets built here: ``lam`` on column i, ``1 - lam`` on column perm(i)."""
    w = torch.zeros(N, N, dtype=torch.float64)
    w[torch.arange(N), torch.arange(N)] = 0.6
    w[torch.arange(N), PERM] += 0.4
    return ref_weighted_ce(l2n(a), l2n(b), weights=w, temperature=0.2).loss


@pytest.mark.parametrize(
    ("module", "call", "reference"),
    [
        (CL.NTXentLoss(0.3, chunk_size=4), None, lambda a, b: ref_nt_xent(l2n(a), l2n(b), 0.3)),
        (CL.InfoNCELoss(0.2, chunk_size=4), None, lambda a, b: ref_info_nce(l2n(a), l2n(b), 0.2)),
        (CL.DCLLoss(0.2, chunk_size=4), None, lambda a, b: ref_dcl(l2n(a), l2n(b), 0.2)),
        (CL.DCLLoss(0.2, weighted=True, sigma=0.7), None, lambda a, b: ref_dclw(l2n(a), l2n(b), 0.2, 0.7)),
        (CL.MixupContrastiveLoss(0.2), lambda m, a, b: m(a, b, PERM, 0.6), _mixup_reference),
    ],
    ids=["nt_xent_loss", "info_nce_loss", "dcl_loss", "dclw_loss", "mixup_contrastive_loss"],
)
def test_module_matches_the_float64_reference(module, call, reference):
    """Each configured module against its independent loop reference, value and gradients."""
    a, b = _pair()
    a1, b1 = a.clone().requires_grad_(), b.clone().requires_grad_()
    a2, b2 = a.clone().requires_grad_(), b.clone().requires_grad_()
    out = call(module, a1, b1) if call else module(a1, b1)
    ref = reference(a2, b2)
    torch.testing.assert_close(out, ref)
    out.backward()
    ref.backward()
    torch.testing.assert_close(a1.grad, a2.grad)
    torch.testing.assert_close(b1.grad, b2.grad)
    assert module.last_num_dropped == 0


def test_clip_loss_owns_a_clamped_learnable_scale():
    loss_fn = CL.ClipLoss().double()
    torch.testing.assert_close(loss_fn.log_logit_scale, torch.tensor(math.log(1 / 0.07), dtype=torch.float64))
    a, b = _pair()
    value = loss_fn(a, b)
    value.backward()
    s = torch.tensor(1 / 0.07, dtype=torch.float64).requires_grad_()
    ref = ref_clip(l2n(a), l2n(b), s)
    ref.backward()
    torch.testing.assert_close(value, ref)
    torch.testing.assert_close(loss_fn.log_logit_scale.grad, s.grad * s.detach())  # d/dlog s = s d/ds
    with torch.no_grad():
        loss_fn.log_logit_scale.fill_(math.log(500.0))
    loss_fn.zero_grad()
    clamped = loss_fn(a, b)
    clamped.backward()
    torch.testing.assert_close(clamped, ref_clip(l2n(a), l2n(b), 100.0))
    assert loss_fn.log_logit_scale.grad == 0


def test_siglip_loss_owns_scale_and_bias():
    loss_fn = CL.SigLipLoss().double()
    torch.testing.assert_close(loss_fn.log_logit_scale.exp(), torch.tensor(10.0, dtype=torch.float64))
    torch.testing.assert_close(loss_fn.logit_bias, torch.tensor(-10.0, dtype=torch.float64))
    a, b = _pair()
    value = loss_fn(a, b)
    value.backward()
    s = torch.tensor(10.0, dtype=torch.float64).requires_grad_()
    bias = torch.tensor(-10.0, dtype=torch.float64).requires_grad_()
    ref = ref_siglip(l2n(a), l2n(b), s, bias)
    ref.backward()
    torch.testing.assert_close(value, ref)
    torch.testing.assert_close(loss_fn.log_logit_scale.grad, s.grad * 10.0)
    torch.testing.assert_close(loss_fn.logit_bias.grad, bias.grad)


def test_supcon_and_soft_modules_record_dropped_anchors():
    f = random_embeddings(N, D, 0)
    labels = torch.tensor([0, 0, 1, 1, 2, 3])
    ref = ref_supcon(l2n(f), labels, 0.1)
    assert ref.num_dropped == 2
    sup = CL.SupConLoss(0.1, chunk_size=4)
    torch.testing.assert_close(sup(f, labels), ref.loss)
    assert sup.last_num_dropped == 2
    soft = CL.SoftContrastiveLoss(0.1)
    torch.testing.assert_close(soft(f, labels), ref.loss)  # one-hot labels: SupCon's L_out
    assert soft.last_num_dropped == 2


def test_cwcl_module_records_dropped_rows_and_columns():
    a, b = _pair()
    w = CF.cwcl_weights(b)
    w[1] = 0.0
    loss_fn = CL.CWCLLoss(0.1)
    torch.testing.assert_close(loss_fn(a, b, w), ref_cwcl(l2n(a), l2n(b), w, 0.1))
    assert loss_fn.last_num_dropped == 1  # row 1 is empty; every column keeps some weight


def test_feature_queue_is_a_ring_buffer():
    q = CL.FeatureQueue(5, 2)
    assert q.get() is None
    reference: collections.deque = collections.deque(maxlen=5)
    for step, size in enumerate([2, 2, 3, 7, 1]):
        batch = torch.arange(size * 2, dtype=torch.float32).view(size, 2) + 100 * step
        q.enqueue(batch)
        reference.extend(batch.tolist())
        stored = sorted(map(tuple, q.get().tolist()))
        assert stored == sorted(map(tuple, reference))
    state = q.state_dict()
    q2 = CL.FeatureQueue(5, 2)
    q2.load_state_dict(state)
    assert torch.equal(q2.get(), q.get()) and int(q2.ptr) == int(q.ptr)
    with pytest.raises(ValueError, match="dim=2"):
        q.enqueue(torch.ones(3, 4))


def test_info_nce_queue_adds_normalized_negatives():
    loss_fn = CL.InfoNCELoss(0.2, queue_size=8, dim=D).double()
    a, b = _pair()
    torch.testing.assert_close(loss_fn(a, b), ref_info_nce(l2n(a), l2n(b), 0.2))
    keys = random_embeddings(3, D, 5)
    loss_fn.enqueue(keys)
    assert int(loss_fn.queue.filled) == 3
    torch.testing.assert_close(loss_fn.queue.get(), l2n(keys))
    torch.testing.assert_close(loss_fn(a, b), ref_info_nce(l2n(a), l2n(b), 0.2, extra_negatives=l2n(keys)))
    with pytest.raises(RuntimeError, match="no queue"):
        CL.InfoNCELoss().enqueue(keys)
    with pytest.raises(ValueError, match="needs dim"):
        CL.InfoNCELoss(queue_size=4)


def test_mochi_module_uses_its_queue():
    loss_fn = CL.MoCHiLoss(D, queue_size=16, n_hard=4, s_mix=3, s_prime=2).double()
    q, k = _pair()
    torch.testing.assert_close(loss_fn(q, k), ref_info_nce(l2n(q), l2n(k), 0.2))  # empty queue
    queue = random_embeddings(10, D, 3)
    loss_fn.enqueue(queue)
    value = loss_fn(q, k, generator=torch.Generator().manual_seed(1))
    # the same draws give the same synthetic negatives; the loss over [keys; queue] + synthetic is the reference's
    synthetic = CF.hard_negative_mixing(q, queue, 4, 3, 2, generator=torch.Generator().manual_seed(1))
    ref = ref_weighted_ce(l2n(q), torch.cat([l2n(k), l2n(queue)]), positive_index=torch.arange(N),
                          extra_negatives=synthetic, temperature=0.2)
    torch.testing.assert_close(value, ref.loss)


def test_swav_module_normalizes_and_learns_its_prototypes():
    loss_fn = CL.SwAVLoss(dim=D, n_prototypes=4, temperature=0.1).double()
    with torch.no_grad():
        loss_fn.prototypes.mul_(3.0)
    z1, z2 = random_embeddings(16, D, 0), random_embeddings(16, D, 1)
    value = loss_fn(z1, z2)
    torch.testing.assert_close(loss_fn.prototypes.norm(dim=1), torch.ones(4, dtype=torch.float64))
    c = loss_fn.prototypes.detach()
    torch.testing.assert_close(value, ref_swav(l2n(z1) @ c.T, l2n(z2) @ c.T, 0.1))
    value.backward()
    assert loss_fn.prototypes.grad.abs().sum() > 0


def test_symile_module_clamps_its_scale():
    loss_fn = CL.SymileLoss(negatives="n_squared").double()
    a, b, c = (random_embeddings(N, D, k) for k in range(3))
    refs = [ref_symile(l2n(a), l2n(b), l2n(c), s, negatives="n_squared") for s in (1 / 0.07, 100.0)]
    torch.testing.assert_close(loss_fn(a, b, c), refs[0])
    with torch.no_grad():
        loss_fn.log_logit_scale.fill_(10.0)
    torch.testing.assert_close(loss_fn(a, b, c), refs[1])


def test_import_contrastkit_does_not_import_lightning_or_sklearn():
    code = ("import sys, contrastkit, contrastkit.testing; "
            "print(sorted(m for m in ('lightning', 'sklearn', 'torchmetrics', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _modules_with_examples():
    names = []
    for pkg in (CF, CL):
        for info in pkgutil.iter_modules(pkg.__path__):
            names.append(f"{pkg.__name__}.{info.name}")
    return names


@pytest.mark.parametrize("name", _modules_with_examples())
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, extraglobs={"torch": torch}, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_references_do_not_use_the_library_they_check():
    import ast

    import contrastkit.testing.references as refs

    tree = ast.parse(Path(refs.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not {m for m in imported if m and m.startswith("contrastkit")}
