"""Fault probes of motionfc: malicious checkpoints, model selection under a time
budget, the shared simulation cache, malformed trajectory files, resumable shuffling."""

from __future__ import annotations

import json
import multiprocessing
import re
from pathlib import Path

import numpy as np
import pytest
import torch


class _Payload:
    """A pickle that creates a marker file when it is unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.fixture
def malicious(tmp_path):
    """A checkpoint-looking file whose unpickling would run code, and the marker it would create."""
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {}, "payload": _Payload(marker)}, path)
    return path, marker


def test_malicious_pickle_runs_code_when_unpickled(malicious):
    """the probe is real (an unrestricted load creates the marker)."""
    path, marker = malicious
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_malicious_checkpoint_refused_by_every_motionfc_loader(malicious, tmp_path):
    """evaluate, test --ckpt_path, finetune and load_module refuse it, naming the file."""
    from contrastkit.train import load_module
    from motionfc.cli import main
    from motionfc.method import CausalMotion
    from motionfc.transfer import finetune

    path, marker = malicious
    data = ["--num_train", "8", "--num_val", "4", "--num_test", "4", "--num_ref", "4", "--cache_dir", str(tmp_path / "c")]
    calls = [
        lambda: main(["evaluate", "--ckpt_path", str(path), *data]),
        lambda: main(["test", "--ckpt_path", str(path), "--runs_root", str(tmp_path / "runs"),
                      *[a.replace("--", "--data.", 1) if a.startswith("--") else a for a in data]]),
        lambda: finetune(path, tmp_path / "ft", k=4, epochs=1, num_train=8, num_val=4, num_test=4, num_ref=4,
                         cache_dir=str(tmp_path / "c")),
        lambda: load_module(path, ("motionfc",), CausalMotion, fallback=CausalMotion),
    ]
    for call in calls:
        with pytest.raises(Exception, match="evil.ckpt") as err:
            call()
        assert not isinstance(err.value, SystemExit)
        assert not marker.exists()


def _stgat_run(tmp_path, epochs, max_epochs):
    """Fit StgatForecaster on a tiny two-environment set for ``max_epochs`` of the ``epochs`` schedule."""
    from contrastkit.train import make_trainer, seed_everything
    from motionfc.baselines import FinalStageBest, StgatForecaster
    from motionfc.data.datamodule import EnvDataModule
    from motionfc.data.synthetic import scenes_to_windows, style_scenes

    seed_everything(0)
    dm = EnvDataModule(batch_size=8)
    cache = tmp_path / "cache"
    dm.splits = {s: {e: scenes_to_windows(style_scenes(r, s if s != "test" else "val", 16, cache_dir=cache), e)
                     for e, r in (("a", 0.1), ("b", 0.5))} for s in ("train", "val", "test")}
    dm.labels = {"a": 0, "b": 1}
    m = StgatForecaster(epochs=epochs)
    select = FinalStageBest(tmp_path / "checkpoints" / "best.ckpt")
    trainer = make_trainer(tmp_path, max_epochs, progress=False, num_sanity_val_steps=0, callbacks=[select])
    trainer.fit(m, datamodule=dm)
    return select, trainer


def test_stgat_selects_only_among_final_stage_epochs(tmp_path):
    """no checkpoint of stages 1-2 is ever 'best'; within stage 3 the lowest val ADE wins."""
    from contrastkit.train import load_checkpoint

    select, _ = _stgat_run(tmp_path, (2, 1, 3), 6)
    assert select.epoch is not None and select.epoch >= 3  # a stage-3 epoch (0-based 3, 4 or 5)
    assert load_checkpoint(select.path)["epoch"] == select.epoch
    logged = [r for r in _csv_rows(tmp_path) if r.get("val/ade")]
    assert {int(r["epoch"]) for r in logged} == {3, 4, 5}  # stages 1-2 log no forecasting ADE
    assert select.best == pytest.approx(min(float(r["val/ade"]) for r in logged))


def test_stgat_stopped_before_final_stage_selects_nothing(tmp_path):
    """a run cut before stage 3 (as by --max_minutes) has no 'best' forecaster."""
    select, _ = _stgat_run(tmp_path, (1, 1, 3), 2)
    assert select.epoch is None and not select.path.exists()


def _csv_rows(run):
    import csv

    rows = []
    for f in sorted((run / "logs").glob("csv*/metrics.csv")):
        with f.open() as fh:
            rows += list(csv.DictReader(fh))
    return rows


@pytest.mark.realdata
def test_eth_ucy_metrics_name_the_scored_checkpoint(tmp_path):
    """metrics.json names the checkpoint, epoch and stage scored; config.yaml is complete."""
    import yaml
    from motionfc.cli import main
    from motionfc.paths import eth_ucy_root

    eth_root = eth_ucy_root()  # a missing data folder fails with its path (set CONTRASTKIT_DATA)

    args = ["eth-ucy", "--fold", "hotel", "--max_train_scenes", "4", "--runs_root", str(tmp_path), "--data_root",
            str(eth_root), "--progress", "false"]
    full = main([*args, "--max_epochs", "[1, 1, 2]"])
    run = next((tmp_path / "motionfc").glob("*/version_0"))
    assert full["scored_checkpoint"].endswith("best.ckpt") and full["scored_stage"] == 3 and full["scored_epoch"] == 3
    assert json.loads((run / "metrics.json").read_text())["scored_epoch"] == 3
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["fold"] == "hotel" and cfg["risk"] == "erm" and cfg["model"]["epochs"] == [1, 1, 2]
    assert cfg["data"]["max_train_scenes"] == 4 and cfg["name"] == run.parent.name
    cut = main([*args, "--max_epochs", "[2, 2, 2]", "--max_minutes", "0.00001", "--name", "cut"])
    assert cut["scored_stage"] == 1 and cut["scored_checkpoint"].endswith("last.ckpt") and cut["best_val_ade"] is None


def _write_cache_entry(cache_dir: str, barrier, rounds: int) -> None:
    from motionfc.data.synthetic import save_npz_atomic, style_scenes

    barrier.wait()
    data = style_scenes(0.3, "ref", 4, cache_dir=cache_dir)
    path = next(Path(cache_dir).glob("orca_*.npz"))  # the entry (not the other writer's temporary file)
    for _ in range(rounds):
        save_npz_atomic(path, scenes=data)


def test_two_processes_write_one_cache_entry(tmp_path):
    """concurrent writers of the simulation cache never fail nor leave partial files."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_write_cache_entry, args=(str(tmp_path), barrier, 30)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    files = sorted(tmp_path.iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz"  # no temporary file left behind
    with np.load(files[0]) as f:
        assert f["scenes"].shape == (4, 2, 20, 2)


def test_cache_writer_interrupted_by_another_writer(tmp_path, monkeypatch):
    """a second writer finishing while the first is mid-write does not break the first."""
    import motionfc.data.synthetic as syn

    real, calls = np.savez_compressed, []

    def savez_then_other_writer(file, **arrays):
        real(file, **arrays)
        if not calls:
            calls.append(1)
            syn.style_scenes(0.3, "ref", 4, cache_dir=tmp_path)  # the other writer, same entry

    monkeypatch.setattr(syn.np, "savez_compressed", savez_then_other_writer)
    data = syn.style_scenes(0.3, "ref", 4, cache_dir=tmp_path)
    assert calls and data.shape == (4, 2, 20, 2) and len(list(tmp_path.iterdir())) == 1


def test_eth_ucy_duplicate_row_names_frame_pedestrian_and_line(tmp_path):
    """a pedestrian twice in one frame names the frame, the pedestrian and the lines."""
    from motionfc.data.eth_ucy import read_tracks

    path = tmp_path / "dup.txt"
    path.write_text("10\t1\t0.0\t0.0\n10\t2\t1.0\t1.0\n20\t1\t0.1\t0.0\n10\t2\t1.5\t1.0\n")
    with pytest.raises(ValueError, match=r"dup.txt:4: pedestrian 2 appears twice in frame 10 \(first at line 2\)"):
        read_tracks(path)


def test_trajnetpp_non_integer_frame_is_an_error(tmp_path):
    """a Trajnet++ frame 10.5 is an error with file and line, not truncated to 10."""
    from motionfc.data.trajnetpp import read_ndjson

    path = tmp_path / "frac.ndjson"
    rows = [{"scene": {"id": 0, "p": 1, "s": 0, "e": 20}}, {"track": {"f": 0, "p": 1, "x": 0.0, "y": 0.0}},
            {"track": {"f": 10.5, "p": 1, "x": 0.0, "y": 0.0}}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(ValueError, match=r"frac.ndjson:3: field 'f' must be an integer, got 10.5"):
        read_ndjson(path)


def test_fresh_loader_at_epoch_k_replays_epoch_k(tmp_path):
    """a resumed fit's new loader, set to epoch k, yields the order of epoch k."""
    from lightning.fabric.utilities.data import _set_sampler_epoch
    from motionfc.data.datamodule import StyleDataModule

    def orders(dm, epochs):
        out = []
        loaders = dm.train_dataloader()
        for e in epochs:
            for dl in loaders.flattened:
                _set_sampler_epoch(dl, e)  # what Lightning's fit loop does before each epoch
            out.append({env: torch.cat([b["obs"][:, 0, 0] for b in dl]) for env, dl in loaders.iterables.items()})
        return out

    kw = {"num_train": 24, "num_val": 4, "num_test": 4, "num_ref": 4, "batch_size": 5, "cache_dir": str(tmp_path)}
    a = StyleDataModule(**kw)
    a.setup()
    continuing = orders(a, [0, 1, 2])
    b = StyleDataModule(**kw)
    b.setup()
    resumed = orders(b, [2])[0]
    for env in continuing[2]:
        torch.testing.assert_close(resumed[env], continuing[2][env])
        assert not torch.equal(continuing[0][env], continuing[2][env])  # epochs do differ


def test_eth_ucy_resume_with_another_fold_or_risk_is_refused(tmp_path, monkeypatch):
    """resuming an eth/ERM run as hotel or IRM is refused, naming the field; the run is untouched."""
    import contrastkit.train.trainer as trainer_module
    from contrastkit.train import ResumeError
    from motionfc.cli import main

    def killed_after_first_checkpoint(trainer, module, datamodule=None, *, run_dir, label=None, **kw):
        (run_dir / "checkpoints").mkdir(parents=True)
        (run_dir / "checkpoints" / "last.ckpt").write_bytes(b"a checkpoint")
        raise KeyboardInterrupt  # the user's Ctrl-C after the first epoch

    monkeypatch.setattr(trainer_module, "fit_resumable", killed_after_first_checkpoint)
    args = ["eth-ucy", "--fold", "eth", "--risk", "erm", "--name", "run", "--runs_root", str(tmp_path),
            "--data_root", str(tmp_path / "no_data")]
    with pytest.raises(KeyboardInterrupt):
        main(args)
    run = tmp_path / "motionfc" / "run" / "version_0"
    config = (run / "config.yaml").read_text()
    for change, message in ((["--fold", "hotel"], r"fold: 'eth' -> 'hotel'"), (["--risk", "irm"], r"risk: 'erm' -> 'irm'"),
                            (["--max_epochs", "[150, 50, 150]"], "only lengthen the last stage")):
        with pytest.raises(ResumeError, match=message):
            main([*args, *change, "--resume"])
    assert (run / "config.yaml").read_text() == config and not (run / "metrics.json").exists()
    assert [p.name for p in run.parent.iterdir()] == ["version_0"]


def _walk(path, peds=2, frames=30, step=10):
    """``frame ped x y`` rows of ``peds`` pedestrians walking straight lines over ``frames`` frames."""
    rows = [f"{f * step}\t{p}\t{0.4 * f + p:.4f}\t{0.1 * f * (p - 1):.4f}" for f in range(frames) for p in range(peds)]
    path.write_text("\n".join(rows) + "\n")
    return path


def _saved(module, path, edit=None, records_class=True):
    """``module`` saved as a Lightning checkpoint of it (untrained weights), its state edited."""
    from contrastkit.train.checkpoint import CLASS_KEY, class_path

    state = module.state_dict()
    (edit or (lambda s: None))(state)
    ckpt = {"state_dict": state, "hyper_parameters": dict(module.hparams), "epoch": 0, "global_step": 0,
            "pytorch-lightning_version": "2.5.0"}
    if records_class:
        ckpt[CLASS_KEY] = {"module": class_path(module), "datamodule": None}
    torch.save(ckpt, path)
    return path


def _nan_first(prefix):
    def edit(state):
        key = next(k for k in state if k.startswith(prefix) and k.endswith("weight"))
        state[key].view(-1)[0] = float("nan")
    return edit


def _huge(prefix):
    def edit(state):
        for k in state:
            if k.startswith(prefix) and state[k].is_floating_point():
                state[k][...] = 3e38
    return edit


def test_nan_weights_of_a_forecaster_are_refused_before_any_output(tmp_path):
    """A damaged eth-ucy checkpoint of the right shape (a NaN weight): `motionfc forecast` wrote a
    forecast.csv of NaN; it is refused naming the file, before any run exists."""
    from motionfc.baselines import StgatForecaster
    from motionfc.cli import main

    bad = _saved(StgatForecaster(), tmp_path / "nan.ckpt", _nan_first("net."))
    with pytest.raises(ValueError, match=re.escape(str(bad)) + r": non-finite \(NaN or infinite\) weights in net\."):
        main(["forecast", "--ckpt_path", str(bad), "--path", str(_walk(tmp_path / "w.txt")),
              "--runs_root", str(tmp_path / "runs")])
    assert not (tmp_path / "runs").exists()


def test_finite_weights_whose_forecast_overflows_are_refused_before_any_output(tmp_path):
    """Finite but huge weights (3e38) overflow float32: an error naming the file, no forecast.csv."""
    from motionfc.baselines import StgatForecaster
    from motionfc.cli import main

    bad = _saved(StgatForecaster(), tmp_path / "huge.ckpt", _huge("net."))
    with pytest.raises(ValueError, match=re.escape(str(bad)) + r": non-finite \(NaN or infinite\) forecasts"):
        main(["forecast", "--ckpt_path", str(bad), "--path", str(_walk(tmp_path / "w.txt")),
              "--runs_root", str(tmp_path / "runs")])
    assert not (tmp_path / "runs").exists()


EMBED_DATA = ["--styles", "[0.1]", "--num_scenes", "4"]


def test_nan_weights_of_a_style_model_or_its_export_are_refused_by_embed(tmp_path):
    """`motionfc embed` with a CausalMotion checkpoint or an exported style encoder holding NaN:
    refused naming the file (no embeddings.npy of NaN), and `export` does not copy the damage."""
    from motionfc.cli import main
    from motionfc.method import CausalMotion

    cache = ["--cache_dir", str(tmp_path / "cache")]
    bad = _saved(CausalMotion(), tmp_path / "nan.ckpt", _nan_first("model.style_encoder."))
    for argv in (["embed", *EMBED_DATA, *cache, "--runs_root", str(tmp_path / "runs")],
                 ["export", "--runs_root", str(tmp_path / "enc")]):
        with pytest.raises(ValueError, match=re.escape(str(bad)) + r": non-finite .*model\.style_encoder\."):
            main([argv[0], "--ckpt_path", str(bad), *argv[1:]])
    good = _saved(CausalMotion(), tmp_path / "good.ckpt")
    exported = Path(main(["export", "--ckpt_path", str(good), "--runs_root", str(tmp_path / "enc")])["style"])
    _edit_export(exported, _nan_first("encoder."))
    with pytest.raises(ValueError, match=re.escape(str(exported)) + r": non-finite .*encoder\.0\.weight"):
        main(["embed", "--encoder_path", str(exported), *EMBED_DATA, *cache, "--runs_root", str(tmp_path / "runs")])
    assert not (tmp_path / "runs").exists()


def test_finite_weights_whose_embeddings_overflow_are_refused_by_embed(tmp_path):
    """An exported invariant encoder with finite but huge weights: NaN/inf latents are an error naming
    the file, and no embeddings.npy is written."""
    from motionfc.cli import main
    from motionfc.method import CausalMotion

    good = _saved(CausalMotion(), tmp_path / "good.ckpt")
    exported = Path(main(["export", "--ckpt_path", str(good), "--runs_root", str(tmp_path / "enc")])["invariant"])
    _edit_export(exported, _huge("net."))
    with pytest.raises(ValueError, match=re.escape(str(exported)) + r": non-finite \(NaN or infinite\) embeddings"):
        main(["embed", "--encoder_path", str(exported), *EMBED_DATA, "--cache_dir", str(tmp_path / "cache"),
              "--runs_root", str(tmp_path / "runs")])
    assert not (tmp_path / "runs").exists()


def _edit_export(path, state_edit=None, config_edit=None):
    from safetensors.torch import load_file, save_file

    state, meta = load_file(path), json.loads(path.with_suffix(".json").read_text())
    (state_edit or (lambda s: None))(state)
    (config_edit or (lambda c: None))(meta["config"])
    save_file(state, path)
    path.with_suffix(".json").write_text(json.dumps(meta))
    return path


def _drop(state):
    del state["head.0.bias"]


def _extra(state):
    state["extra.weight"] = torch.zeros(2)


def _reshape(state):
    state["head.0.weight"] = torch.zeros(3, 8)


def _unknown(config):
    config["colour"] = "red"


@pytest.mark.parametrize("state_edit, config_edit, message", [
    (_drop, None, r"missing tensors: head\.0\.bias"),
    (_extra, None, r"unexpected tensors: extra\.weight"),
    (_reshape, None, r"head\.0\.weight: \(3, 8\) where the model has \(8, 8\)"),
    (None, _unknown, r"StyleEncoder takes no argument\(s\) colour"),
])
def test_a_damaged_export_is_one_error_naming_the_file(tmp_path, state_edit, config_edit, message):
    """Missing, extra or mis-shaped tensors and unknown constructor arguments of an exported encoder."""
    from contrastkit.train import CheckpointError
    from motionfc.cli import main
    from motionfc.method import CausalMotion

    good = _saved(CausalMotion(), tmp_path / "good.ckpt")
    exported = Path(main(["export", "--ckpt_path", str(good), "--runs_root", str(tmp_path / "enc")])["style"])
    _edit_export(exported, state_edit, config_edit)
    with pytest.raises(CheckpointError, match=re.escape(str(exported)) + ".*" + message):
        main(["embed", "--encoder_path", str(exported), *EMBED_DATA, "--cache_dir", str(tmp_path / "cache"),
              "--runs_root", str(tmp_path / "runs")])
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("records_class", [True, False])
def test_another_apps_checkpoint_is_named_as_such(tmp_path, records_class):
    """A seqrec checkpoint given to evaluate / embed / export / forecast / test: one error naming the
    file and what it holds (its class, or its hyper-parameters), never a bare TypeError or state-dict
    error, and no run folder."""
    from contrastkit.train import CheckpointError
    from motionfc.cli import main
    from seqrec.baselines import SASRec

    path = _saved(SASRec(num_items=20, hidden=8, inner=16), tmp_path / "seqrec.ckpt", records_class=records_class)
    held = (r"it holds a seqrec\.baselines:SASRec, a model of another app" if records_class
            else r"its hyper-parameters \(num_items, max_len, hidden, .*\)")
    runs = ["--runs_root", str(tmp_path / "runs")]
    calls = [["evaluate", *runs], ["embed", *EMBED_DATA, *runs], ["export", "--runs_root", str(tmp_path / "enc")],
             ["forecast", "--path", str(_walk(tmp_path / "w.txt")), *runs]]
    for argv in calls:
        with pytest.raises(CheckpointError, match=re.escape(str(path)) + r": not a '?motionfc .*checkpoint: " + held):
            main([argv[0], "--ckpt_path", str(path), *argv[1:]])
    assert not (tmp_path / "runs").exists() and not (tmp_path / "enc").exists()
    # LightningCLI's test checks the checkpoint before its run folder opens
    refused = (r"holds a seqrec\.baselines:SASRec, not a motionfc\.method:CausalMotion" if records_class
               else r"the weights do not fit CausalMotion .*missing tensors: model\..*unexpected tensors: encoder\.")
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + ": " + refused):
        main(["test", "--ckpt_path", str(path), "--runs_root", str(tmp_path / "runs"), "--data.num_train", "8",
              "--data.num_val", "4", "--data.num_test", "4", "--data.num_ref", "4",
              "--data.cache_dir", str(tmp_path / "cache"), "--trainer.enable_progress_bar", "false"])
    assert not (tmp_path / "runs").exists()


def _trained_epochs(run_dir: Path) -> list[int]:
    """The epochs with training steps in the newest CSV log of ``run_dir`` (one log per fit or resume)."""
    import csv

    newest = max((run_dir / "logs").glob("csv*/metrics.csv"), key=lambda p: p.stat().st_mtime)
    with newest.open() as f:
        return sorted({int(r["epoch"]) for r in csv.DictReader(f) if r.get("train/loss_step")})


@pytest.mark.realdata
def test_eth_ucy_resume_after_the_damaged_last_checkpoint_is_deleted_continues_from_best(tmp_path, capsys):
    """A truncated last.ckpt stops --resume with "delete it and resume from an earlier checkpoint";
    after deleting it, --resume announced best.ckpt and then trained from epoch 0. It now continues
    after best.ckpt's epoch (its weights, optimizer and trainer state), and says so."""
    from motionfc.cli import main
    from motionfc.paths import eth_ucy_root

    args = ["eth-ucy", "--fold", "hotel", "--max_train_scenes", "4", "--runs_root", str(tmp_path), "--data_root",
            str(eth_ucy_root()), "--progress", "false", "--name", "r"]
    main([*args, "--max_epochs", "[1, 1, 2]"])
    run = tmp_path / "motionfc" / "r" / "version_0"
    best = run / "checkpoints" / "best.ckpt"
    best_epoch = int(torch.load(best, weights_only=True)["epoch"])
    last = run / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:1000])
    with pytest.raises(ValueError, match=re.escape(str(last)) + r": not a readable checkpoint .*delete it and resume"):
        main([*args, "--max_epochs", "[1, 1, 3]", "--resume"])
    last.unlink()
    capsys.readouterr()
    metrics = main([*args, "--max_epochs", "[1, 1, 3]", "--resume"])
    out = capsys.readouterr().out
    assert f"resuming {run} from checkpoints/best.ckpt (saved in epoch {best_epoch + 1} at step" in out
    assert f"continuing from {best} (saved in epoch {best_epoch + 1} at step" in out
    assert _trained_epochs(run) == list(range(best_epoch + 1, 5)) and metrics["epochs_run"] == 5
