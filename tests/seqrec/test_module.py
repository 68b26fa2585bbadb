"""The shared module: next-item loss in both training forms, sampled BCE, scores, and the
DataModule's batches (cut to the longest row, evaluation sorted by length)."""

from __future__ import annotations

import math

import pytest
import torch
from seqrec.baselines import CL4SRec, SASRec
from seqrec.data import SeqRecDataModule
from seqrec.losses import next_item_bce_loss


def _tiny(cls=SASRec, **kw):
    torch.manual_seed(0)
    return cls(12, max_len=5, hidden=8, heads=2, inner=16, dropout=0.0, attn_dropout=0.0, **kw).double()


def test_prefix_and_shifted_forms_give_the_same_loss():
    """A causal encoder makes one shifted row equal to all its prefixes (module docstring of split)."""
    m = _tiny()
    seq = torch.tensor([3, 7, 1, 9, 4])
    shifted = {"input": seq[None, :4], "length": torch.tensor([4]), "target": seq[None, 1:]}
    prefixes = torch.zeros(4, 4, dtype=torch.long)
    for t in range(4):
        prefixes[t, : t + 1] = seq[: t + 1]
    prefix = {"input": prefixes, "length": torch.arange(1, 5), "target": seq[1:]}
    a, b = m.compute_losses(shifted)["loss"], m.compute_losses(prefix)["loss"]
    assert a.item() == pytest.approx(b.item(), rel=1e-10)


def test_sampled_bce_matches_reference():
    h, items = torch.randn(4, 3, dtype=torch.float64), torch.randn(10, 3, dtype=torch.float64)
    targets = torch.tensor([1, 5, 10, 2])
    got = next_item_bce_loss(h, items, targets, generator=torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(5)
    neg = torch.randint(1, 11, (4,), generator=g)
    again = torch.randint(1, 11, (4,), generator=g)
    ref = 0.0
    for r in range(4):
        n = int(again[r]) if int(neg[r]) == int(targets[r]) else int(neg[r])
        pos, negl = float(h[r] @ items[targets[r] - 1]), float(h[r] @ items[n - 1])
        ref += -math.log(1 / (1 + math.exp(-pos))) - math.log(1 / (1 + math.exp(negl)))
    assert got.item() == pytest.approx(ref / 4, rel=1e-10)


def test_bce_and_cl4srec_losses_are_finite_and_train():
    dm = SeqRecDataModule("synthetic", max_len=20, batch_size=64,
                          synthetic={"num_users": 200, "num_items": 50, "num_topics": 5})
    batch = next(iter(dm.train_dataloader()))
    for model in (_tiny(SASRec, loss_type="bce").float(), _tiny(CL4SRec).float()):
        model.encoder = type(model.encoder)(50, 20, 8, 2, 2, 16, 0.0, 0.0)
        opt = model.configure_optimizers()
        first = None
        for _ in range(15):
            loss = model.compute_losses(batch)["loss"]
            first = loss.item() if first is None else first
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert math.isfinite(loss.item()) and loss.item() < first


def test_batches_are_cut_and_eval_rows_sorted():
    dm = SeqRecDataModule("synthetic", batch_size=32, eval_batch_size=50,
                          synthetic={"num_users": 120, "num_items": 40, "num_topics": 4, "max_len": 12})
    train = next(iter(dm.train_dataloader()))
    assert train["input"].shape[1] == int(train["length"].max()) == train["target"].shape[1]
    lengths = torch.cat([b["length"] for b in dm.test_dataloader()])
    assert torch.equal(lengths, lengths.sort().values)
    for b in dm.val_dataloader():
        assert b["input"].shape[1] == int(b["length"].max())
        assert (b["history"] > 0).sum(1).max() == b["history"].shape[1]


def test_bad_config_values():
    with pytest.raises(ValueError, match="loss_type"):
        SASRec(10, loss_type="bpr")
    with pytest.raises(ValueError, match="dropout"):
        SASRec(10, dropout=1.5)
    with pytest.raises(ValueError, match="batch_size"):
        SeqRecDataModule("synthetic", batch_size=0)
