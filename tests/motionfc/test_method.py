"""The staged CausalMotion module: schedule, which parameters each stage moves, config errors."""

from __future__ import annotations

import pytest
import torch
from contrastkit.train import make_trainer, seed_everything
from motionfc.data.datamodule import StyleDataModule
from motionfc.method import CausalMotion


@pytest.fixture(scope="module")
def dm(tmp_path_factory):
    d = StyleDataModule(num_train=64, num_val=32, num_test=32, num_ref=16, batch_size=32,
                        cache_dir=str(tmp_path_factory.mktemp("cache")))
    d.setup()
    return d


def _snapshot(m):
    return {k: v.clone() for k, v in m.model.state_dict().items()}


def _changed(before, m, prefix):
    return any(not torch.equal(before[k], v) for k, v in m.model.state_dict().items() if k.startswith(prefix))


def test_stage_schedule_and_stepping():
    m = CausalMotion(epochs=(2, 1, 1, 3))
    assert [m.stage(e) for e in range(8)] == ["P3", "P3", "P4", "P5", "P6", "P6", "P6", "P6"]
    assert m._stepping("P5") == [False, False, False, True]
    assert m._stepping("P6") == [False, True, True, True]
    assert CausalMotion(epochs=(0, 0, 0, 3), finetune="integ")._stepping("P6") == [False, False, False, True]


@pytest.mark.parametrize("stage_epochs,moved,frozen", [
    ((1, 0, 0, 0), ("inv_encoder", "decoder.mlp"), ("style_encoder", "decoder.modulator")),
    ((0, 1, 0, 0), ("style_encoder",), ("inv_encoder", "decoder")),
    ((0, 0, 1, 0), ("decoder.modulator",), ("inv_encoder", "style_encoder", "decoder.mlp")),
    ((0, 0, 0, 1), ("decoder.mlp", "decoder.modulator", "style_encoder"), ("inv_encoder",)),
])
def test_each_stage_moves_only_its_modules(dm, tmp_path, stage_epochs, moved, frozen):
    seed_everything(0)
    m = CausalMotion(epochs=stage_epochs, lambda_irm=1.0)
    before = _snapshot(m)
    make_trainer(tmp_path, 1, progress=False, num_sanity_val_steps=0, limit_val_batches=0).fit(m, datamodule=dm)
    for p in moved:
        assert _changed(before, m, p), p
    for p in frozen:
        assert not _changed(before, m, p), p


def test_losses_of_each_stage(dm):
    m = CausalMotion(epochs=(1, 1, 1, 1), lambda_irm=1.0, lambda_vrex=2.0)
    batch = {e: next(iter(dm._loader(w, False))) for e, w in dm.splits["train"].items()}
    p3 = m.compute_loss(batch, "P3")
    assert set(p3) == {"risk", "vrex", "loss"} and p3["loss"] > p3["risk"] >= 0
    p4 = m.compute_loss(batch, "P4")
    assert set(p4) == {"style", "loss"} and torch.isfinite(p4["loss"])
    p6 = m.compute_loss(batch, "P6")
    assert p6["loss"].item() == pytest.approx(p6["risk"].item() + p6["style"].item(), rel=1e-6)
    m.contrast_only = {"0.1"}  # fine-tuning: a pre-training env only feeds the style loss
    p6b = m.compute_loss(batch, "P6")
    assert p6b["risk"] < p6["risk"]


def test_style_sources(dm):
    m = CausalMotion(epochs=(0, 0, 0, 1))
    b = next(iter(dm._loader(dm.splits["test"]["0.7"], False)))
    with pytest.raises(RuntimeError, match="reference style"):
        m.eval_style(b)
    m.set_reference_styles({dm.labels["0.7"]: torch.from_numpy(dm.splits["ref"]["0.7"].traj)})
    ref = m.eval_style(b)
    leak_fut = b["fut"].clone()
    m.hparams.style_source = "leak"
    leak = m.eval_style(b)
    b["fut"] = b["fut"].clone()
    b["fut"][0::2] += 1.0  # move agent 0 only: the relative motion changes; the leak reads the scored futures, the reference style does not
    assert not torch.allclose(leak, m.eval_style(b))
    m.hparams.style_source = "reference"
    torch.testing.assert_close(ref, m.eval_style(b))
    b["fut"] = leak_fut
    obs_model = CausalMotion(epochs=(0, 0, 0, 1), style_source="observed")
    s1 = obs_model.eval_style(b)
    b["fut"] = b["fut"].clone()
    b["fut"][0::2] += 1.0
    torch.testing.assert_close(s1, obs_model.eval_style(b))


def test_bad_config():
    with pytest.raises(ValueError, match="style_source"):
        CausalMotion(style_source="future")
    with pytest.raises(ValueError, match="non-modular"):
        CausalMotion(modular=False, epochs=(1, 1, 0, 0))
    with pytest.raises(ValueError, match="four"):
        CausalMotion(epochs=(1, 1))
    with pytest.raises(ValueError, match="finetune"):
        CausalMotion(finetune="head")


def test_loaded_model_is_evaluated_in_its_final_stage(dm, tmp_path):
    seed_everything(0)
    m = CausalMotion(epochs=(1, 1, 0, 1))
    assert m.final_stage() == "P6" and m.uses_style()
    make_trainer(tmp_path, 3, progress=False, num_sanity_val_steps=0, limit_val_batches=0).fit(m, datamodule=dm)
    loaded = CausalMotion.load_from_checkpoint(tmp_path / "checkpoints" / "last.ckpt", map_location="cpu")
    assert loaded.uses_style() and not CausalMotion(epochs=(1, 1, 0, 0)).uses_style()
    b = next(iter(dm._loader(dm.splits["test"]["0.3"], False)))
    loaded.hparams.style_source = m.hparams.style_source = "leak"
    with torch.no_grad():
        torch.testing.assert_close(loaded.eval().predict_abs(b), m.eval().predict_abs(b))
        assert not torch.allclose(loaded.predict_abs(b), loaded.predict_abs(b, None, use_eval_style=False))


class _StubEncoder:
    """Embeds a scene as the one-hot of its true environment (from a lookup by first position)."""

    def __init__(self, splits, labels, informative=True):
        self.table = {}
        for split in splits:
            for e, w in split.items():
                for row in w.traj[0::2]:
                    self.table[tuple(row[0].astype('float32').round(3))] = labels[e]
        self.informative = informative

    def codes(self, traj):
        lab = torch.tensor([self.table[tuple(r[0].numpy().round(3))] for r in traj[0::2]])
        if not self.informative:
            return torch.randn(len(lab), 4, generator=torch.Generator().manual_seed(len(lab)))
        return torch.nn.functional.one_hot(lab, 8).float()

    def embed(self, codes):
        return codes


def test_style_error_rate_probe(dm, tmp_path):
    from motionfc.evaluate import style_error_rate

    splits = (dm.splits["train"], dm.splits["val"])
    assert style_error_rate(_StubEncoder(splits, dm.labels), *splits, dm.labels) == 0.0
    assert style_error_rate(_StubEncoder(splits, dm.labels, False), *splits, dm.labels) > 0.3
    seed_everything(0)
    m = CausalMotion(epochs=(0, 1, 0, 0))
    trainer = make_trainer(tmp_path, 1, progress=False, num_sanity_val_steps=0)
    trainer.fit(m, datamodule=dm)
    assert 0.0 <= trainer.callback_metrics["val/style_error"].item() <= 1.0  # the official P4 validation metric


def test_training_order_follows_the_run_seed_and_differs_per_environment(dm):
    """Seeds vary the batch order (not only the initial weights); environments are shuffled apart."""
    def first_batch(env):
        return next(iter(dm._loader(dm.splits["train"][env], True)))["obs"]

    envs = sorted(dm.splits["train"])
    seed_everything(0)
    a = {e: first_batch(e) for e in envs}
    seed_everything(0)
    assert all(torch.equal(a[e], first_batch(e)) for e in envs)  # reproducible
    seed_everything(1)
    assert not torch.equal(a[envs[0]], first_batch(envs[0]))
    orders = [dm._loader(dm.splits["train"][e], True).sampler for e in envs]
    assert len({tuple(s) for s in orders}) == len(envs)  # same sizes, different permutations
