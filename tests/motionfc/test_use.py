"""The trained model in use: ``forecast`` from an eth-ucy checkpoint, ``embed`` from a
style-study checkpoint or from its exported encoders, with the values checked against the models."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from motionfc.cli import main


def _tracks(path, peds=3, frames=14, step=10):
    """``frame ped x y`` rows of ``peds`` pedestrians walking straight lines over ``frames`` frames."""
    rows = [f"{f * step}\t{p}\t{0.4 * f + p:.4f}\t{0.1 * f * (p - 1):.4f}" for f in range(frames) for p in range(peds)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def stgat_ckpt(tmp_path_factory):
    """A STGAT checkpoint trained for one forecasting epoch on two tiny simulated environments."""
    from contrastkit.train import make_trainer, seed_everything
    from motionfc.baselines import StgatForecaster
    from motionfc.data.datamodule import EnvDataModule
    from motionfc.data.synthetic import scenes_to_windows, style_scenes

    tmp = tmp_path_factory.mktemp("stgat")
    seed_everything(0)
    dm = EnvDataModule(batch_size=8)
    dm.splits = {s: {e: scenes_to_windows(style_scenes(r, "val", 16, cache_dir=tmp / "c"), e) for e, r in
                     (("a", 0.1), ("b", 0.5))} for s in ("train", "val", "test")}
    dm.labels = {"a": 0, "b": 1}
    make_trainer(tmp, 1, progress=False, num_sanity_val_steps=0).fit(StgatForecaster(epochs=(0, 0, 1)), datamodule=dm)
    return tmp / "checkpoints" / "last.ckpt"


def test_forecast_writes_every_window_and_the_latest_per_pedestrian(stgat_ckpt, tmp_path):
    from contrastkit.train import load_module
    from motionfc.baselines import StgatForecaster
    from motionfc.data.eth_ucy import read_tracks

    path = _tracks(tmp_path / "walk.txt")
    out = main(["forecast", "--ckpt_path", str(stgat_ckpt), "--path", str(path), "--runs_root", str(tmp_path / "runs"),
                "--seed", "3"])
    run = tmp_path / "runs" / "motionfc" / "forecast" / "version_0"
    assert out["run_dir"] == str(run) and out["windows"] == 14 - 8 + 1 and out["pedestrian_windows"] == 3 * 7
    assert out["predictions"].shape == (21, 12, 2) and out["frame_step"] == 10
    with (run / "forecast.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 21 * 12 and rows[0]["obs_end_frame"] == "70" and rows[0]["frame"] == "80"
    # the latest window (frames 60..130) of each pedestrian, as a file the ETH/UCY reader takes back
    frames, peds, xy = read_tracks(run / "forecast.txt")
    assert sorted(set(peds.tolist())) == [0, 1, 2] and frames.min() == 140 and frames.max() == 250
    # the values: STGAT on the seven windows built by hand (frames k..k+7), with the seed's noise
    m = load_module(stgat_ckpt, ("motionfc",), StgatForecaster)
    obs = torch.tensor([[[0.4 * f + p, 0.1 * f * (p - 1)] for f in range(k, k + 8)] for k in range(7) for p in range(3)])
    rel = torch.cat([torch.zeros(21, 1, 2), obs[:, 1:] - obs[:, :-1]], 1)
    sse = torch.tensor([[3 * k, 3 * k + 3] for k in range(7)])
    with torch.no_grad():
        pred = (obs[:, -1:] + m.net(rel, sse, 3, torch.Generator().manual_seed(3)).cumsum(1)).numpy()
    np.testing.assert_allclose(out["predictions"], pred, atol=1e-5)
    np.testing.assert_allclose(xy.reshape(3, 12, 2), pred[-3:], atol=1e-4)  # written to 4 decimals
    assert float(rows[12]["x"]) == pytest.approx(pred[1, 0, 0], abs=1e-4) and rows[12]["ped"] == "1"
    assert (run / "plots" / "forecast.png").stat().st_size > 0
    assert json.loads((run / "metrics.json").read_text())["pedestrians"] == 3


def test_forecast_reads_an_stgat_checkpoint_of_an_earlier_version(stgat_ckpt, tmp_path):
    """A checkpoint that records no class and names the penalty weight ``lambda_penalty``
    forecasts as the same model does today."""
    from contrastkit.train import load_checkpoint, load_module
    from contrastkit.train.checkpoint import CLASS_KEY
    from motionfc.baselines import StgatForecaster
    from motionfc.checkpoints import renamed_hparams

    ckpt = load_checkpoint(stgat_ckpt)
    hp = ckpt["hyper_parameters"]
    assert hp["risk"] == "erm"
    hp["risk"], hp["lambda_penalty"] = "vrex", 3.0
    del ckpt[CLASS_KEY], hp["lambda_irm"], hp["lambda_vrex"]
    old = tmp_path / "old.ckpt"
    torch.save(ckpt, old)
    path = _tracks(tmp_path / "walk.txt")
    args = ["--path", str(path), "--seed", "3"]
    then = main(["forecast", "--ckpt_path", str(old), *args, "--runs_root", str(tmp_path / "old")])
    now = main(["forecast", "--ckpt_path", str(stgat_ckpt), *args, "--runs_root", str(tmp_path / "now")])
    np.testing.assert_array_equal(then["predictions"], now["predictions"])
    rebuilt = load_module(old, ("motionfc",), StgatForecaster, fallback=StgatForecaster, upgrade=renamed_hparams)
    assert rebuilt.hparams.risk == "vrex" and rebuilt.hparams.lambda_vrex == 3.0


@pytest.mark.parametrize("style_source", ["reference", "observed"])
def test_forecast_of_a_style_study_model_uses_the_environments_style_without_the_scenes_future(tmp_path,
                                                                                               style_source):
    """A modular model whose final stage takes a style forecasts each simulated scene from its 8
    observed frames with the style of the *other* scenes of its environment (reference) or of its
    own observed frames; checked scene by scene against a loop over the model's parts, and the
    written ADE / FDE against the CSV's own columns in float64."""
    from contrastkit.train import save_module, seed_everything
    from motionfc.data.synthetic import style_dataset
    from motionfc.method import CausalMotion

    seed_everything(0)
    model = CausalMotion(epochs=(1, 1, 1, 1), style_source=style_source).eval()  # final stage P6: takes a style
    ckpt = save_module(tmp_path / "modular.ckpt", model)
    out = main(["forecast", "--ckpt_path", str(ckpt), "--styles", "[0.2, 0.7]", "--num_scenes", "4",
                "--cache_dir", str(tmp_path / "c"), "--runs_root", str(tmp_path / "runs")])
    parts = style_dataset([0.2, 0.7], "test", 4, seed=0, cache_dir=str(tmp_path / "c"))
    expected = []
    with torch.no_grad():
        for w in parts.values():
            scenes = [torch.from_numpy(w.traj[a:b]).float() for a, b in w.seq_start_end]
            for s, scene in enumerate(scenes):
                if style_source == "reference":
                    others = [model.model.style_encoder.codes(o) for k, o in enumerate(scenes) if k != s]
                    style = torch.cat(others).mean(0, keepdim=True)
                else:
                    style = model.model.style_encoder.codes(scene[:, :8])
                rel = model.model(scene[:, :8], style)
                expected.append(scene[:, 7:8] + rel.cumsum(1))
    np.testing.assert_allclose(out["predictions"], torch.cat(expected).numpy(), atol=1e-5)
    assert out["predictions"].shape == (16, 12, 2)  # 2 styles x 4 scenes x 2 agents
    with (tmp_path / "runs" / "motionfc" / "forecast" / "version_0" / "forecast.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 16 * 12 and {r["source"] for r in rows} == set(parts)
    for source in [*parts, "all"]:
        mine = [r for r in rows if source in (r["source"], "all")]
        err = np.array([np.hypot(float(r["x"]) - float(r["true_x"]), float(r["y"]) - float(r["true_y"])) for r in mine])
        final = [e for e, r in zip(err, mine) if r["step"] == "12"]
        assert out[source]["ade"] == pytest.approx(err.mean(), abs=1e-3)  # the CSV rounds to 0.1 mm
        assert out[source]["fde"] == pytest.approx(np.mean(final), abs=1e-3)


def test_forecast_of_a_model_without_style_and_of_a_single_reference_scene(style_ckpt, tmp_path):
    """A style-study model whose final stage takes no style (P4) forecasts with the invariant path
    alone; a reference-style model given one scene is refused (its style comes from other scenes)."""
    from contrastkit.train import load_module, save_module
    from motionfc.data.synthetic import style_dataset
    from motionfc.method import CausalMotion

    common = ["--styles", "[0.5]", "--num_scenes", "3", "--cache_dir", str(tmp_path / "c")]
    out = main(["forecast", "--ckpt_path", str(style_ckpt), *common, "--runs_root", str(tmp_path / "a")])
    model = load_module(style_ckpt, ("motionfc",), CausalMotion)
    w = style_dataset([0.5], "test", 3, seed=0, cache_dir=str(tmp_path / "c"))["0.5"]
    obs = torch.from_numpy(w.traj[:, :8]).float()
    with torch.no_grad():
        np.testing.assert_allclose(out["predictions"], (obs[:, -1:] + model.model(obs, None).cumsum(1)).numpy(),
                                   atol=1e-6)
    one = save_module(tmp_path / "p6.ckpt", CausalMotion(epochs=(1, 1, 1, 1)))
    with pytest.raises(ValueError, match=r"0\.5: one scene; the environment's style is estimated from its other"):
        main(["forecast", "--ckpt_path", str(one), "--styles", "[0.5]", "--num_scenes", "1",
              "--cache_dir", str(tmp_path / "c"), "--runs_root", str(tmp_path / "b")])
    assert not (tmp_path / "b").exists()


@pytest.fixture(scope="module")
def style_ckpt(tmp_path_factory):
    """A modular CausalMotion checkpoint after one epoch of each of P3 and P4."""
    from contrastkit.train import make_trainer, seed_everything
    from motionfc.data.datamodule import StyleDataModule
    from motionfc.method import CausalMotion

    tmp = tmp_path_factory.mktemp("style")
    seed_everything(0)
    dm = StyleDataModule(num_train=32, num_val=8, num_test=8, num_ref=8, cache_dir=str(tmp / "c"))
    make_trainer(tmp, 2, progress=False, num_sanity_val_steps=0).fit(CausalMotion(epochs=(1, 1, 0, 0)), datamodule=dm)
    return tmp / "checkpoints" / "last.ckpt"


def test_embed_from_checkpoint_equals_embed_from_exported_encoder(style_ckpt, tmp_path):
    from contrastkit.train import read_embeddings
    from motionfc.use import load_exported_encoder

    cache = ["--cache_dir", str(tmp_path / "c"), "--num_scenes", "5", "--styles", "[0.2, 0.7]"]
    runs = ["--runs_root", str(tmp_path / "runs")]
    exported = main(["export", "--ckpt_path", str(style_ckpt), "--runs_root", str(tmp_path / "enc")])
    export_run = tmp_path / "enc" / "motionfc" / "export" / "version_0"  # export writes into its own run folder
    assert exported == {k: str(export_run / f"{k}_encoder.safetensors") for k in ("style", "invariant")}
    assert all((export_run / f"{k}_encoder.json").is_file() for k in ("style", "invariant"))
    assert (export_run / "config.yaml").is_file()
    a = main(["embed", "--ckpt_path", str(style_ckpt), *cache, *runs])
    b = main(["embed", "--encoder_path", exported["style"], *cache, *runs])
    assert a["embeddings"].shape == (10, 8)
    np.testing.assert_allclose(np.linalg.norm(a["embeddings"], axis=1), 1.0, rtol=1e-5)  # the contrastive space
    np.testing.assert_array_equal(a["embeddings"], b["embeddings"])
    run = tmp_path / "runs" / "motionfc" / "embed" / "version_0"
    x, ids = read_embeddings(run / "embeddings.npy")  # the one embedding format: .npy + .ids.json
    np.testing.assert_array_equal(x, a["embeddings"])
    assert ids == a["ids"] and ids[0] == "0.2:0:0 1" and ids[5] == "0.7:0:0 1" and len(ids) == 10
    assert json.loads((run / "embeddings.ids.json").read_text())["model"] == str(style_ckpt)
    assert (run / "plots" / "embeddings.png").is_file()
    inv = main(["embed", "--encoder_path", exported["invariant"], *cache, *runs])
    assert inv["embeddings"].shape == (20, 8) and inv["ids"][:2] == ["0.2:0:0", "0.2:0:1"]
    enc = load_exported_encoder(exported["invariant"])
    assert enc.hidden == 8 and not enc.training


def test_embed_reads_an_eth_ucy_file(style_ckpt, tmp_path):
    """Windows of exactly two pedestrians are embedded; ids name their first frame and pedestrians."""
    path = _tracks(tmp_path / "two.txt", peds=2, frames=22)
    out = main(["embed", "--ckpt_path", str(style_ckpt), "--path", str(path), "--runs_root", str(tmp_path)])
    assert out["embeddings"].shape == (3, 8) and out["ids"] == ["two:0:0 1", "two:10:0 1", "two:20:0 1"]
    with pytest.raises(ValueError, match="exactly 2 pedestrians"):
        main(["embed", "--ckpt_path", str(style_ckpt), "--path", str(_tracks(tmp_path / "three.txt", frames=22)),
              "--runs_root", str(tmp_path)])
