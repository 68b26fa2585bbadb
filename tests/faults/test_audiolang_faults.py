"""audiolang bad input: every probe names the file and the problem (issue 12, Data; issue 9 style)."""

import numpy as np
import pytest
import soundfile as sf
from audiolang.data.audio import AudioError, load_audio
from audiolang.data.benchmark_csv import read_benchmark_csv
from audiolang.data.manifest import read_manifest


def test_unreadable_audio_names_the_file(tmp_path):
    """issue 12, Data: unreadable audio."""
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really a wave file")
    with pytest.raises(AudioError, match=r"bad\.wav: unreadable"):
        load_audio(bad, 16000)


def test_empty_audio_names_the_file(tmp_path):
    """issue 12, Data: empty audio."""
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match=r"empty\.wav: empty"):
        load_audio(empty, 16000)


def test_nan_audio_names_the_file(tmp_path):
    """issue 12, Data: NaN samples."""
    path = tmp_path / "nan.wav"
    x = np.zeros(100, dtype=np.float32)
    x[10] = np.nan
    sf.write(path, x, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"nan\.wav: 1 samples are NaN"):
        load_audio(path, 16000)


def test_wrong_rate_names_the_file(tmp_path):
    """issue 12, Data: wrong sampling rate when one is required."""
    path = tmp_path / "r8k.wav"
    sf.write(path, np.zeros(800, dtype=np.float32), 8000)
    with pytest.raises(AudioError, match=r"r8k\.wav: sampling rate 8000 Hz, expected 16000"):
        load_audio(path, 16000, expected_rate=16000)
    assert load_audio(path, 16000).shape == (1600,)  # resampled when no rate is required


def test_benchmark_csv_missing_column_and_empty_cell(tmp_path):
    """issue 12, Data: the official CSV with a missing column or an empty cell."""
    path = tmp_path / "bench.csv"
    path.write_text("pair_caption,reversed_pair_caption,pair_file\na,b,x.wav\n")
    with pytest.raises(ValueError, match=r"bench\.csv: missing column\(s\) \['reversed_pair_file'\]"):
        read_benchmark_csv(path)
    path.write_text("pair_caption,reversed_pair_caption,pair_file,reversed_pair_file\na,,x.wav,y.wav\n")
    with pytest.raises(ValueError, match=r"bench\.csv, line 2: empty reversed_pair_caption"):
        read_benchmark_csv(path)


def test_attribute_csv_duplicated_columns_are_read(tmp_path):
    """issue 12, Data: CompA-attribute's duplicated pair_file columns (as written or as pandas names them)."""
    for header in ("pair_caption,reversed_pair_caption,pair_file,reversed_pair_file,pair_file,reversed_pair_file",
                   "pair_caption,reversed_pair_caption,pair_file,reversed_pair_file,pair_file.1,reversed_pair_file.1"):
        path = tmp_path / "attr.csv"
        path.write_text(header + "\nloud a,quiet a,a.wav,b.wav,a.wav,b.wav\n")
        (row,) = read_benchmark_csv(path, audio_dir="/data/")
        assert (row.caption, str(row.file), str(row.reversed_file)) == ("loud a", "/data/a.wav", "/data/b.wav")


def test_manifest_bad_rows_name_file_and_line(tmp_path):
    """issue 12, Data: caption manifests."""
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


@pytest.mark.parametrize("command", ["evaluate", "score", "embed", "fit --ckpt_path", "fit --model.init_from"])
def test_checkpoint_that_runs_code_is_refused_by_every_command(tmp_path, command):
    """issue 9, item 1 / issue 12: every audiolang command taking a checkpoint loads it with
    weights_only=True (contrastkit.train.load_checkpoint): refused, the file named, no code run."""
    import re

    import torch
    from audiolang.cli import main

    marker, path = tmp_path / "pwned", tmp_path / "evil.ckpt"
    torch.save({"hyper_parameters": {"stage": 1}, "state_dict": {}, "payload": _Payload(str(marker))}, path)
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(1600, dtype=np.float32), 16000)
    fit = ["--root", str(tmp_path / "runs"), "--data.clips.sources", "[synthetic]", "--data.build_size", "8",
           "--data.cache_dir", str(tmp_path / "cache"), "--trainer.max_epochs", "1"]
    argv = {
        "evaluate": ["evaluate", "--ckpt_path", str(path), "--benchmark", str(tmp_path / "bench.csv")],
        "score": ["score", "--ckpt_path", str(path), "--audio", f"[{wav}]", "--captions", "[a dog barks]"],
        "embed": ["embed", "--ckpt_path", str(path), "--audio", f"[{wav}]", "--out", str(tmp_path / "emb")],
        "fit --ckpt_path": ["fit", "--ckpt_path", str(path), *fit],
        "fit --model.init_from": ["fit", "--model.init_from", str(path), *fit],
    }[command]
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": refused: .* would run code"):
        main(argv)
    assert not marker.exists()
    assert not list((tmp_path / "runs").rglob("*.ckpt")) and not list((tmp_path / "runs").rglob("config.yaml"))
    assert not (tmp_path / "emb.npy").exists()
