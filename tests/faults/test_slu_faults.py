"""slu: bad input (bad audio, malformed dataset files, crafted or damaged checkpoints) gets an
error naming the file and the problem: clear errors, never a silent wrong result."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from slu.data.audio import AudioError, read_audio


def _wav(path, wave, rate=16000):
    sf.write(str(path), wave, rate, subtype="FLOAT" if np.asarray(wave).dtype == np.float32 else "PCM_16")
    return path


def _tone(n=8000):
    return (0.3 * np.sin(np.arange(n) / 5)).astype(np.float32)


def test_unreadable_audio_names_the_file(tmp_path):
    """bad audio: unreadable file."""
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x00\x00not a wave file")
    with pytest.raises(AudioError, match=r"broken\.wav: unreadable audio"):
        read_audio(path)


def test_empty_audio_names_the_file(tmp_path):
    """bad audio: empty file."""
    path = _wav(tmp_path / "empty.wav", np.zeros(0, np.float32))
    with pytest.raises(AudioError, match=r"empty\.wav: empty audio"):
        read_audio(path)


def test_stereo_is_averaged_to_mono_with_a_notice_naming_the_file(tmp_path, caplog):
    """Stereo: the one policy of every audio app is to average the channels with a notice naming
    the file (slu used to refuse it and advise a ``mono=False`` flag no command has)."""
    left, right = _tone(), 0.5 * _tone()
    path = _wav(tmp_path / "stereo.wav", np.stack([left, right], 1))
    with caplog.at_level("WARNING"):
        wave = read_audio(path)
    assert np.allclose(wave.numpy(), (left + right) / 2, atol=1e-6)
    assert "stereo.wav: 2 channels, averaged to mono" in caplog.text
    assert "mono=False" not in caplog.text


def test_wrong_rate_without_resampling(tmp_path):
    """bad audio: wrong sampling rate when resampling is off."""
    path = _wav(tmp_path / "rate.wav", _tone(), rate=8000)
    with pytest.raises(AudioError, match=r"rate\.wav: sampled at 8000 Hz, expected 16000 Hz"):
        read_audio(path, resample=False)
    assert read_audio(path).shape == (16000,)  # resampled by default


def test_nan_samples(tmp_path):
    """bad audio: NaN samples."""
    wave = _tone()
    wave[100] = np.nan
    path = _wav(tmp_path / "nan.wav", wave)
    with pytest.raises(AudioError, match=r"nan\.wav: 1 NaN or infinite samples"):
        read_audio(path)


def test_clipped_audio(tmp_path):
    """bad audio: clipped (too many samples at full scale)."""
    path = _wav(tmp_path / "clipped.wav", np.clip(10 * _tone(), -1, 1).astype(np.float32))
    with pytest.raises(AudioError, match=r"clipped\.wav: clipped"):
        read_audio(path)


def test_bad_audio_inside_a_dataset_names_that_file(tmp_path):
    """bad audio: a bad clip in a dataset stops feature extraction with its path."""
    from slu.data.corpus import Corpus, Utterance
    from slu.data.features import corpus_features

    good = _wav(tmp_path / "good.wav", _tone())
    bad = _wav(tmp_path / "two.wav", np.zeros(100, np.float32))
    corpus = Corpus("x", [Utterance(str(good), "a", "a", "s", "train"), Utterance(str(bad), "b", "b", "s", "test")])
    with pytest.raises(AudioError, match=r"two\.wav"):
        corpus_features(corpus)


def test_fsc_csv_without_columns_names_file(tmp_path):
    """readers: an FSC list without its columns."""
    from slu.data.fsc import read_fsc

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train_data.csv").write_text(",path,speakerId,transcription,action\n0,a.wav,s,x,y\n")
    with pytest.raises(ValueError, match=r"train_data\.csv: missing column\(s\) \['object', 'location'\]"):
        read_fsc(tmp_path, splits=("train",))


def test_an_fsc_folder_without_any_list_names_the_three(tmp_path):
    """readers: a folder with none of FSC's lists (a test-only folder needs data/test_data.csv)."""
    from slu.data.fsc import read_fsc

    with pytest.raises(FileNotFoundError, match=r"none of the FSC lists .*train_data\.csv, .*valid_data\.csv, "
                                                 r".*test_data\.csv exists"):
        read_fsc(tmp_path)


def test_evaluate_on_a_class_the_run_never_trained_names_it(tmp_path, capsys):
    """evaluate --fsc_csv with an intent outside the run's classes: refused, naming the task state,
    the CSV and the class (it used to need the very same class list as the run's)."""
    from slu.cli import main

    ckpt, _ = _trained_run(tmp_path / "run")
    _wav(tmp_path / "x.wav", (0.3 * np.sin(np.arange(8000) / 5)).astype(np.float32))
    (tmp_path / "list.csv").write_text("path,speakerId,transcription,action,object,location\n"
                                       "x.wav,s,Turn on the lights,activate,lights,none\n")
    with pytest.raises(ValueError, match=r"task_0\.ckpt scored on .*list\.csv: 1 class\(es\) the model was not "
                                         r"trained on: \['activate_lights_none'\]"):
        main(["evaluate", "--ckpt_path", str(ckpt), "--fsc_csv", str(tmp_path / "list.csv"),
              "--runs_root", str(tmp_path / "runs")])
    assert "slu evaluate: the settings of the run that wrote" in capsys.readouterr().err  # no config.yaml beside it


def test_fsc_row_naming_missing_audio(tmp_path):
    """readers: an FSC row whose WAV is missing (file and line)."""
    from slu.data.fsc import read_fsc

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "test_data.csv").write_text(
        ",path,speakerId,transcription,action,object,location\n0,wavs/x.wav,s,turn on,activate,lights,none\n")
    with pytest.raises(FileNotFoundError, match=r"test_data\.csv, line 2: audio file .*x\.wav is missing"):
        read_fsc(tmp_path, splits=("test",))


def test_slurp_bad_json_line(tmp_path):
    """readers: a SLURP line that is not JSON (file and line)."""
    from slu.data.slurp import read_slurp_jsonl

    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps({"sentence": "a", "scenario": "b", "intent": "c"}) + "\n{oops\n")
    with pytest.raises(ValueError, match=r"train\.jsonl, line 2: not JSON"):
        read_slurp_jsonl(path)


def test_fsdd_bad_file_name(tmp_path):
    """readers: a file that is not named {digit}_{speaker}_{take}.wav."""
    from slu.data.fsdd import read_fsdd

    _wav(tmp_path / "0_bob_0.wav", _tone())
    _wav(tmp_path / "hello.wav", _tone())
    with pytest.raises(ValueError, match=r"hello\.wav: not an FSDD file name"):
        read_fsdd(tmp_path, test_speakers=("bob",))


def test_unknown_test_speaker(tmp_path):
    """readers: a held-out speaker that is not in the data."""
    from slu.data.fsdd import read_fsdd

    _wav(tmp_path / "0_bob_0.wav", _tone())
    with pytest.raises(ValueError, match="speaker 'alice' is not in the data"):
        read_fsdd(tmp_path, test_speakers=("alice",))


def test_picovoice_entry_without_slot(tmp_path):
    """readers: a Picovoice label entry without the class slot."""
    from slu.data.picovoice import read_picovoice

    (tmp_path / "label.json").write_text(json.dumps({"a.wav": {"intent": "orderDrink", "slots": {"size": "small"}}}))
    with pytest.raises(ValueError, match=r"label\.json: entry 'a\.wav' has no slot 'coffeeDrink'"):
        read_picovoice(tmp_path)


def test_unknown_method_is_refused():
    """methods: an unknown method name fails with the list of methods."""
    from slu.method import MethodConfig

    with pytest.raises(ValueError, match="unknown method 'icarl'"):
        MethodConfig(name="icarl")


def test_truncated_task_state_is_refused(tmp_path):
    """a truncated task state names the file instead of a bare EOFError."""
    from contrastkit.train import CheckpointError
    from slu.use import load_trained

    (tmp_path / "checkpoints").mkdir()
    path = tmp_path / "checkpoints" / "task_0.ckpt"
    path.write_bytes(b"PK\x03\x04truncated")
    with pytest.raises(CheckpointError, match=r"task_0\.ckpt"):
        load_trained(path)


class _Payload:
    """A pickle that creates a marker file when it is unpickled."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _plant(path, marker) -> None:
    """Overwrite ``path`` with a task-state-looking file whose unpickling would create ``marker``."""
    import torch

    path.unlink(missing_ok=True)
    torch.save({"model": {}, "memory": {}, "payload": _Payload(marker)}, path)


TINY = ["--data.dataset", "synthetic_fsc", "--data.n_tasks", "2", "--data.batch_size", "8", "--data.vocab_size", "40",
        "--data.synthetic.train_speakers", "3", "--data.synthetic.test_speakers", "1",
        "--data.synthetic.phrasings", "2", "--data.synthetic.max_classes", "4",
        "--model.d_model", "32", "--model.encoder_layers", "1", "--model.decoder_layers", "1", "--model.heads", "2",
        "--model.ff", "64", "--model.proj_dim", "16", "--train.max_epochs", "1", "--trainer.accelerator", "cpu",
        "--train.memory_per_class", "2", "--method.name", "er", "--threads", "1"]


def test_malicious_task_state_refused_by_evaluate_predict_embed(tmp_path):
    """a crafted pickle given to evaluate, predict or embed is refused naming the file; no code runs."""
    from slu.cli import main

    (tmp_path / "checkpoints").mkdir()
    path, marker = tmp_path / "checkpoints" / "evil.ckpt", tmp_path / "pwned"
    _plant(path, marker)
    wav = str(_wav(tmp_path / "a.wav", _tone()))
    for argv in (["evaluate", "--ckpt_path", str(path), "--data.cache_dir", str(tmp_path / "cache")],
                 ["predict", "--ckpt_path", str(path), "--audio", f"[{wav}]"],
                 ["embed", "--ckpt_path", str(path), "--audio", f"[{wav}]", "--runs_root", str(tmp_path / "runs")]):
        with pytest.raises(Exception, match=r"evil\.ckpt.*refused") as err:
            main(argv)
        assert not isinstance(err.value, SystemExit), argv[0]
        assert not marker.exists(), argv[0]
    import torch

    torch.load(path, weights_only=False)
    assert marker.exists()  # the probe is real: an unrestricted load runs its code


def test_malicious_checkpoints_refused_on_fit_and_study_resume(tmp_path):
    """--resume of fit and study refuses a crafted task state and a crafted epoch
    checkpoint of the interrupted task, naming the file; no code runs."""
    from slu.cli import main

    data = [*TINY, "--data.cache_dir", str(tmp_path / "cache"), "--runs_root", str(tmp_path)]
    marker = tmp_path / "pwned"
    for command in ("fit", "study"):
        extra = ["--methods", "[er]", "--seeds", "[0]"] if command == "study" else []
        main([command, *data, *extra])
        run = tmp_path / "slu" / command / "version_0"
        (run / "checkpoints" / "task_1.ckpt").unlink()  # as if killed during the second task:
        (run / "units.json").unlink()  # the row had not finished
        _plant(run / "checkpoints" / "task_0.ckpt", marker)
        with pytest.raises(Exception, match=r"task_0\.ckpt.*refused") as err:
            main([command, *data, *extra, "--resume"])
        assert not isinstance(err.value, SystemExit) and not marker.exists(), command
        main([command, *data, *extra])  # a fresh run (version_1) for the epoch-checkpoint probe
        run = tmp_path / "slu" / command / "version_1"
        (run / "checkpoints" / "task_1.ckpt").unlink()
        (run / "units.json").unlink()
        _plant(run / "tasks" / "task_1" / "checkpoints" / "last.ckpt", marker)
        with pytest.raises(Exception, match=r"last\.ckpt.*refused") as err:
            main([command, *data, *extra, "--resume"])
        assert not isinstance(err.value, SystemExit) and not marker.exists(), command


def _full_disk_after(nbytes: int):
    """A stand-in for ``torch.save`` / a writer that writes ``nbytes`` and then finds the disk full."""
    import errno

    def save(obj, f, *args, **kwargs):
        if hasattr(f, "write"):
            f.write(b"\0" * nbytes)
        else:
            with open(f, "wb") as out:
                out.write(b"\0" * nbytes)
        raise OSError(errno.ENOSPC, "No space left on device")

    return save


def test_a_task_state_write_that_fails_midway_keeps_the_previous_file(tmp_path, monkeypatch):
    """A full disk while a task state is written leaves the previous state loadable and no
    temporary file beside it (it used to leave a fixed-name ``.task_0.ckpt.tmp``)."""
    import torch
    from contrastkit.train import load_checkpoint
    from slu.continual import ModelConfig, build, save_task_state

    config = ModelConfig(d_model=8, encoder_layers=1, decoder_layers=1, heads=2, ff=16, proj_dim=4)
    model = build(10, config, 8)
    path = tmp_path / "checkpoints" / "task_0.ckpt"
    save_task_state(path, model, config, 8, {"row": [0.5]})
    monkeypatch.setattr(torch, "save", _full_disk_after(100))
    with pytest.raises(OSError, match="No space left"):
        save_task_state(path, model, config, 8, {"row": [0.9]})
    monkeypatch.undo()
    assert load_checkpoint(path)["row"] == [0.5]
    assert sorted(p.name for p in path.parent.iterdir()) == ["task_0.ckpt"]


def test_a_feature_cache_write_that_fails_midway_leaves_no_file(tmp_path, monkeypatch):
    """The feature cache is written beside its target and renamed: a full disk leaves the previous
    cache whole and no temporary file."""
    import os

    import torch
    from slu.data.features import load_features, save_features

    path = tmp_path / "features" / "x.safetensors"
    save_features(path, [torch.ones(2, 3), torch.ones(4, 3)])
    real_fsync = os.fsync

    def fsync(fd):  # the data went to the page cache; the disk refuses it at flush time
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError, match="No space left"):
        save_features(path, [torch.zeros(5, 3)])
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert [f.shape[0] for f in load_features(path, 2)] == [2, 4]
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.safetensors"]


def _trained_run(tmp_path, classes=("a", "b"), transcripts=("turn it on", "turn it off"), older=False):
    """A run folder as ``fit`` leaves it (``checkpoints/task_0.ckpt``) with a small untrained model:
    enough for embed, predict and evaluate to load it. ``older``: as runs made before task states
    held their data record left it (weights under ``model`` + the run's ``model.json``)."""
    import hashlib
    from dataclasses import asdict

    import torch
    from contrastkit.atomic import torch_save_atomic
    from slu.continual import ModelConfig, build, save_task_state
    from slu.data.tokenizer import SLUTokenizer
    from slu.use import data_record

    tok = SLUTokenizer.train(list(transcripts), list(classes), vocab_size=20)
    config = ModelConfig(d_model=16, encoder_layers=1, decoder_layers=1, heads=2, ff=32, proj_dim=8)
    torch.manual_seed(0)
    model = build(tok.vocab_size, config, 40)
    record = data_record(list(classes), tok, n_mels=40, features="logmel")
    path = tmp_path / "checkpoints" / "task_0.ckpt"
    if older:
        meta = {"model": asdict(config), **record}
        tmp_path.mkdir(parents=True, exist_ok=True)
        (tmp_path / "model.json").write_text(json.dumps(meta))
        fingerprint = hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:16]
        torch_save_atomic({"model": model.state_dict(), "model_json": fingerprint}, path)
    else:
        save_task_state(path, model, config, 40, {"data": record})
    return path, model


def _truncated_wav(path, declared_samples=7958, present_samples=3979):
    """A 16-bit WAV whose header declares ``declared_samples`` (15,916 data bytes) and whose file
    holds ``present_samples`` of them (an interrupted copy)."""
    _wav(path, (0.3 * np.sin(np.arange(declared_samples) / 5)).astype(np.float64))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 2 * (declared_samples - present_samples)])
    return path


def test_a_truncated_wav_is_an_error_naming_the_file_in_predict(tmp_path):
    """A WAV whose header declares 15,916 data bytes and holds 7,958 used to be read as half a
    clip and predicted on, exit 0."""
    from slu.cli import main

    ckpt, _ = _trained_run(tmp_path)
    wav = _truncated_wav(tmp_path / "cut.wav")
    with pytest.raises(AudioError, match=r"cut\.wav: truncated WAV: its header declares 15,916 data bytes, the file "
                                         r"holds 7,958"):
        main(["predict", "--ckpt_path", str(ckpt), "--audio", f"[{wav}]"])


@pytest.mark.parametrize("samples", [1, 160])
def test_a_clip_shorter_than_one_window_is_an_error_naming_the_file(tmp_path, samples):
    """A 1-sample or 10 ms clip used to fail deep inside torch's padding; now it names the file
    and the 25 ms a clip needs, in reading and in predict."""
    from slu.cli import main

    ckpt, _ = _trained_run(tmp_path)
    wav = _wav(tmp_path / "short.wav", (0.3 * np.ones(samples)).astype(np.float64))
    with pytest.raises(AudioError, match=rf"short\.wav: {samples} samples at 16000 Hz .*at least 25 ms"):
        read_audio(wav)
    with pytest.raises(AudioError, match=r"short\.wav: .*at least 25 ms"):
        main(["predict", "--ckpt_path", str(ckpt), "--audio", f"[{wav}]"])


def test_float_samples_far_outside_full_scale_are_an_error_naming_the_file(tmp_path):
    """A float WAV with a sample at 1e6 (raw counts or a broken export) among normal ones was
    accepted (under 1 % of the samples are 'clipped'); it is refused naming the file."""
    wave = _tone()
    wave[10], wave[20] = 1e6, -1e6
    path = _wav(tmp_path / "loud.wav", wave)
    with pytest.raises(AudioError, match=r"loud\.wav: samples reach 1e\+06, far outside \[-1, 1\]"):
        read_audio(path)


def test_nan_weights_in_a_task_state_are_refused_by_embed_and_predict(tmp_path):
    """A task state of the right shapes with NaN weights used to give an all-NaN ``emb.npy`` and
    predictions, exit 0; it is refused naming the file, and nothing is written."""
    import torch
    from contrastkit.atomic import torch_save_atomic
    from contrastkit.train import CheckpointError, load_checkpoint
    from slu.cli import main

    ckpt, _ = _trained_run(tmp_path)
    state = load_checkpoint(ckpt)
    state["state_dict"]["out.weight"] = torch.full_like(state["state_dict"]["out.weight"], float("nan"))
    torch_save_atomic(state, ckpt)
    wav, runs = _wav(tmp_path / "a.wav", _tone()), tmp_path / "out_runs"
    with pytest.raises(CheckpointError, match=r"task_0\.ckpt.*non-finite .*out\.weight"):
        main(["embed", "--ckpt_path", str(ckpt), "--audio", f"[{wav}]", "--runs_root", str(runs)])
    with pytest.raises(CheckpointError, match=r"task_0\.ckpt.*non-finite"):
        main(["predict", "--ckpt_path", str(ckpt), "--audio", f"[{wav}]", "--runs_root", str(runs)])
    assert not runs.exists()  # refused before a run folder was made


def test_a_non_finite_embedding_is_refused_naming_its_audio_file_before_writing(tmp_path, monkeypatch):
    """Whatever makes an output non-finite, ``embed`` never writes a NaN row: it names the input."""
    from slu.cli import main
    from slu.models.seq2seq import SLUModel

    ckpt, _ = _trained_run(tmp_path)
    good, bad = _wav(tmp_path / "good.wav", _tone()), _wav(tmp_path / "bad.wav", 0.5 * _tone())
    real, calls = SLUModel.audio_embedding, []

    def nan_on_the_second_file(self, memory, lengths):
        calls.append(1)
        return real(self, memory, lengths) * (float("nan") if len(calls) == 2 else 1.0)

    monkeypatch.setattr(SLUModel, "audio_embedding", nan_on_the_second_file)
    runs = tmp_path / "out_runs"
    with pytest.raises(ValueError, match=r"bad\.wav: its embedding is not finite"):
        main(["embed", "--ckpt_path", str(ckpt), "--audio", f"[{good}, {bad}]", "--runs_root", str(runs)])
    assert len(calls) == 2 and not list(runs.rglob("embeddings*"))


def test_a_task_state_carries_its_own_classes_and_older_runs_check_their_model_json(tmp_path):
    """A task state holds its classes and tokenizer: copied into another run's folder it still
    predicts its own classes. A task state of an older run beside another run's ``model.json``
    (same shapes, other classes) used to load and predict the other run's class names; it is
    refused naming both files."""
    import shutil

    from contrastkit.train import CheckpointError
    from slu.cli import main

    wav = _wav(tmp_path / "a.wav", _tone())
    ckpt_a, _ = _trained_run(tmp_path / "a", classes=("lights_on", "lights_off"))
    ckpt_b, _ = _trained_run(tmp_path / "b", classes=("music_up", "music_down"))
    shutil.copy(ckpt_a, ckpt_b)
    out = main(["predict", "--ckpt_path", str(ckpt_b), "--audio", f"[{wav}]", "--runs_root", str(tmp_path / "r")])
    assert out[0]["intent"] in (None, "lights_on", "lights_off")
    old_a, model_a = _trained_run(tmp_path / "old_a", classes=("lights_on", "lights_off"), older=True)
    old_b, model_b = _trained_run(tmp_path / "old_b", classes=("music_up", "music_down"), older=True)
    assert {k: v.shape for k, v in model_a.state_dict().items()} == {k: v.shape for k, v in model_b.state_dict().items()}
    shutil.copy(old_a, old_b)
    with pytest.raises(CheckpointError, match=r"old_b/checkpoints/task_0\.ckpt: trained with another model\.json "
                                              r"than .*old_b/model\.json"):
        main(["predict", "--ckpt_path", str(old_b), "--audio", f"[{wav}]"])
    old_c, _ = _trained_run(tmp_path / "old_c", classes=("x", "y", "z"), older=True)  # another vocabulary
    shutil.copy(old_a, old_c)
    with pytest.raises(CheckpointError, match=r"old_c/checkpoints/task_0\.ckpt"):
        main(["predict", "--ckpt_path", str(old_c), "--audio", f"[{wav}]"])


def test_a_checkpoint_without_the_data_record_is_refused_naming_it(tmp_path):
    """A checkpoint of the right model without the run's data record (a trainer's ``last.ckpt``,
    a hand-made file) is refused naming the file, not loaded with guessed classes."""
    from contrastkit.train import CheckpointError
    from slu.continual import ModelConfig, build, save_task_state
    from slu.use import load_trained

    config = ModelConfig(d_model=8, encoder_layers=1, decoder_layers=1, heads=2, ff=16, proj_dim=4)
    path = tmp_path / "checkpoints" / "last.ckpt"
    save_task_state(path, build(10, config, 8), config, 8, {"row": [0.5]})
    with pytest.raises(CheckpointError, match=r"last\.ckpt: not a task state of slu \(no data record"):
        load_trained(path)


def test_an_older_runs_task_state_predicts_as_before(tmp_path):
    """A task state written before task states held their data record (weights + the run's
    ``model.json``) loads into the same model: identical weights and logits."""
    import torch
    from slu.use import load_trained

    old, model = _trained_run(tmp_path / "old", older=True)
    new, _ = _trained_run(tmp_path / "new")
    loaded_old, tok_old, meta_old = load_trained(old)
    loaded_new, tok_new, meta_new = load_trained(new)
    feats, lengths = torch.randn(1, 50, 40), torch.tensor([50])
    inputs = torch.tensor([[tok_old.bos_id, 4, 5]])
    with torch.no_grad():
        expected = model.eval().logits(*model.encode(feats, lengths), inputs)
        for loaded in (loaded_old, loaded_new):
            assert torch.equal(loaded.logits(*loaded.encode(feats, lengths), inputs), expected)
    assert meta_old["model"] == meta_new["model"] and meta_old["classes"] == meta_new["classes"] == ["a", "b"]
    assert tok_old.to_json() == tok_new.to_json()


@pytest.mark.parametrize("beam", ["0", "-3"])
def test_a_beam_size_below_one_is_an_error_naming_the_field(tmp_path, beam):
    """``--beam_size 0`` or ``-3`` used to decode greedily without a word."""
    from slu.cli import main

    ckpt, _ = _trained_run(tmp_path)
    wav = _wav(tmp_path / "a.wav", _tone())
    with pytest.raises(ValueError, match=rf"--beam_size must be an integer >= 1 .*got {beam}"):
        main(["predict", "--ckpt_path", str(ckpt), "--audio", f"[{wav}]", "--beam_size", beam])
    with pytest.raises(ValueError, match=rf"--beam_size must be an integer >= 1 .*got {beam}"):
        main(["evaluate", "--ckpt_path", str(ckpt), "--beam_size", beam, "--data.dataset", "folders",
              "--data.data_root", str(tmp_path)])
    with pytest.raises(ValueError, match=rf"--train.beam_size must be an integer >= 1 .*got {beam}"):
        main(["fit", *TINY, "--data.cache_dir", str(tmp_path / "cache"), "--runs_root", str(tmp_path / "runs"),
              "--train.beam_size", beam])
    assert not (tmp_path / "runs").exists()  # refused before a run folder was made


def _folders(root, layout: dict[str, dict[str, int]]):
    """``root/<split>/<class>/<k>.wav`` with ``layout[split][class]`` distinct tones each."""
    n = 0
    for split, classes in layout.items():
        for name, count in classes.items():
            (root / split / name).mkdir(parents=True, exist_ok=True)
            for k in range(count):
                n += 1
                _wav(root / split / name / f"{k}.wav", (0.3 * np.sin(np.arange(8000) * n / 50)).astype(np.float32))
    return root


def test_evaluate_on_a_split_without_clips_is_an_error_naming_the_split_and_the_data(tmp_path):
    """``evaluate --split valid`` on data without valid clips printed accuracy 0.0000 and WER nan, exit 0."""
    from slu.cli import main

    ckpt, _ = _trained_run(tmp_path / "run")
    root = _folders(tmp_path / "data", {"train": {"a": 2, "b": 2}, "test": {"a": 1, "b": 1}})
    with pytest.raises(ValueError, match=r"--split valid: the data \(folders at .*data\) has no valid clips; the "
                                         r"splits with clips are train \(4 clips\), test \(2 clips\)"):
        main(["evaluate", "--ckpt_path", str(ckpt), "--split", "valid", "--data.dataset", "folders",
              "--data.data_root", str(root), "--data.n_tasks", "1", "--data.cache_dir", str(tmp_path / "cache")])
    out = main(["evaluate", "--ckpt_path", str(ckpt), "--data.dataset", "folders", "--data.data_root", str(root),
                "--data.n_tasks", "1", "--data.cache_dir", str(tmp_path / "cache"), "--runs_root", str(tmp_path / "runs")])
    assert 0.0 <= out["accuracy"] <= 1.0  # the test split still scores


def _prepare(root, tmp_path, *extra):
    from slu.cli import main

    return main(["prepare", "--data.dataset", "folders", "--data.data_root", str(root), "--data.n_tasks", "1",
                 "--data.cache_dir", str(tmp_path / "cache"), *extra])


def test_a_class_without_training_clips_is_an_error_naming_it(tmp_path):
    """A class present only in the test split was accepted silently: no method can ever predict
    it (its token is never a training target), so its clips could only count as errors."""
    root = _folders(tmp_path / "data", {"train": {"a": 2, "b": 2}, "test": {"a": 1, "b": 1, "c": 1}})
    with pytest.raises(ValueError, match=r"folders: 1 class\(es\) have clips but none in the train split.*'c' "
                                         r"\(test: .*test/c/0\.wav\)"):
        _prepare(root, tmp_path)


def test_identical_recordings_in_train_and_test_are_warned_about_naming_both_files(tmp_path):
    """The same recording in the train and test splits used to be scored silently as unseen."""
    import shutil

    root = _folders(tmp_path / "data", {"train": {"a": 2, "b": 2}, "test": {"a": 1, "b": 1}})
    shutil.copy(root / "train" / "a" / "1.wav", root / "test" / "b" / "9.wav")
    with pytest.warns(UserWarning, match=r"1 valid/test clip\(s\) have the same audio as a training clip .*"
                                         r"train/a/1\.wav = .*test/b/9\.wav"):
        _prepare(root, tmp_path)


def test_a_truncated_feature_cache_is_named_and_rebuilt(tmp_path):
    """A truncated feature cache used to stop every later run with a bare SafetensorError."""
    from slu.data.corpus import Corpus, Utterance
    from slu.data.features import corpus_features

    files = [_wav(tmp_path / f"{k}.wav", (0.3 * np.sin(np.arange(8000) * (k + 1) / 50)).astype(np.float32))
             for k in range(3)]
    corpus = Corpus("x", [Utterance(str(f), "a", "a", "s", "train") for f in files])
    first = corpus_features(corpus, cache_dir=tmp_path / "cache")
    (cache,) = (tmp_path / "cache" / "features").glob("*.safetensors")
    cache.write_bytes(cache.read_bytes()[:100])
    with pytest.warns(UserWarning, match=rf"{cache.name}: unreadable feature cache .*; rebuilding it"):
        again = corpus_features(corpus, cache_dir=tmp_path / "cache")
    assert all(a.equal(b) for a, b in zip(first, again)) and len(again) == 3
    assert [f.shape for f in corpus_features(corpus, cache_dir=tmp_path / "cache")] == [f.shape for f in first]


@pytest.mark.parametrize("damage", ["utterances.json", "waves.safetensors"])
def test_a_truncated_synthetic_cache_is_named_and_regenerated(tmp_path, damage):
    """A truncated synthetic-set cache used to stop with a bare JSONDecodeError / SafetensorError."""
    from slu.data.synthetic import SyntheticConfig, load_or_generate

    config = SyntheticConfig(train_speakers=1, test_speakers=1, phrasings=1, max_classes=2)
    corpus, waves = load_or_generate(config, tmp_path)
    (folder,) = (tmp_path / "synthetic").iterdir()
    (folder / damage).write_bytes((folder / damage).read_bytes()[:50])
    with pytest.warns(UserWarning, match=rf"{damage}: unreadable synthetic-set cache .*synthesizing the set again"):
        again, waves_again = load_or_generate(config, tmp_path)
    assert again.utterances == corpus.utterances and all(a.equal(b) for a, b in zip(waves, waves_again))
    assert sorted(p.name for p in (tmp_path / "synthetic").iterdir()) == [folder.name]  # no temporary folder left


@pytest.mark.parametrize(("line", "message"), [
    (b'{"sentence": "a", "scenario": "b", "intent": "c", "recordings": [{"name": "x.flac"}]}',
     r"line 2: recording 0 has no 'file' name"),
    (b'{"sentence": "a", "scenario": "b", "intent": "c", "recordings": "x.flac"}',
     r"line 2: 'recordings' must be a list .*got str 'x\.flac'"),
    (b"42", r"line 2: expected a JSON object per line, got int '42'"),
    (b'{"sentence": "caf\xe9", "scenario": "b", "intent": "c"}', r"line 2: not UTF-8 text"),
])
def test_slurp_lines_that_are_not_records_are_errors_naming_file_and_line(tmp_path, line, message):
    """A recording without ``file``, ``recordings`` as a string, a bare number line and invalid
    UTF-8 used to raise KeyError / TypeError / UnicodeDecodeError without the file or line."""
    from slu.data.slurp import read_slurp_jsonl

    path = tmp_path / "train.jsonl"
    path.write_bytes(json.dumps({"sentence": "a", "scenario": "b", "intent": "c", "recordings": []}).encode()
                     + b"\n" + line + b"\n")
    with pytest.raises(ValueError, match=rf"train\.jsonl, {message}"):
        read_slurp_jsonl(path)


def test_slurp_with_every_recording_missing_says_how_many(tmp_path):
    """No recording found on disk used to give 'slurp: no utterances were read'."""
    from slu.data.slurp import read_slurp

    (tmp_path / "slurp").mkdir()
    rec = {"sentence": "a", "scenario": "b", "intent": "c", "recordings": [{"file": "x.flac"}, {"file": "y.flac"}]}
    for split in ("train", "devel", "test"):
        (tmp_path / "slurp" / f"{split}.jsonl").write_text(json.dumps(rec) + "\n")
    with pytest.raises(FileNotFoundError, match=r"none of the 6 recordings listed in slurp/\{train,devel,test\}\.jsonl "
                                                r"is under .*slurp_real or .*slurp_synth"):
        read_slurp(tmp_path)


def _fsc_csv(root, split, rows):
    (root / "data").mkdir(exist_ok=True)
    lines = [",path,speakerId,transcription,action,object,location"]
    lines += [f"{k},{p},s1,{t},{a},{o},none" for k, (p, t, a, o) in enumerate(rows)]
    (root / "data" / f"{split}_data.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for p, *_ in rows:
        (root / p).parent.mkdir(parents=True, exist_ok=True)
        _wav(root / p, _tone())


def test_fsc_repeated_row_is_counted_once_with_a_warning_naming_the_lines(tmp_path):
    """A repeated FSC row used to be counted twice without a word; the same path with other labels is an error."""
    from slu.data.fsc import read_fsc

    row = ("wavs/a.wav", "Turn on the lights", "activate", "lights")
    _fsc_csv(tmp_path, "train", [row, ("wavs/b.wav", "Louder", "increase", "volume"), row])
    with pytest.warns(UserWarning, match=r"train_data\.csv, line 4: repeats line 2 \(wavs/a\.wav\); counted once"):
        corpus = read_fsc(tmp_path, splits=("train",))
    assert len(corpus.utterances) == 2
    _fsc_csv(tmp_path, "train", [row, ("wavs/a.wav", "Lights off", "deactivate", "lights")])
    with pytest.raises(ValueError, match=r"train_data\.csv, line 3: wavs/a\.wav is already on line 2 with other labels"):
        read_fsc(tmp_path, splits=("train",))


def test_fsc_csv_with_a_byte_order_mark_is_read(tmp_path):
    """A CSV saved with a UTF-8 byte-order mark on its first header used to be refused for a
    'missing column' it has (here the first column is ``path`` itself)."""
    from slu.data.fsc import read_fsc

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "test_data.csv").write_bytes(
        "\ufeffpath,speakerId,transcription,action,object,location\nwavs/a.wav,s1,Turn on,activate,lights,none\n"
        .encode("utf-8"))
    (tmp_path / "wavs").mkdir()
    _wav(tmp_path / "wavs" / "a.wav", _tone())
    assert [u.intent for u in read_fsc(tmp_path, splits=("test",)).utterances] == ["activate_lights_none"]


def test_a_pretrained_folder_that_is_not_one_is_named(tmp_path):
    """``--model.pretrained_path`` / ``--model.text_model_path`` go through contrastkit.pretrained.from_local."""
    from contrastkit.pretrained import PretrainedError
    from slu.models.seq2seq import SLUModel

    (tmp_path / "empty").mkdir()
    with pytest.raises(PretrainedError, match=r"empty: not a Wav2Vec2/HuBERT model folder \(no config\.json\)"):
        SLUModel(20, encoder="hf", pretrained_path=str(tmp_path / "empty"))
    with pytest.raises(PretrainedError, match=r"nowhere: no such folder"):
        SLUModel(20, text_model_path=str(tmp_path / "nowhere"))


class _CtrlCInTask:
    """A callback pressing Ctrl-C at the start of epoch ``epoch`` (0-based) of task ``task``."""

    def __init__(self, task: int, epoch: int) -> None:
        from lightning.pytorch.callbacks import Callback

        outer = self

        class Press(Callback):
            def on_train_epoch_start(self, trainer, pl_module):
                if trainer.default_root_dir.endswith(f"task_{outer.task}") and trainer.current_epoch == outer.epoch:
                    raise KeyboardInterrupt

        self.task, self.epoch, self.callback = task, epoch, Press()


def test_ctrl_c_in_the_continual_loop_keeps_finished_tasks_and_the_resume_says_where_it_continues(tmp_path, capsys):
    """Ctrl-C during task 1 keeps task 0's state and task 1's last epoch; ``--resume`` says which
    task and epoch it continues from (it used to name only the newest checkpoint file)."""
    import signal

    from contrastkit.train import load_checkpoint
    from contrastkit.train.trainer import TrainerOptions
    from slu.continual import ModelConfig, TrainConfig
    from slu.data.datamodule import DataConfig
    from slu.data.synthetic import SyntheticConfig
    from slu.method import MethodConfig
    from slu.study import run_rows

    data = DataConfig(n_tasks=2, batch_size=8, vocab_size=40, cache_dir=str(tmp_path / "cache"),
                      synthetic=SyntheticConfig(train_speakers=3, test_speakers=1, phrasings=2, max_classes=4))
    model = ModelConfig(d_model=32, encoder_layers=1, decoder_layers=1, heads=2, ff=64, proj_dim=16)
    train = TrainConfig(max_epochs=2, memory_per_class=2, wer="never")
    args = (data, model, MethodConfig(name="er"), train, ["er"], [0], "fit", str(tmp_path))
    cpu = TrainerOptions(accelerator="cpu")
    handler = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises((KeyboardInterrupt, SystemExit)):
            run_rows(*args, False, callbacks=(_CtrlCInTask(1, 1).callback,), trainer=cpu)
    finally:
        signal.signal(signal.SIGINT, handler)  # Lightning ignores further Ctrl-C while it shuts down
    run = tmp_path / "slu" / "fit" / "version_0"
    kept = load_checkpoint(run / "checkpoints" / "task_0.ckpt")
    assert len(kept["row"]) == 1 and not (run / "checkpoints" / "task_1.ckpt").exists()
    assert load_checkpoint(run / "tasks" / "task_1" / "checkpoints" / "last.ckpt")["epoch"] == 0
    capsys.readouterr()
    _, rows = run_rows(*args, True, trainer=cpu)
    out = capsys.readouterr().out
    assert "resume: task 0 done (task_*.ckpt); task 1 of 2 continues from tasks/task_1/checkpoints/last.ckpt " \
           "(saved in epoch 1 of 2, step " in out, out
    assert len(rows["er"][0]["seen_acc"]) == 2
