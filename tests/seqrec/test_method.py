"""MCLRec: the encoder and augmenter objectives against references, and the meta loop updating
exactly the parameters each of its steps should."""

from __future__ import annotations

from itertools import pairwise

import pytest
import torch
from seqrec.method import MCLRec

HID = 8


def _model(**kw):
    torch.manual_seed(0)
    return MCLRec(20, max_len=6, hidden=HID, heads=2, inner=16, dropout=0.0, attn_dropout=0.0,
                  augmenter_hidden=(4, 2), lambda_cl1=0.3, lambda_cl2=0.5, lambda_reg=0.1, **kw)


def _batch():
    x = torch.tensor([[1, 2, 3, 4, 0, 0], [5, 6, 7, 8, 9, 10], [11, 12, 0, 0, 0, 0], [13, 14, 15, 0, 0, 0]])
    n = (x > 0).sum(1)
    y = torch.tensor([[2, 3, 4, 5, 0, 0], [6, 7, 8, 9, 10, 11], [12, 13, 0, 0, 0, 0], [14, 15, 16, 0, 0, 0]])
    return {"input": x, "length": n, "target": y}


def test_encoder_objective_matches_reference(refs):
    ref_info_nce, ref_reg_pair = refs.info_nce, refs.reg_pair
    m = _model().double()
    batch = _batch()
    torch.manual_seed(3)
    h = m.encoder(batch["input"])
    r1, r2 = torch.randn(4, HID, dtype=torch.float64), torch.randn(4, HID, dtype=torch.float64)
    got = m.encoder_objective(h, r1, r2, batch)
    with torch.no_grad():
        z1, z2 = m.augmenters[0](r1), m.augmenters[1](r2)
        items = m.encoder.item_table()
        rec, count = 0.0, 0
        for b in range(4):
            for t in range(int(batch["length"][b])):
                logits = h[b, t] @ items.T
                rec += float(torch.logsumexp(logits, 0) - logits[batch["target"][b, t] - 1])
                count += 1
        rec /= count
        pairs = [(r1, z2), (r2, z1), (z1, z2)]
        cl1 = ref_info_nce(r1, r2, 1.0)
        cl2 = sum(ref_info_nce(a, b, 1.0) for a, b in pairs)
        reg = sum(ref_reg_pair(a, b, 1.0) for a, b in pairs)
    assert got["rec"].item() == pytest.approx(rec, rel=1e-9)
    assert got["cl1"].item() == pytest.approx(cl1, rel=1e-9)
    assert got["loss"].item() == pytest.approx(rec + 0.3 * cl1 + 0.5 * (cl2 + 0.1 * reg), rel=1e-9)
    assert m.augmenter_objective(r1, r2).item() == pytest.approx(cl2 + 0.1 * reg, rel=1e-9)


def _snapshot(m):
    return {k: v.detach().clone() for k, v in m.named_parameters()}


def _changed(before, after, prefix):
    return {k for k in before if k.startswith(prefix) and not torch.equal(before[k], after[k])}


@pytest.mark.parametrize("loop, reuse", [("three_step", True), ("three_step", False), ("single", False)])
def test_meta_loop_updates_exactly_the_right_parameters(loop, reuse):
    m = _model(meta_loop=loop, reuse_forward=reuse)
    enc_opt, aug_opt = m.configure_optimizers()
    snaps = [("start", _snapshot(m))]
    m.train()
    m.meta_step(_batch(), enc_opt, aug_opt, on_update=lambda name: snaps.append((name, _snapshot(m))))
    names = [n for n, _ in snaps[1:]]
    assert names == (["encoder_1", "augmenters", "encoder_2"] if loop == "three_step" else ["encoder_1", "augmenters"])
    n_enc = sum(1 for k in snaps[0][1] if k.startswith("encoder."))
    for (_, before), (name, after) in pairwise(snaps):
        moved_enc, moved_aug = _changed(before, after, "encoder."), _changed(before, after, "augmenters.")
        if name.startswith("encoder"):
            assert not moved_aug
            # every encoder tensor moves except the padding row's neighbours: embeddings as a whole move
            assert len(moved_enc) == n_enc
        else:
            assert not moved_enc
            assert moved_aug == {k for k in before if k.startswith("augmenters.")}
    assert all(not p.requires_grad for p in m.augmenters.parameters())  # frozen outside step 2


def test_reused_forward_gives_the_official_result_without_dropout():
    results = []
    for reuse in (True, False):
        m = _model(reuse_forward=reuse)
        enc_opt, aug_opt = m.configure_optimizers()
        torch.manual_seed(11)  # same augmentation draws
        m.meta_step(_batch(), enc_opt, aug_opt)
        results.append(_snapshot(m))
    for k in results[0]:
        torch.testing.assert_close(results[0][k], results[1][k], rtol=1e-5, atol=1e-6)


def test_augmenter_step_gradient_is_that_of_its_objective():
    m = _model()
    r1, r2 = torch.randn(4, HID), torch.randn(4, HID)
    m.augmenters.requires_grad_(True)
    m.augmenter_objective(r1, r2).backward()
    g = [p.grad.clone() for p in m.augmenters.parameters()]
    for p in m.augmenters.parameters():
        p.grad = None
    z1, z2 = m.augmenters[0](r1), m.augmenters[1](r2)
    from seqrec.losses import contrastive_regularization_loss, mclrec_cl2_loss

    (mclrec_cl2_loss(r1, r2, z1, z2) + 0.1 * contrastive_regularization_loss(r1, r2, z1, z2, 1.0)).backward()
    for a, p in zip(g, m.augmenters.parameters()):
        torch.testing.assert_close(a, p.grad)
    assert all(p.grad is None for p in m.encoder.parameters())


def test_bad_configuration():
    with pytest.raises(ValueError, match="meta_loop"):
        _model(meta_loop="double")
    with pytest.raises(ValueError, match="augmenter_hidden"):
        MCLRec(20, hidden=HID, heads=2, augmenter_hidden=())


def test_mclrec_logs_through_the_shared_base_and_stops_on_a_non_finite_loss(monkeypatch, tmp_path):
    """The methods' one training base is contrastkit.train.ContrastiveModule
    (no app-local log_losses); MCLRec's manual loop is checked like every other loss."""
    import lightning as L
    from contrastkit.train import ContrastiveModule, NonFiniteLossError
    from seqrec.data import SeqRecDataModule
    from seqrec.method import MCLRec
    from seqrec.module import SeqRecModule

    assert issubclass(SeqRecModule, ContrastiveModule) and "log_losses" not in vars(SeqRecModule)
    dm = SeqRecDataModule("synthetic", batch_size=16, synthetic={"num_users": 40, "num_items": 20, "num_topics": 2})
    model = MCLRec(20, hidden=8, inner=16, augmenter_hidden=(4,))
    monkeypatch.setattr(MCLRec, "rec_loss", lambda self, h, batch: h.sum() * float("nan"))
    trainer = L.Trainer(fast_dev_run=1, logger=False, enable_progress_bar=False, default_root_dir=tmp_path)
    with pytest.raises(NonFiniteLossError, match="train loss is nan at epoch 0"):
        trainer.fit(model, datamodule=dm)
