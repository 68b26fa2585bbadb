"""The trained model in use, each command in its own run folder: ``embed`` (the one embedding format),
``score`` (``scores.csv``), ``export`` (the towers as safetensors, reloaded to the same embeddings),
old flag spellings, and a stopped ``demo`` continued with ``--resume``."""

import csv
import json

import numpy as np
import pytest
import soundfile as sf
import torch
from audiolang.cli import main

RATE = 16000


def _checkpoint(path):
    """A checkpoint of tiny stage-1 towers (random weights, seeded) in the layout ``audiolang fit`` writes."""
    from audiolang.method import CompaClap

    torch.manual_seed(0)
    module = CompaClap(stage=1, dim=8, width=8, layers=1, segments=2)
    torch.save({"hyper_parameters": dict(module.hparams), "state_dict": module.state_dict()}, path)
    return path


def _tones(folder, n=2):
    paths = []
    for i in range(n):
        t = np.arange(int(0.5 * RATE)) / RATE
        paths.append(folder / f"t{i}.wav")
        sf.write(paths[-1], (0.3 * np.sin(2 * np.pi * (330 + 110 * i) * t)).astype(np.float32), RATE)
    return paths


def test_export_reloads_to_the_same_embeddings(tmp_path):
    """export writes encoder.safetensors + encoder.json in its run folder; embedding the same files and
    caption through the exported file gives the checkpoint's embeddings."""
    from contrastkit.train import load_encoder, read_embeddings

    ckpt, wavs = _checkpoint(tmp_path / "m.ckpt"), _tones(tmp_path)
    runs = ["--runs_root", str(tmp_path / "runs")]
    path = main(["export", "--ckpt_path", str(ckpt), *runs])
    assert path == tmp_path / "runs/audiolang/export/version_0/encoder.safetensors"
    state, class_name, config = load_encoder(path)
    assert class_name == "audiolang.models.dual:DualEncoder" and config["dim"] == 8 and config["segments"] == 2
    assert set(state) == {k.removeprefix("encoder.") for k in torch.load(ckpt)["state_dict"]}
    inputs = ["--audio", f"[{wavs[0]}, {wavs[1]}]", "--caption", "a dog barks, then a clock ticks"]
    from_ckpt = main(["embed", "--ckpt_path", str(ckpt), *inputs, *runs])
    from_export = main(["embed", "--ckpt_path", str(path), *inputs, *runs])
    (a, ids_a), (b, ids_b) = read_embeddings(from_ckpt), read_embeddings(from_export)
    assert from_export.parent.name == "version_1" and ids_a == ids_b
    assert a.shape == (3, 8)
    np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)


def test_embed_and_score_write_into_their_run_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ckpt, wavs = _checkpoint(tmp_path / "m.ckpt"), _tones(tmp_path)
    npy = main(["embed", "--ckpt_path", str(ckpt), "--audio", f"[{wavs[0]}]", "--caption", "a bell rings",
                "--name", "mine"])
    assert npy.resolve() == tmp_path / "runs/audiolang/mine/version_0/embeddings.npy"
    meta = json.loads(npy.with_suffix("").with_suffix(".ids.json").read_text())
    assert meta["ids"] == [f"audio:{wavs[0]}", "text:a bell rings"] and meta["dim"] == 8
    assert meta["model"] == str(ckpt)
    captions = tmp_path / "captions.txt"
    captions.write_text("a bell rings\na dog barks, then a clock ticks\n")
    sim = main(["score", "--ckpt_path", str(ckpt), "--audio", f"[{wavs[0]}, {wavs[1]}]", "--captions_file",
                str(captions)])
    with open(tmp_path / "runs/audiolang/score/version_0/scores.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["caption", str(wavs[0]), str(wavs[1])]
    assert [r[0] for r in rows[1:]] == ["a bell rings", "a dog barks, then a clock ticks"]
    np.testing.assert_allclose([[float(v) for v in r[1:]] for r in rows[1:]], sim, atol=1e-6)
    # cosine of the caption with the audio, as embed computed them
    emb = np.load(npy)
    assert sim[0][0] == pytest.approx(float(emb[1] @ emb[0]), abs=1e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["captions.txt", "m.ckpt", "runs", "t0.wav", "t1.wav"]


def test_old_flag_spellings_still_run_with_a_notice(tmp_path, capsys, monkeypatch):
    """--root, --epochs and --finetune_epochs are now --runs_root, --max_epochs, --max_epochs_finetune:
    the demo's old spellings reach the study under the new names (the study itself is not run)."""
    from audiolang import study

    seen = {}
    monkeypatch.setattr(study, "study", lambda **kwargs: seen.update(kwargs) or {})
    main(["demo", "--root", str(tmp_path), "--epochs", "2", "--finetune_epochs=3"])
    assert (seen["runs_root"], seen["max_epochs"], seen["max_epochs_finetune"]) == (str(tmp_path), 2, 3)
    err = capsys.readouterr().err
    for old, new in (("--root", "--runs_root"), ("--epochs", "--max_epochs"),
                     ("--finetune_epochs", "--max_epochs_finetune")):
        assert f"{old} is now {new}" in err


def test_a_stopped_demo_continues_with_resume(tmp_path, monkeypatch):
    """A demo stopped in CompA-CLAP's stage 3 continues with --resume in the same run: the stages it
    finished are kept (their checkpoints untouched), and the table equals an uninterrupted demo's."""
    from audiolang import study

    tiny = ["--max_epochs", "1", "--max_epochs_finetune", "1", "--train_size", "24", "--benchmark_size", "6",
            "--batch_size", "8"]
    real_train_stage = study.train_stage

    def stopped_in_stage_3(run_dir, *args, **kwargs):
        if run_dir.name == "clap-hn-mod":
            raise KeyboardInterrupt
        return real_train_stage(run_dir, *args, **kwargs)

    monkeypatch.setattr(study, "train_stage", stopped_in_stage_3)
    with pytest.raises(KeyboardInterrupt):
        main(["demo", *tiny, "--runs_root", str(tmp_path / "stopped")])
    run = tmp_path / "stopped/audiolang/demo/version_0"
    seeds = run / "runs/seed0"
    assert sorted(p.name for p in seeds.iterdir()) == ["clap", "clap-hn"] and not (run / "table.md").exists()
    kept = {p: p.stat().st_mtime_ns for p in seeds.rglob("last.ckpt")}
    monkeypatch.setattr(study, "train_stage", real_train_stage)
    resumed = main(["demo", *tiny, "--runs_root", str(tmp_path / "stopped"), "--resume"])
    assert not (run.parent / "version_1").exists()
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    assert (seeds / "clap-hn-mod/checkpoints/last.ckpt").is_file()
    straight = main(["demo", *tiny, "--runs_root", str(tmp_path / "straight")])
    assert resumed == straight
    assert (run / "table.md").read_text() == (tmp_path / "straight/audiolang/demo/version_0/table.md").read_text()


def test_fit_validate_and_test_in_their_run_folders_with_the_data_cached_under_the_runs_root(tmp_path, monkeypatch):
    """Without --data.cache_dir the sets a fit and a test build are cached in <runs_root>/audiolang/cache
    (not in runs/ of the working folder); validate of the fit's checkpoint gives the fit's validation
    losses; test scores compositions built from the test groups' clips only."""
    monkeypatch.chdir(tmp_path)
    common = ["--runs_root", "elsewhere", "--model.stage", "3", "--model.dim", "8", "--model.width", "8",
              "--model.layers", "1", "--model.segments", "2", "--data.clips.sources", "[synthetic]",
              "--data.build_size", "16", "--data.batch_size", "4", "--data.val_fraction", "0.25",
              "--data.test_size", "6", "--trainer.accelerator", "cpu", "--trainer.enable_progress_bar", "false"]
    main(["fit", *common, "--trainer.max_epochs", "1"])
    runs = tmp_path / "elsewhere/audiolang"
    fit = json.loads((runs / "fit/version_0/metrics.json").read_text())
    ckpt = str(runs / "fit/version_0/checkpoints/last.ckpt")
    main(["validate", *common, "--ckpt_path", ckpt])
    val = json.loads((runs / "validate/version_0/metrics.json").read_text())
    assert val["val/loss"] == pytest.approx(fit["val/loss"], rel=1e-6)
    main(["test", *common, "--ckpt_path", ckpt])
    test = json.loads((runs / "test/version_0/metrics.json").read_text())
    assert np.isfinite(test["test/loss"]) and test["test/loss"] != pytest.approx(val["val/loss"])
    train_set = list((runs / "cache").glob("train-*/manifest.jsonl"))
    test_set = list((runs / "cache").glob("test-*/manifest.jsonl"))
    assert len(train_set) == len(test_set) == 1
    items = [json.loads(line) for line in test_set[0].read_text().splitlines()]
    train_folds = {json.loads(line)["fold"] for line in train_set[0].read_text().splitlines()}
    assert len(items) == 6 and {i["split"] for i in items} == {"test"} and not train_folds & {i["fold"] for i in items}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere"]
