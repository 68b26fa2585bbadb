"""The COMET module: view sharing, level weights, baselines, weight averaging."""

import pytest
import torch
from medts.baselines import SimCLR, TS2Vec
from medts.method import COMET


def _batch(b=16, t=16, c=3):
    g = torch.Generator().manual_seed(0)
    trial = torch.arange(b) // 4
    return {"x": torch.randn(b, t, c, generator=g), "trial": trial, "patient": trial // 2}


def _small(**kw):
    return COMET(3, output_dims=8, hidden_dims=4, depth=2, **kw)


def test_view_plan_shares_pairs_between_levels():
    assert _small()._view_plan() == [("all_true", ["patient", "trial"]), ("continuous", ["sample", "observation"])]
    assert len(_small(share_views=False)._view_plan()) == 4
    assert _small(lambda_patient=0, lambda_sample=0)._view_plan() == [("all_true", ["trial"]),
                                                                      ("continuous", ["observation"])]


@pytest.mark.parametrize("official", [False, True])
def test_total_is_the_weighted_sum_of_levels(official):
    torch.manual_seed(0)
    m = _small(lambda_patient=0.5, lambda_trial=0.1, lambda_sample=2.0, lambda_observation=0.3,
               official_weighting=official)
    out = m.compute_losses(_batch(), "train")
    w = {"patient": 1.0 if official else 0.5, "trial": 1.0 if official else 0.1, "sample": 2.0, "observation": 0.3}
    expected = sum(w[k] * out[f"loss_{k}"] for k in w)
    torch.testing.assert_close(out["loss"].detach(), expected)
    assert all(out[f"loss_{k}"] > 0 for k in w)


def test_baselines_and_bad_config():
    b = _batch()
    enc = {"output_dims": 8, "hidden_dims": 4, "depth": 2}
    assert set(TS2Vec(3, **enc).compute_losses(b, "train")) == {"loss", "loss_sample", "loss_observation"}
    assert set(SimCLR(3, **enc).compute_losses(b, "train")) == {"loss", "loss_instance"}
    with pytest.raises(ValueError, match="lambda_trial must be >= 0"):
        _small(lambda_trial=-1)
    with pytest.raises(ValueError, match="all lambda"):
        _small(lambda_patient=0, lambda_trial=0, lambda_sample=0, lambda_observation=0)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        SimCLR(3, temperature=0.0, **enc)


def test_ts2vec_equals_comet_without_the_id_levels():
    """TS2Vec (baselines.py) is COMET's sample + observation levels on the same views."""
    enc = {"output_dims": 8, "hidden_dims": 4, "depth": 2}
    torch.manual_seed(1)
    comet = _small(lambda_patient=0, lambda_trial=0)
    torch.manual_seed(1)
    ts2vec = TS2Vec(3, **enc)
    torch.manual_seed(2)
    a = comet.compute_losses(_batch(), "train")
    torch.manual_seed(2)
    b = ts2vec.compute_losses(_batch(), "train")
    torch.testing.assert_close(a["loss"], b["loss"])


def test_weight_averaging_tracks_the_mean_of_iterates():
    torch.manual_seed(0)
    m = _small()
    opt = m.configure_optimizers()
    snapshots = [m.encoder.input_fc.weight.detach().clone()]
    for _ in range(3):
        opt.zero_grad()
        m.compute_losses(_batch(), "train")["loss"].backward()
        opt.step()
        m.on_train_batch_end(None, None, 0)
        snapshots.append(m.encoder.input_fc.weight.detach().clone())
    torch.testing.assert_close(m.averaged_encoder().input_fc.weight, torch.stack(snapshots).mean(0))
    assert all(p.grad is None for p in m.swa_encoder.parameters())
    emb = m.embed(_batch()["x"])
    assert emb.shape == (16, 8)


def test_all_true_pair_is_two_dropout_draws_of_one_pass():
    """With the same dropout masks, the shared-pass views equal two separate encoder passes."""
    m = _small()
    x = _batch()["x"]
    torch.manual_seed(5)
    views = m.encode_views(x, ["all_true"])
    torch.manual_seed(5)  # two separate passes draw the same two dropout masks
    a, b = m.encoder(x, mask="all_true"), m.encoder(x, mask="all_true")
    torch.testing.assert_close(views[0], a)
    torch.testing.assert_close(views[1], b)
    assert not torch.equal(views[0], views[1])  # two different dropout draws
    m.eval()
    torch.testing.assert_close(m.encoder(x, mask="all_true"), m.encoder.features(x, mask="all_true"))
