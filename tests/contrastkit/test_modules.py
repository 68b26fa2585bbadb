"""The nn.Module wrappers: same values and gradients as their functions, and their state."""

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
from contrastkit.testing import l2n, ref_clip, ref_siglip
from contrastkit.testing.checks import random_embeddings

N, D = 6, 5


def _pair(dtype=torch.float64):
    return random_embeddings(N, D, 0, dtype), random_embeddings(N, D, 1, dtype)


@pytest.mark.parametrize(
    ("module", "function"),
    [
        (CL.NTXentLoss(0.3, chunk_size=4), lambda a, b: CF.nt_xent(a, b, 0.3)),
        (CL.InfoNCELoss(0.2, chunk_size=4), lambda a, b: CF.info_nce(a, b, 0.2)),
        (CL.DCLLoss(0.2, chunk_size=4), lambda a, b: CF.dcl(a, b, 0.2)),
        (CL.DCLLoss(0.2, weighted=True, sigma=0.7), lambda a, b: CF.dclw(a, b, 0.2, 0.7)),
        (CL.MixupContrastiveLoss(0.2),
         lambda a, b: CF.mixup_contrastive(a, b, torch.tensor([1, 0, 3, 2, 5, 4]), 0.6, 0.2)),
    ],
)
def test_module_equals_function(module, function):
    a, b = _pair()
    a1, b1 = a.clone().requires_grad_(), b.clone().requires_grad_()
    a2, b2 = a.clone().requires_grad_(), b.clone().requires_grad_()
    if isinstance(module, CL.MixupContrastiveLoss):
        out = module(a1, b1, torch.tensor([1, 0, 3, 2, 5, 4]), 0.6)
    else:
        out = module(a1, b1)
    ref = function(a2, b2)
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
    torch.testing.assert_close(clamped, CF.clip_loss(a, b, 100.0))
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
    sup = CL.SupConLoss(0.1, chunk_size=4)
    torch.testing.assert_close(sup(f, labels), CF.supcon(f, labels, 0.1))
    assert sup.last_num_dropped == 2
    soft = CL.SoftContrastiveLoss(0.1)
    torch.testing.assert_close(soft(f, labels), CF.supcon(f, labels, 0.1))
    assert soft.last_num_dropped == 2


def test_cwcl_module_records_dropped_rows_and_columns():
    a, b = _pair()
    w = CF.cwcl_weights(b)
    w[1] = 0.0
    loss_fn = CL.CWCLLoss(0.1)
    torch.testing.assert_close(loss_fn(a, b, w), CF.cwcl(a, b, w, 0.1))
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
    torch.testing.assert_close(loss_fn(a, b), CF.info_nce(a, b, 0.2))
    keys = random_embeddings(3, D, 5)
    loss_fn.enqueue(keys)
    assert int(loss_fn.queue.filled) == 3
    torch.testing.assert_close(loss_fn.queue.get(), l2n(keys))
    torch.testing.assert_close(loss_fn(a, b), CF.info_nce(a, b, 0.2, extra_negatives=keys))
    with pytest.raises(RuntimeError, match="no queue"):
        CL.InfoNCELoss().enqueue(keys)
    with pytest.raises(ValueError, match="needs dim"):
        CL.InfoNCELoss(queue_size=4)


def test_mochi_module_uses_its_queue():
    loss_fn = CL.MoCHiLoss(D, queue_size=16, n_hard=4, s_mix=3, s_prime=2).double()
    q, k = _pair()
    torch.testing.assert_close(loss_fn(q, k), CF.info_nce(q, k, 0.2))  # empty queue
    queue = random_embeddings(10, D, 3)
    loss_fn.enqueue(queue)
    value = loss_fn(q, k, generator=torch.Generator().manual_seed(1))
    ref = CF.mochi_loss(q, k, l2n(queue), n_hard=4, s_mix=3, s_prime=2, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(value, ref)


def test_swav_module_normalizes_and_learns_its_prototypes():
    loss_fn = CL.SwAVLoss(dim=D, n_prototypes=4, temperature=0.1).double()
    with torch.no_grad():
        loss_fn.prototypes.mul_(3.0)
    z1, z2 = random_embeddings(16, D, 0), random_embeddings(16, D, 1)
    value = loss_fn(z1, z2)
    torch.testing.assert_close(loss_fn.prototypes.norm(dim=1), torch.ones(4, dtype=torch.float64))
    c = loss_fn.prototypes.detach()
    torch.testing.assert_close(value, CF.swav_loss(l2n(z1) @ c.T, l2n(z2) @ c.T, 0.1))
    value.backward()
    assert loss_fn.prototypes.grad.abs().sum() > 0


def test_symile_module_clamps_its_scale():
    loss_fn = CL.SymileLoss(negatives="n_squared").double()
    a, b, c = (random_embeddings(N, D, k) for k in range(3))
    torch.testing.assert_close(loss_fn(a, b, c), CF.symile(a, b, c, 1 / 0.07, negatives="n_squared"))
    with torch.no_grad():
        loss_fn.log_logit_scale.fill_(10.0)
    torch.testing.assert_close(loss_fn(a, b, c), CF.symile(a, b, c, 100.0, negatives="n_squared"))


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
