"""Test-time refinement changes only the latent of the scene being refined; low-shot fine-tuning."""

from __future__ import annotations

import pytest
import torch
from motionfc.data.batching import full_batch
from motionfc.data.synthetic import scenes_to_windows, style_scenes
from motionfc.method import CausalMotion
from motionfc.transfer import refine_batch, refine_scene


@pytest.fixture(scope="module")
def batch_and_refs(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    w = scenes_to_windows(style_scenes(0.6, "test", 4, seed=0, cache_dir=cache), "0.6")
    ref = scenes_to_windows(style_scenes(0.6, "ref", 8, seed=0, cache_dir=cache), "0.6")
    return full_batch(w, 3), torch.from_numpy(ref.traj).float()


def test_refinement_moves_only_its_latent(batch_and_refs):
    torch.manual_seed(0)
    batch, ref_traj = batch_and_refs
    m = CausalMotion(epochs=(0, 0, 0, 1))
    m.set_reference_styles({3: ref_traj})
    m.eval()
    params = {k: v.clone() for k, v in m.state_dict().items()}
    enc = m.model.style_encoder
    with torch.no_grad():
        refs = enc.embed(enc.codes(ref_traj))
        z_all = m.model.inv_encoder(batch["obs"])
    style = m.eval_style(batch)
    z, _pred, losses = refine_scene(m, batch["obs"][2:4], refs, 3, style, steps=5, lr=0.05)
    assert not torch.allclose(z, z_all[2:4]) and losses[-1] < losses[0]
    for k, v in m.state_dict().items():
        assert torch.equal(params[k], v), k  # no weight moves
    assert all(p.grad is None for p in m.parameters())
    before, after = refine_batch(m, batch, ref_traj, steps=0)
    torch.testing.assert_close(before, after)  # zero steps: nothing changes
    before, after = refine_batch(m, batch, ref_traj, steps=3, lr=0.05)
    assert not torch.allclose(before[2:4], after[2:4])
    with torch.no_grad():  # each scene decodes from its own latent only: re-decoding scene 1 alone gives 'before'
        torch.testing.assert_close(m.predict_abs({**batch, "obs": batch["obs"][2:4]}, style, use_eval_style=False),
                                   before[2:4])


def test_leak_mode_uses_scored_truth(batch_and_refs):
    torch.manual_seed(0)
    batch, ref_traj = batch_and_refs
    m = CausalMotion(epochs=(0, 0, 0, 1))
    m.set_reference_styles({3: ref_traj})
    _, a = refine_batch(m, batch, ref_traj, steps=3, lr=0.05, leak=True)
    fut = batch["fut"].clone()
    fut[0::2] += 0.5  # agent 0 of every scene: the relative motion (what the style reads) changes
    shifted = {**batch, "fut": fut}
    _, b = refine_batch(m, shifted, ref_traj, steps=3, lr=0.05, leak=True)
    assert not torch.allclose(a, b)  # the official refinement depends on the scored futures
    _, c = refine_batch(m, batch, ref_traj, steps=3, lr=0.05)
    _, d = refine_batch(m, shifted, ref_traj, steps=3, lr=0.05)
    torch.testing.assert_close(c, d)  # ours does not


def test_lowshot_finetune_keeps_the_better_of_pretrained_and_finetuned(tmp_path):
    from contrastkit.train import make_trainer, seed_everything
    from motionfc.data.datamodule import StyleDataModule
    from motionfc.transfer import _val_ade, finetune

    seed_everything(0)
    cache = str(tmp_path / "cache")
    dm = StyleDataModule(num_train=64, num_val=32, num_test=32, num_ref=16, cache_dir=cache)
    pre = CausalMotion(epochs=(3, 1, 1, 1))
    make_trainer(tmp_path / "pre", 6, progress=False, num_sanity_val_steps=0).fit(pre, datamodule=dm)
    ck = tmp_path / "pre" / "checkpoints" / "last.ckpt"
    kw = {"target": 0.6, "k": 32, "epochs": 3, "num_train": 64, "num_val": 32, "num_test": 32, "num_ref": 16, "cache_dir": cache}
    m, fdm = finetune(ck, tmp_path / "ft", mode="integ", **kw)
    assert set(fdm.splits["train"]) == {"0.1", "0.3", "0.5", "0.6"} and m.contrast_only == {"0.1", "0.3", "0.5"}
    assert fdm.splits["train"]["0.6"].num_scenes == 32
    changed = {k for k, v in m.model.state_dict().items() if not torch.equal(v, pre.model.state_dict()[k])}
    assert all(k.startswith("decoder.modulator") for k in changed)  # modulator-only fine-tuning
    loaded = CausalMotion.load_from_checkpoint(ck, map_location="cpu")
    assert _val_ade(m, fdm, "0.6") <= _val_ade(loaded, fdm, "0.6") + 1e-9
