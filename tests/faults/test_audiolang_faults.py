"""audiolang bad input: every probe names the file and the problem (audio, manifests, benchmark CSVs, checkpoints, captions)."""

import numpy as np
import pytest
import soundfile as sf
from audiolang.data.audio import AudioError, load_audio
from audiolang.data.benchmark_csv import read_benchmark_csv
from audiolang.data.manifest import read_manifest


def test_unreadable_audio_names_the_file(tmp_path):
    """Unreadable audio."""
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    with pytest.raises(AudioError, match=r"bad\.wav: unreadable"):
        load_audio(bad, 16000)


def test_empty_audio_names_the_file(tmp_path):
    """Empty audio."""
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match=r"empty\.wav: empty"):
        load_audio(empty, 16000)


def test_nan_audio_names_the_file(tmp_path):
    """NaN samples."""
    path = tmp_path / "nan.wav"
    x = np.zeros(100, dtype=np.float32)
    x[10] = np.nan
    sf.write(path, x, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"nan\.wav: 1 NaN or infinite samples"):
        load_audio(path, 16000)


def test_wrong_rate_names_the_file(tmp_path):
    """Wrong sampling rate when one is required."""
    path = tmp_path / "r8k.wav"
    sf.write(path, np.zeros(800, dtype=np.float32), 8000)
    with pytest.raises(AudioError, match=r"r8k\.wav: sampling rate 8000 Hz, expected 16000"):
        load_audio(path, 16000, expected_rate=16000)
    assert load_audio(path, 16000).shape == (1600,)  # resampled when no rate is required


def test_benchmark_csv_missing_column_and_empty_cell(tmp_path):
    """The official CSV with a missing column or an empty cell."""
    path = tmp_path / "bench.csv"
    path.write_text("pair_caption,reversed_pair_caption,pair_file\na,b,x.wav\n")
    with pytest.raises(ValueError, match=r"bench\.csv: missing column\(s\) \['reversed_pair_file'\]"):
        read_benchmark_csv(path)
    path.write_text("pair_caption,reversed_pair_caption,pair_file,reversed_pair_file\na,,x.wav,y.wav\n")
    with pytest.raises(ValueError, match=r"bench\.csv, line 2: empty reversed_pair_caption"):
        read_benchmark_csv(path)


def test_attribute_csv_duplicated_columns_are_read(tmp_path):
    """CompA-attribute's duplicated pair_file columns (as written or as pandas names them)."""
    for header in ("pair_caption,reversed_pair_caption,pair_file,reversed_pair_file,pair_file,reversed_pair_file",
                   "pair_caption,reversed_pair_caption,pair_file,reversed_pair_file,pair_file.1,reversed_pair_file.1"):
        path = tmp_path / "attr.csv"
        path.write_text(header + "\nloud a,quiet a,a.wav,b.wav,a.wav,b.wav\n")
        (row,) = read_benchmark_csv(path, audio_dir="/data/")
        assert (row.caption, str(row.file), str(row.reversed_file)) == ("loud a", "/data/a.wav", "/data/b.wav")


def test_manifest_bad_rows_name_file_and_line(tmp_path):
    """Caption manifests."""
    path = tmp_path / "m.jsonl"
    path.write_text('{"audio": "a.wav", "caption": "x"}\n{"audio": "b.wav"}\n')
    with pytest.raises(ValueError, match=r"m\.jsonl, line 2: no 'caption'"):
        read_manifest(path)
    path.write_text('{"audio": "a.wav", "caption": "x"}\nnot json\n')
    with pytest.raises(ValueError, match=r"m\.jsonl, line 2: not JSON"):
        read_manifest(path)
    csv_path = tmp_path / "m.csv"
    csv_path.write_text("audio,caption,negatives,split\na.wav,x,y|z,train\nb.wav,w,,train\nc.wav,v,y|z,test\n")
    items, report = read_manifest(csv_path, split="train", min_negatives=2)
    assert [i.negatives for i in items] == [("y", "z")]
    assert report.dropped == {"fewer than 2 negatives": 1, "not split 'train'": 1}


class _Payload:
    """Unpickling this object creates ``marker`` (what an attacker's code would do)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, "w")


TINY_FIT = ["--model.dim", "8", "--model.width", "8", "--model.layers", "1", "--model.segments", "2",
            "--model.stage", "1", "--data.build_size", "8", "--data.batch_size", "8", "--data.val_fraction", "0",
            "--data.clips.sources", "[synthetic]", "--trainer.enable_progress_bar", "false"]

COMMANDS_TAKING_A_CHECKPOINT = ["evaluate", "score", "embed", "export", "fit --ckpt_path", "fit --model.init_from"]


def command_with_checkpoint(command: str, path, tmp_path) -> list[str]:
    """The argv of one of ``COMMANDS_TAKING_A_CHECKPOINT`` given the checkpoint ``path`` (a tiny fit
    for the fits; an audio file and a caption for the use commands), everything under ``tmp_path``."""
    wav = tone(tmp_path / "a.wav")
    runs = ["--runs_root", str(tmp_path / "runs")]
    fit = [*TINY_FIT, *runs, "--data.cache_dir", str(tmp_path / "cache"), "--trainer.max_epochs", "1"]
    return {
        "evaluate": ["evaluate", "--ckpt_path", str(path), "--benchmark", str(tmp_path / "bench.csv"), *runs],
        "score": ["score", "--ckpt_path", str(path), "--audio", f"[{wav}]", "--caption", "a dog barks", *runs],
        "embed": ["embed", "--ckpt_path", str(path), "--audio", f"[{wav}]", *runs],
        "export": ["export", "--ckpt_path", str(path), *runs],
        "fit --ckpt_path": ["fit", "--ckpt_path", str(path), *fit],
        "fit --model.init_from": ["fit", "--model.init_from", str(path), *fit],
    }[command]


@pytest.mark.parametrize("command", COMMANDS_TAKING_A_CHECKPOINT)
def test_checkpoint_that_runs_code_is_refused_by_every_command(tmp_path, command):
    """Every audiolang command taking a checkpoint loads it with
    weights_only=True (contrastkit.train.load_checkpoint): refused, the file named, no code run."""
    import re

    import torch
    from audiolang.cli import main

    marker, path = tmp_path / "pwned", tmp_path / "evil.ckpt"
    torch.save({"hyper_parameters": {"stage": 1}, "state_dict": {}, "payload": _Payload(str(marker))}, path)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": refused: .* would run code"):
        main(command_with_checkpoint(command, path, tmp_path))
    assert not marker.exists()
    assert not list((tmp_path / "runs").rglob("*.ckpt")) and not list((tmp_path / "runs").rglob("config.yaml"))
    assert not list(tmp_path.rglob("embeddings.npy"))


# --- the trained model in use: score / embed on bad audio and bad captions --------------------------

RATE = 16000


def tiny_checkpoint(path, **weights):
    """A checkpoint of tiny stage-1 towers in the layout ``audiolang fit`` writes (hyper-parameters and
    state dict), for the commands that use a trained model; ``weights`` replace tensors of the state."""
    import torch
    from audiolang.method import CompaClap

    torch.manual_seed(0)
    module = CompaClap(stage=1, dim=8, width=8, layers=1, segments=2)
    state = {**module.state_dict(), **weights}
    torch.save({"hyper_parameters": dict(module.hparams), "state_dict": state}, path)
    return path


def tone(path, seconds=0.5, rate=RATE, channels=1, subtype="PCM_16", scale=0.3):
    """A sine tone file: ``(T,)`` or ``(T, channels)`` with channel c at ``scale / (c + 1)``."""
    t = np.arange(int(seconds * rate)) / rate
    wave = scale * np.sin(2 * np.pi * 440 * t)
    data = wave if channels == 1 else np.stack([wave / (c + 1) for c in range(channels)], 1)
    sf.write(path, data.astype(np.float32), rate, subtype=subtype)
    return path


def truncated_wav(path):
    """A 16-bit WAV whose header declares 15,916 data bytes of which 7,958 are in the file (a copy cut
    in half): libsndfile reads the half that is there without a word."""
    sf.write(path, np.full(7958, 0.1, dtype=np.float32), RATE, subtype="PCM_16")
    data = path.read_bytes()
    start = data.index(b"data") + 8
    path.write_bytes(data[:start + 7958])
    return path


def test_a_truncated_wav_is_an_error_naming_the_file_not_half_a_clip(tmp_path):
    from audiolang.cli import main

    wav = truncated_wav(tmp_path / "half.wav")
    with pytest.raises(AudioError, match=r"half\.wav: truncated WAV: its header declares 15,916 data bytes, "
                                         r"the file holds 7,958"):
        load_audio(wav, RATE)
    ckpt = tiny_checkpoint(tmp_path / "m.ckpt")
    with pytest.raises(AudioError, match=r"half\.wav: truncated WAV"):
        main(["score", "--ckpt_path", str(ckpt), "--audio", f"[{wav}]", "--caption", "a dog barks",
              "--runs_root", str(tmp_path / "runs")])


@pytest.mark.parametrize("samples", [1, 160])
def test_a_clip_too_short_for_the_audio_tower_names_the_file(tmp_path, samples):
    """1 sample and 10 ms (160 samples at 16 kHz): the tower's padding failed deep inside torch."""
    from audiolang.cli import main

    path = tmp_path / "short.wav"
    sf.write(path, np.full(samples, 0.1, dtype=np.float32), RATE)
    with pytest.raises(AudioError, match=r"short\.wav: .*at least"):
        load_audio(path, RATE)
    ckpt = tiny_checkpoint(tmp_path / "m.ckpt")
    with pytest.raises(AudioError, match=r"short\.wav: "):
        main(["embed", "--ckpt_path", str(ckpt), "--audio", f"[{path}]", "--runs_root", str(tmp_path / "runs")])
    assert not list(tmp_path.rglob("embeddings.npy"))


def test_float_samples_far_outside_full_scale_are_refused(tmp_path):
    path = tmp_path / "counts.wav"
    tone(path, subtype="FLOAT", scale=1e6)
    with pytest.raises(AudioError, match=r"counts\.wav: samples reach 1e\+06, far outside \[-1, 1\]"):
        load_audio(path, RATE)


def test_stereo_is_averaged_to_mono_with_a_notice_naming_the_file(tmp_path, caplog):
    """The one channel policy of both audio apps (contrastkit.audio): mix down, and say so."""
    import logging

    path = tone(tmp_path / "stereo.wav", channels=2, subtype="FLOAT")
    both, _ = sf.read(path, dtype="float32")
    with caplog.at_level(logging.WARNING):
        wave = load_audio(path, RATE)
    np.testing.assert_allclose(wave, both.mean(1), rtol=0, atol=1e-7)
    assert any("stereo.wav: 2 channels, averaged to mono" in r.getMessage() for r in caplog.records)


def test_an_empty_caption_is_an_error_naming_it_and_nothing_is_written(tmp_path):
    """An empty caption has no tokens: the text tower embedded it as NaN (a NaN row in embeddings.npy, NaN
    scores, exit 0). The caption is named by where it was given: the flag, or the file and line."""
    from audiolang.cli import main

    ckpt, wav = tiny_checkpoint(tmp_path / "m.ckpt"), tone(tmp_path / "a.wav")
    out = tmp_path / "runs"
    with pytest.raises(ValueError, match=r"--caption: the caption '' has no tokens"):
        main(["embed", "--ckpt_path", str(ckpt), "--audio", f"[{wav}]", "--caption", "", "--runs_root", str(out)])
    assert not list(tmp_path.rglob("embeddings*"))
    listed = tmp_path / "captions.txt"
    listed.write_text("a dog barks, then a clock ticks\n   \na bell rings\n")
    with pytest.raises(ValueError, match=r"captions\.txt, line 2: the caption '   ' has no tokens"):
        main(["score", "--ckpt_path", str(ckpt), "--audio", f"[{wav}]", "--captions_file", str(listed),
              "--runs_root", str(out)])
    assert not list(tmp_path.rglob("scores.csv"))


def test_non_finite_weights_or_embeddings_stop_before_any_file_is_written(tmp_path, monkeypatch):
    import torch
    from audiolang.cli import main
    from audiolang.models.dual import DualEncoder

    wav = tone(tmp_path / "a.wav")
    damaged = tiny_checkpoint(tmp_path / "damaged.ckpt", **{"encoder.text_proj.bias": torch.full((8,), float("nan"))})
    with pytest.raises(ValueError, match=r"damaged\.ckpt: non-finite .* encoder\.text_proj\.bias"):
        main(["embed", "--ckpt_path", str(damaged), "--audio", f"[{wav}]", "--runs_root", str(tmp_path / "runs")])
    # finite weights, a non-finite output all the same (an overflow): the rows are named, nothing written
    ckpt = tiny_checkpoint(tmp_path / "m.ckpt")
    monkeypatch.setattr(DualEncoder, "embed_texts", lambda self, texts: torch.full((len(texts), 8), float("nan")))
    with pytest.raises(ValueError, match=r"non-finite .*--caption 'a bell rings'"):
        main(["embed", "--ckpt_path", str(ckpt), "--audio", f"[{wav}]", "--caption", "a bell rings",
              "--runs_root", str(tmp_path / "runs")])
    assert not list(tmp_path.rglob("embeddings*"))


def test_captions_of_unknown_words_and_captions_past_the_token_limit_are_warned_about(tmp_path, caplog):
    """Words outside the tokenizer's vocabulary are read as [UNK]: captions made only of them embed
    alike. Past 32 tokens a caption is cut: two captions differing only after that score the same."""
    import logging

    from audiolang.cli import main

    ckpt, wav = tiny_checkpoint(tmp_path / "m.ckpt"), tone(tmp_path / "a.wav")
    long = ", then ".join(["a dog barks"] * 8) + ", then a bell rings"
    listed = tmp_path / "captions.txt"
    listed.write_text(f"狗叫 吠\n{long}\na bell rings\n")
    with caplog.at_level(logging.WARNING):
        rows = main(["score", "--ckpt_path", str(ckpt), "--audio", f"[{wav}]", "--captions_file", str(listed),
                     "--runs_root", str(tmp_path / "runs")])
    assert len(rows) == 3
    messages = [r.getMessage() for r in caplog.records]
    assert any("captions.txt, line 1: every word of the caption '狗叫 吠' is unknown" in m for m in messages)
    assert any(f"captions.txt, line 2: the caption {long!r} has 43 tokens; only the first 32 are read" in m
               for m in messages)
    assert not any("line 3" in m for m in messages)


def test_the_documented_caption_is_scored_whole_not_split_at_its_comma(tmp_path, capsys):
    """The README's example: a composed caption "A, then B" is one caption; --captions '[A, then B]'
    (a list the parser split at the comma, scoring "A" and "then B") is no longer accepted."""
    from audiolang.cli import main

    ckpt = tiny_checkpoint(tmp_path / "m.ckpt")
    a, b = tone(tmp_path / "a.wav"), tone(tmp_path / "b.wav", seconds=0.3)
    caption = "a dog barks, then a clock ticks"
    rows = main(["score", "--ckpt_path", str(ckpt), "--audio", f"[{a}, {b}]", "--caption", caption,
                 "--runs_root", str(tmp_path / "runs")])
    assert np.asarray(rows).shape == (1, 2)
    assert [line for line in capsys.readouterr().out.splitlines() if " | " in line] == [
        " ".join(f"{v:+.3f}" for v in rows[0]) + f" | {caption}"]
    with pytest.raises(SystemExit):  # the old flag is unknown (never an abbreviation of --captions_file)
        main(["score", "--ckpt_path", str(ckpt), "--audio", f"[{a}]", "--captions", f"[{caption}]",
              "--runs_root", str(tmp_path / "runs")])
    assert "unrecognized arguments: --captions" in capsys.readouterr().err


# --- built caches ---------------------------------------------------------------------------------------


def fsdd_tree(root, digits, speakers=("theo", "jackson"), takes=2):
    """A small FSDD layout under ``root/fsdd`` (8 kHz tones, one pitch per digit)."""
    folder = root / "fsdd" / "recordings"
    folder.mkdir(parents=True)
    for d in digits:
        for s in speakers:
            for t in range(takes):
                tone(folder / f"{d}_{s}_{t}.wav", seconds=0.2 + 0.01 * t, rate=8000, scale=0.1 + 0.05 * d)
    return root


@pytest.mark.parametrize("kind", ["order", "train"])
def test_a_build_from_other_data_is_not_the_cached_one(tmp_path, monkeypatch, kind):
    """The caches were keyed by the settings only: a benchmark (or training set) built from the data
    root A was returned again when the same settings were asked for with the data root B."""
    from audiolang.data.build import ClipConfig, build_benchmark, build_training_set

    clips = ClipConfig(sources=("fsdd",), test_groups=("theo",), sample_rate=8000)
    build = ((lambda: build_benchmark(tmp_path / "cache", "order", 4, 0, clips)) if kind == "order"
             else (lambda: build_training_set(tmp_path / "cache", 6, 0, clips)))
    roots = {name: fsdd_tree(tmp_path / name, digits) for name, digits in (("a", (1, 2)), ("b", (3, 4, 5)))}
    built = {}
    for name, root in roots.items():
        monkeypatch.setenv("CONTRASTKIT_DATA", str(root))
        built[name] = build()
        assert build() == built[name]  # the same data: the cached build is reused
    assert built["a"] != built["b"]
    if kind == "order":  # the benchmark's clips are B's files
        metadata = built["b"].with_name("metadata.jsonl").read_text()
        assert str(roots["b"]) in metadata and str(roots["a"]) not in metadata
    else:  # the training set's captions say B's digits
        manifest = built["b"].read_text()
        assert "says three" in manifest and "says one" not in manifest and "says two" not in manifest


def test_a_damaged_file_of_a_cached_build_is_named_and_the_build_redone(tmp_path, caplog):
    """A cached build is reused when complete; one of its files cut short (a full disk, a copy
    interrupted) is named in a warning and the build is made again, not read as it is."""
    import logging

    from audiolang.data.build import ClipConfig, build_benchmark

    clips = ClipConfig(sources=("synthetic",))
    path = build_benchmark(tmp_path, "order", 4, 0, clips)
    whole = {p: p.read_bytes() for p in (path, path.parent / "audio" / "order_00001_b.wav")}
    for p, data in whole.items():
        p.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING):
        assert build_benchmark(tmp_path, "order", 4, 0, clips) == path
    (warning,) = [r.getMessage() for r in caplog.records if "rebuilt" in r.getMessage()]
    assert "2 file(s) of a cached build damaged" in warning
    assert all(f"{p}: {len(d) // 2:,} bytes where the build wrote {len(d):,}" in warning for p, d in whole.items())
    assert {p: p.read_bytes() for p in whole} == whole


# --- training input -------------------------------------------------------------------------------------


def _manifest(tmp_path, rows):
    import json

    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_missing_manifest_audio_is_found_before_training_not_when_a_batch_draws_it(tmp_path):
    from audiolang.data.datamodule import AudioTextDataModule

    tone(tmp_path / "here.wav")
    rows = [{"audio": name, "caption": "a dog barks"} for name in ("here.wav", "gone1.wav", "here.wav", "gone2.wav")]
    data = AudioTextDataModule(manifest=str(_manifest(tmp_path, rows)), num_negatives=0, num_positives=0)
    with pytest.raises(FileNotFoundError, match=r"m\.jsonl: 2 of 3 audio files are missing: .*gone1\.wav, .*gone2\.wav"):
        data.setup("fit")


def test_negative_audio_given_as_a_list_names_the_line_and_field(tmp_path):
    path = _manifest(tmp_path, [{"audio": "a.wav", "caption": "x"},
                                {"audio": "b.wav", "caption": "y", "negative_audio": ["n1.wav", "n2.wav"]}])
    with pytest.raises(ValueError, match=r"m\.jsonl, line 2: 'negative_audio' must be one path"):
        read_manifest(path)
    path = _manifest(tmp_path, [{"audio": ["a.wav"], "caption": "x"}])
    with pytest.raises(ValueError, match=r"m\.jsonl, line 1: 'audio' must be one path"):
        read_manifest(path)


@pytest.mark.parametrize("n", [0, -3])
def test_a_benchmark_of_no_pairs_is_refused_and_nothing_cached(tmp_path, n):
    from audiolang.cli import main

    with pytest.raises(ValueError, match=rf"--n \(pairs\) must be at least 1; got {n}"):
        main(["build-benchmark", "--n", str(n), "--runs_root", str(tmp_path / "runs")])
    cache = tmp_path / "runs" / "audiolang" / "cache"
    assert not cache.exists() or not any(cache.iterdir())


# --- checkpoints from elsewhere, and a finished one -------------------------------------------------------

def other_apps_checkpoint(path):
    """A Lightning checkpoint of another app's model (its own hyper-parameters and tensors)."""
    import torch

    torch.save({"epoch": 0, "global_step": 4, "pytorch-lightning_version": "2.6.6",
                "hyper_parameters": {"num_classes": 4, "in_channels": 2, "lr": 1e-3},
                "state_dict": {"encoder.conv.weight": torch.zeros(8, 2, 3), "head.weight": torch.zeros(4, 8)}}, path)
    return path


@pytest.mark.parametrize("command", COMMANDS_TAKING_A_CHECKPOINT)
def test_another_apps_checkpoint_is_one_clear_error_naming_the_file(tmp_path, command):
    import re

    from audiolang.cli import main

    path = other_apps_checkpoint(tmp_path / "medts.ckpt")
    with pytest.raises(ValueError, match=re.escape(str(path)) + r": .*(takes no argument|do not fit CompaClap)"):
        main(command_with_checkpoint(command, path, tmp_path))
    assert not list((tmp_path / "runs").rglob("*.ckpt")) and not list(tmp_path.rglob("embeddings.npy"))


def test_fit_from_a_checkpoint_that_already_finished_max_epochs_is_refused(tmp_path):
    """It trained nothing, exited 0 and wrote metrics saying an epoch ran."""
    from audiolang.cli import main

    common = [*TINY_FIT, "--runs_root", str(tmp_path / "runs"), "--data.cache_dir", str(tmp_path / "cache")]
    main(["fit", *common, "--trainer.max_epochs", "1"])
    ckpt = tmp_path / "runs/audiolang/fit/version_0/checkpoints/last.ckpt"
    with pytest.raises(ValueError, match=r"last\.ckpt: .*already trained 1 epoch.* --trainer\.max_epochs 1 would "
                                         r"train none; give --trainer\.max_epochs greater than 1"):
        main(["fit", *common, "--trainer.max_epochs", "1", "--ckpt_path", str(ckpt), "--name", "again"])
    assert not list((tmp_path / "runs/audiolang/again").rglob("metrics.json"))
    main(["fit", *common, "--trainer.max_epochs", "2", "--ckpt_path", str(ckpt), "--name", "more"])  # trains on
    import json

    assert json.loads((tmp_path / "runs/audiolang/more/version_0/metrics.json").read_text())["epochs_run"] == 2


def test_a_study_stage_whose_fit_finished_before_its_metrics_were_written_is_kept(tmp_path):
    """A study killed between a stage's last epoch and its metrics.json: on --resume the stage's
    last.ckpt has trained all its epochs; it is kept as it is (a fit from it would be refused), and
    a stage whose checkpoint trained fewer epochs than asked for is not taken as finished."""
    import json

    from audiolang.data.build import ClipConfig, build_training_set
    from audiolang.study import stage_finished, train_stage
    from contrastkit.train import load_checkpoint

    manifest = build_training_set(tmp_path / "cache", 8, 0, ClipConfig(sources=("synthetic",)))
    stage = tmp_path / "stage"
    last = train_stage(stage, {"stage": 1}, None, manifest, seed=0, max_epochs=1, batch_size=8, sample_rate=16000)
    weights, written = load_checkpoint(last)["state_dict"], last.stat().st_mtime_ns
    assert stage_finished(stage, 1) and not stage_finished(stage, 2)
    (stage / "metrics.json").unlink()
    assert train_stage(stage, {"stage": 1}, None, manifest, seed=0, max_epochs=1, batch_size=8, sample_rate=16000) == last
    assert last.stat().st_mtime_ns == written
    assert json.loads((stage / "metrics.json").read_text())["max_epochs"] == 1
    assert all((load_checkpoint(last)["state_dict"][k] == v).all() for k, v in weights.items())


def test_a_damaged_metrics_file_of_a_study_stage_is_named(tmp_path):
    from audiolang.study import score_checkpoint

    (tmp_path / "metrics.json").write_text('{"train/loss_last": 1.2, "epo')
    with pytest.raises(ValueError, match=r"metrics\.json: not readable JSON .*delete it and the stage is scored again"):
        score_checkpoint(tmp_path, tmp_path / "last.ckpt", {})


def test_data_at_another_rate_than_the_model_reads_is_refused(tmp_path):
    """`--data.clips.sample_rate 8000` with the model at its default 16 kHz: the towers read 8 kHz
    audio as 16 kHz (every event an octave low and twice as fast) without a word."""
    from audiolang.cli import main

    argv = ["fit", *TINY_FIT, "--runs_root", str(tmp_path / "runs"), "--data.cache_dir", str(tmp_path / "cache"),
            "--trainer.max_epochs", "1", "--data.clips.sample_rate", "8000"]
    with pytest.raises(ValueError, match=r"--data\.clips\.sample_rate 8000 .* --model\.sample_rate 16000"):
        main(argv)
    assert not list((tmp_path / "runs").rglob("*.ckpt"))
    main([*argv, "--model.sample_rate", "8000"])  # the same rate: trains


def test_a_training_caption_without_tokens_is_named_not_a_nan_loss():
    """A manifest caption of characters the tokenizer drops (a lone combining accent) gave a NaN
    text embedding, hence a NaN loss naming only the step."""
    from audiolang.models.dual import DualEncoder

    encoder = DualEncoder(dim=8, width=8, layers=1, segments=2)
    with pytest.raises(ValueError, match=r"caption '\u0301' has no tokens"):
        encoder.tokenize(["a bell rings", "\u0301"])
