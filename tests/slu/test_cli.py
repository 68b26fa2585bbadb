"""The ``slu`` command: help without torch, and on one tiny run fit -> test / validate / evaluate /
predict / embed / export, each checked against what the run should produce."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from contrastkit.train.plots import read_logged_rows
from slu.cli import main

TINY = ["--data.dataset", "synthetic_fsc", "--data.n_tasks", "2", "--data.batch_size", "8", "--data.vocab_size", "40",
        "--data.synthetic.train_speakers", "3", "--data.synthetic.test_speakers", "1",
        "--data.synthetic.phrasings", "2", "--data.synthetic.max_classes", "4"]
MODEL = ["--model.d_model", "32", "--model.encoder_layers", "1", "--model.decoder_layers", "1", "--model.heads", "2",
         "--model.ff", "64", "--model.proj_dim", "16"]


def test_help_imports_no_torch():
    code = "import sys; sys.modules['torch'] = None; from slu.cli import main; main(['--help'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for command in ("demo", "prepare", "synthesize", "fit", "validate", "test", "study", "evaluate", "embed",
                    "predict", "export"):
        assert f"  {command} " in out


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, cache_dir):
    """A tiny ER run of 2 tasks (1 valid pseudo-speaker): its runs folder, fit's metrics, the last task state."""
    runs = tmp_path_factory.mktemp("runs")
    data = [*TINY, "--data.synthetic.valid_speakers", "1", "--data.cache_dir", str(cache_dir)]
    metrics = main(["fit", *data, *MODEL, "--method.name", "er", "--train.max_epochs", "3", "--train.lr", "0.003",
                    "--trainer.accelerator", "cpu", "--train.memory_per_class", "2", "--runs_root", str(runs),
                    "--threads", "1"])
    return runs, data, metrics, runs / "slu" / "fit" / "version_0" / "checkpoints" / "task_1.ckpt"


def _metrics_json(runs, name: str) -> dict:
    return json.loads((runs / "slu" / name / "version_0" / "metrics.json").read_text())


def test_fit_writes_every_task_state_and_a_loss_plot_of_the_whole_run(fitted):
    runs, _, metrics, ckpt = fitted
    assert metrics["method"] == "er" and metrics["memory_size"] == 8  # 2 clips of each of the 4 classes
    run = ckpt.parent.parent
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["task_0.ckpt", "task_1.ckpt"]
    assert (run / "plots" / "loss.png").is_file()
    from slu.plots import plot_task_losses

    steps = [len({r["step"] for r in read_logged_rows(run / "tasks" / f"task_{t}")}) for t in range(2)]
    assert all(steps)  # both tasks logged losses, and the plot reads both
    assert plot_task_losses([run / "tasks" / "task_0", run / "tasks" / "task_1"], runs / "again.png").is_file()


def test_test_scores_every_task_state_as_fit_did(fitted):
    """``slu test`` rebuilds fit's accuracy matrix from the task states and the run's own data settings."""
    runs, _, metrics, ckpt = fitted
    scored = main(["test", "--ckpt_path", str(ckpt), "--runs_root", str(runs)])
    assert scored["matrix"] == metrics["matrix"] and scored["counts"] == metrics["counts"]
    assert (scored["avg_acc"], scored["last_acc"], scored["forgetting"]) == (
        metrics["avg_acc"], metrics["last_acc"], metrics["forgetting"])
    assert _metrics_json(runs, "test")["avg_acc"] == metrics["avg_acc"]


def test_validate_scores_every_task_state_on_the_valid_clips(fitted, tiny_data_config):
    from dataclasses import replace

    from slu.data.datamodule import prepare_data
    from slu.data.synthetic import SyntheticConfig
    from slu.evaluate import cl_metrics

    runs, _, _, ckpt = fitted
    scored = main(["validate", "--ckpt_path", str(ckpt), "--runs_root", str(runs)])
    config = replace(tiny_data_config, synthetic=SyntheticConfig(train_speakers=3, valid_speakers=1, test_speakers=1,
                                                                 phrasings=2, max_classes=4))
    data = prepare_data(config)
    assert scored["split"] == "valid"
    assert scored["counts"] == [len(data.task_indices("valid", t)) for t in range(2)] == [4, 4]
    R = np.array(scored["matrix"], dtype=float)
    assert R.shape == (2, 2) and np.isnan(R[0, 1]) and ((R[np.tril_indices(2)] >= 0) & (R[np.tril_indices(2)] <= 1)).all()
    assert scored["avg_acc"] == pytest.approx(cl_metrics(R, scored["counts"])["avg_acc"])
    assert _metrics_json(runs, "validate")["matrix"] == scored["matrix"]


def _test_clips_as_wavs(runs, cache_dir):
    """The fitted run's test clips written as float WAVs (the very samples evaluate featurizes),
    with the corpus and their indices in it."""
    import soundfile as sf
    from slu.data.synthetic import SyntheticConfig, load_or_generate

    corpus, waves = load_or_generate(SyntheticConfig(train_speakers=3, valid_speakers=1, test_speakers=1,
                                                     phrasings=2, max_classes=4), cache_dir)
    test = corpus.indices("test")
    files = []
    for i in test:
        files.append(runs / "wavs" / f"clip{i}.wav")
        files[-1].parent.mkdir(exist_ok=True)
        sf.write(str(files[-1]), waves[i].numpy(), 16000, subtype="FLOAT")
    return corpus, test, files


def test_evaluate_and_predict_agree_with_fit(fitted, cache_dir):
    """evaluate (on the run's own data settings: no --data flag) agrees with fit's read-out; predict
    on the test clips as audio files, one file at a time, scores what evaluate scores in batches
    (same intents right, same WER), on the unseen-wording clips (those of the set's test-only
    families) and the seen ones alike, and writes them to predictions.csv."""
    import csv

    from slu.evaluate import word_error_rate

    runs, _, metrics, ckpt = fitted
    scored = main(["evaluate", "--ckpt_path", str(ckpt), "--runs_root", str(runs)])
    assert scored["accuracy"] == metrics["last_acc"]  # full greedy decoding agrees with the one-step read-out
    assert scored["accuracy_unseen"] == pytest.approx(metrics["last_acc_unseen"])
    assert scored["accuracy_seen"] == pytest.approx(metrics["last_acc_seen"])
    written = _metrics_json(runs, "evaluate")
    assert written["accuracy"] == scored["accuracy"] and written["accuracy_unseen"] == scored["accuracy_unseen"]
    corpus, test, files = _test_clips_as_wavs(runs, cache_dir)
    preds = main(["predict", "--ckpt_path", str(ckpt), "--audio", "[" + ", ".join(map(str, files)) + "]",
                  "--runs_root", str(runs)])
    right = [p["intent"] == corpus.utterances[i].intent for p, i in zip(preds, test)]
    assert sum(right) / len(test) == pytest.approx(scored["accuracy"], abs=1e-12)
    test_only = corpus.report["test_only_families"]
    unseen = [corpus.utterances[i].family in test_only[corpus.utterances[i].intent] for i in test]
    assert scored["n_unseen"] == sum(unseen) == 4 and scored["n_seen"] == 4
    assert sum(r for r, u in zip(right, unseen) if u) / 4 == pytest.approx(scored["accuracy_unseen"], abs=1e-12)
    assert sum(r for r, u in zip(right, unseen) if not u) / 4 == pytest.approx(scored["accuracy_seen"], abs=1e-12)
    assert word_error_rate([p["transcript"] for p in preds],
                           [corpus.utterances[i].transcript for i in test]) == pytest.approx(scored["wer"], abs=1e-6)
    with (runs / "slu" / "predict" / "version_0" / "predictions.csv").open() as f:
        written = list(csv.DictReader(f))
    assert [(r["file"], r["intent"], r["transcript"]) for r in written] == [
        (p["file"], p["intent"] or "", p["transcript"]) for p in preds]


def test_evaluate_starts_from_the_runs_data_settings_and_flags_change_them(fitted):
    """Without --data flags evaluate scores the run's own test set (its valid speaker included in
    the set's config); a --data flag changes that one setting and keeps the run's others."""
    runs, _, _, ckpt = fitted
    run_config = json.loads(json.dumps(__import__("yaml").safe_load((ckpt.parent.parent / "config.yaml").read_text())))
    main(["evaluate", "--ckpt_path", str(ckpt), "--runs_root", str(runs), "--name", "own"])
    used = json.loads(json.dumps(__import__("yaml").safe_load(
        (runs / "slu" / "own" / "version_0" / "config.yaml").read_text())))["data"]
    assert used["synthetic"] == run_config["data"]["synthetic"] and used["synthetic"]["valid_speakers"] == 1
    assert used["n_tasks"] == 2 and used["vocab_size"] == 40
    other = main(["evaluate", "--ckpt_path", str(ckpt), "--runs_root", str(runs), "--name", "other",
                  "--data.synthetic.seed", "7"])
    used = json.loads(json.dumps(__import__("yaml").safe_load(
        (runs / "slu" / "other" / "version_0" / "config.yaml").read_text())))["data"]
    assert used["synthetic"]["seed"] == 7 and used["synthetic"]["valid_speakers"] == 1 and used["n_tasks"] == 2
    assert other["n"] == 8


def test_evaluate_scores_a_test_only_fsc_folder_and_any_fsc_csv(fitted, cache_dir):
    """An FSC-layout folder with only data/test_data.csv (no train or valid list) is read, and
    evaluate scores it, or the CSV itself given as --fsc_csv, as it scores the same clips of the
    synthetic set: same accuracy on unseen and seen wording (seen = a sentence of the run's training)."""
    import csv

    from slu.data.fsc import read_fsc

    runs, _, _, ckpt = fitted
    own = _metrics_json(runs, "evaluate") if (runs / "slu" / "evaluate").is_dir() else main(
        ["evaluate", "--ckpt_path", str(ckpt), "--runs_root", str(runs)])
    corpus, test, files = _test_clips_as_wavs(runs, cache_dir)
    folder = runs / "fsc_test_only"
    (folder / "data").mkdir(parents=True)
    with (folder / "data" / "test_data.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["", "path", "speakerId", "transcription", "action", "object", "location"])
        for k, (i, wav) in enumerate(zip(test, files)):
            u = corpus.utterances[i]
            writer.writerow([k, str(wav), "spk1", u.transcript.capitalize() + ".", *u.intent.rsplit("_", 2)])
    read = read_fsc(folder)
    assert read.report["splits"] == ["test"] and len(read.indices("test")) == len(test) and not read.indices("train")
    by_folder = main(["evaluate", "--ckpt_path", str(ckpt), "--runs_root", str(runs), "--data.dataset", "fsc",
                      "--data.data_root", str(folder)])
    by_csv = main(["evaluate", "--ckpt_path", str(ckpt), "--runs_root", str(runs), "--fsc_csv",
                   str(folder / "data" / "test_data.csv")])
    for scored in (by_folder, by_csv):
        for key in ("accuracy", "accuracy_unseen", "accuracy_seen", "n_unseen", "n_seen"):
            assert scored[key] == pytest.approx(own[key], abs=1e-12), key


def test_embed_and_export_write_into_run_folders(fitted, tmp_path):
    import torch
    from contrastkit.train import read_embeddings
    from contrastkit.train.checkpoint import load_encoder
    from slu.data.audio import read_audio
    from slu.data.features import featurize
    from slu.models.encoder import ConvTransformerEncoder
    from slu.use import load_trained

    runs, _, _, ckpt = fitted
    wav = tmp_path / "clip.wav"
    sf_write(wav)
    npy = main(["embed", "--ckpt_path", str(ckpt), "--audio", f"[{wav}, {wav}]", "--runs_root", str(runs)])
    assert npy == runs / "slu" / "embed" / "version_0" / "embeddings.npy"
    emb, ids = read_embeddings(npy)
    model, _, meta = load_trained(ckpt)
    feats = featurize(read_audio(wav), meta["features"], meta["n_mels"])[None]
    with torch.no_grad():
        expected = model.audio_embedding(*model.encode(feats, torch.tensor([feats.shape[1]])))[0].numpy()
    assert emb.shape == (2, 16) and ids == [str(wav), str(wav)]
    np.testing.assert_allclose(emb[0], expected, rtol=1e-5, atol=1e-6)
    assert np.array_equal(emb[0], emb[1])

    path = main(["export", "--ckpt_path", str(ckpt), "--runs_root", str(runs)])
    assert path == runs / "slu" / "export" / "version_0" / "encoder.safetensors"
    state, class_name, config = load_encoder(path)
    assert class_name == "slu.models.encoder:ConvTransformerEncoder"
    encoder = ConvTransformerEncoder(**config)
    encoder.load_state_dict(state)
    encoder.eval()
    with torch.no_grad():
        got, _ = encoder(feats, torch.tensor([feats.shape[1]]))
        want, _ = model.encoder(feats, torch.tensor([feats.shape[1]]))
    assert torch.equal(got, want)


def test_old_flag_spellings_still_run_with_a_notice(fitted, capsys):
    runs, _, metrics, ckpt = fitted
    scored = main(["test", "--ckpt_path", str(ckpt), "--root", str(runs), "--name", "old_spelling"])
    assert "--root is now --runs_root" in capsys.readouterr().err
    assert scored["avg_acc"] == metrics["avg_acc"]
    assert (runs / "slu" / "old_spelling" / "version_0" / "metrics.json").is_file()


def test_the_cache_defaults_to_the_runs_folder(tmp_path):
    out = main(["prepare", *TINY, "--runs_root", str(tmp_path)])
    assert out["classes"] == 4
    assert list((tmp_path / "slu" / "cache" / "synthetic").glob("fsc-*/waves.safetensors"))


def sf_write(path):
    import soundfile as sf

    t = np.arange(16000) / 16000
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000)


def test_config_sections_are_the_owners_init_arguments(capsys):
    """One config route: the model, method and train settings are the typed, documented arguments of
    SLUModel, ContinualSLU and RehearsalMemory, with their defaults; a wrong type names the field."""
    import inspect
    from dataclasses import fields

    from slu.continual import ModelConfig, TrainConfig
    from slu.memory import RehearsalMemory
    from slu.method import ContinualSLU, MethodConfig
    from slu.models.seq2seq import SLUModel

    for section, owners in ((ModelConfig, [SLUModel]), (MethodConfig, [ContinualSLU]),
                            (TrainConfig, [ContinualSLU, RehearsalMemory])):
        derived = 0
        for f in fields(section):
            for owner in owners:
                p = inspect.signature(owner, eval_str=True).parameters.get(f.name)
                if p is not None:
                    assert f.default == p.default and f.type == p.annotation, (section.__name__, f.name)
                    assert f"{f.name}: " in section.__doc__ and f"[{owner.__qualname__}]" in section.__doc__
                    derived += 1
        assert derived >= 3, section.__name__
    with pytest.raises(SystemExit):
        main(["fit", "--train.lr", "fast"])
    assert "train.lr" in capsys.readouterr().err
