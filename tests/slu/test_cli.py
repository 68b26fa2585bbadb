"""The ``slu`` command: help without torch, and fit -> evaluate -> predict -> embed on a tiny run."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from slu.cli import main

TINY = ["--data.dataset", "synthetic_fsc", "--data.n_tasks", "2", "--data.batch_size", "8", "--data.vocab_size", "40",
        "--data.synthetic.train_speakers", "3", "--data.synthetic.test_speakers", "1",
        "--data.synthetic.phrasings", "2", "--data.synthetic.max_classes", "4"]
MODEL = ["--model.d_model", "32", "--model.encoder_layers", "1", "--model.decoder_layers", "1", "--model.heads", "2",
         "--model.ff", "64", "--model.proj_dim", "16"]


def test_help_imports_no_torch():
    code = "import sys; sys.modules['torch'] = None; from slu.cli import main; main(['--help'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for command in ("demo", "prepare", "synthesize", "fit", "study", "evaluate", "embed", "predict"):
        assert f"  {command}" in out


def test_fit_then_evaluate_predict_embed(tmp_path, cache_dir):
    data = [*TINY, "--data.cache_dir", str(cache_dir)]
    metrics = main(["fit", *data, *MODEL, "--method.name", "er", "--train.epochs", "3", "--train.lr", "0.003",
                    "--trainer.accelerator", "cpu", "--train.memory_per_class", "2", "--root", str(tmp_path),
                    "--threads", "1"])
    assert metrics["method"] == "er" and metrics["memory_size"] == 8
    ckpt = tmp_path / "slu" / "fit" / "version_0" / "checkpoints" / "task_1.ckpt"
    scored = main(["evaluate", "--ckpt_path", str(ckpt), *data])
    assert scored["accuracy"] == metrics["last_acc"]  # full greedy decoding agrees with the one-step read-out
    import soundfile as sf
    from slu.data.synthetic import SyntheticConfig, load_or_generate

    corpus, waves = load_or_generate(SyntheticConfig(train_speakers=3, test_speakers=1, phrasings=2, max_classes=4),
                                     cache_dir)
    wav = tmp_path / "clip.wav"
    sf.write(str(wav), waves[-1].numpy(), 16000)
    (pred,) = main(["predict", "--ckpt_path", str(ckpt), "--audio", f"[{wav}]"])
    assert pred["intent"] in corpus.classes or pred["intent"] is None
    out = main(["embed", "--ckpt_path", str(ckpt), "--audio", f"[{wav}, {wav}]", "--out", str(tmp_path / "e.npy")])
    emb = np.load(out)
    assert emb.shape == (2, 16) and np.array_equal(emb[0], emb[1])


def test_config_sections_are_the_owners_init_arguments(capsys):
    """One config route: the model, method and train settings are the typed, documented arguments of
    build_model, ContinualSLU and RehearsalMemory, with their defaults; a wrong type names the field."""
    import inspect
    from dataclasses import fields

    import pytest
    from slu.continual import ModelConfig, TrainConfig
    from slu.memory import RehearsalMemory
    from slu.method import ContinualSLU, MethodConfig
    from slu.models.seq2seq import build_model

    for section, owners in ((ModelConfig, [build_model]), (MethodConfig, [ContinualSLU]),
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
