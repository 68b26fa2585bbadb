"""The trained model in use: ``embed`` (audio files or captions -> .npy + ids) and ``score``
(captions x audio files -> cosine similarities), and ``evaluate`` (a checkpoint on a benchmark CSV).

Captions are given one per ``--caption`` or one per line of ``--captions_file`` and are never split
at commas (this app's captions are "A, then B"); see :mod:`audiolang.captions`. Nothing is written
and nothing printed until every input was read and every output row is finite.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch


def load_model(ckpt_path: str):
    """The dual encoder of a ``fit`` checkpoint, in eval mode.

    Read with ``weights_only=True`` (no code runs); the stored hyper-parameters must be
    :class:`~audiolang.method.CompaClap`'s and the weights must fit it and be finite, or one
    ``CheckpointError`` names the file (another app's checkpoint, a damaged file).
    """
    from contrastkit.train import CheckpointError, build_checked, load_checkpoint, load_state_checked

    from audiolang.method import CompaClap

    if not ckpt_path:
        raise ValueError("--ckpt_path is required (a .ckpt written by audiolang fit)")
    ckpt = load_checkpoint(ckpt_path)
    hparams, state = ckpt.get("hyper_parameters"), ckpt.get("state_dict")
    if not isinstance(hparams, dict) or not isinstance(state, dict):
        raise CheckpointError(f"{ckpt_path}: not a checkpoint written by audiolang fit (no hyper-parameters or "
                              "state dict)")
    # Lightning's own entries start with "_"; init_from is where training started, not needed here
    config = {k: v for k, v in hparams.items() if not k.startswith("_") and k != "init_from"}
    module = build_checked(CompaClap, config, ckpt_path)
    load_state_checked(module, state, ckpt_path)
    return module.encoder.eval()


def _captions(encoder, caption: str | None, captions_file: str | None) -> tuple[list[str], torch.Tensor]:
    """The captions given (checked, :mod:`audiolang.captions`) and their embeddings ``(N, D)``."""
    from audiolang.captions import captions_from, check_captions
    from audiolang.evaluate import check_finite

    given = captions_from(caption, captions_file)
    if not given:
        return [], torch.zeros(0)
    check_captions(encoder, given)
    texts = [text for _, text in given]
    emb = encoder.embed_texts(texts).cpu()
    check_finite(emb, [f"{where} {text!r}" for where, text in given], "caption embeddings")
    return texts, emb


def _audio(encoder, audio: list[str] | None) -> torch.Tensor:
    """Embeddings ``(N, D)`` of the audio files (each read and checked, named on error)."""
    from audiolang.evaluate import check_finite, embed_files

    if not audio:
        return torch.zeros(0)
    emb = embed_files(encoder, [Path(a) for a in audio])
    check_finite(emb, list(audio), "audio embeddings")
    return emb


def embed(ckpt_path: str = "", out: str = "embeddings", audio: list[str] | None = None, caption: str | None = None,
          captions_file: str | None = None) -> str:
    """Embeddings of audio files and/or captions: ``<out>.npy`` (rows) and ``<out>.ids.json``.

    Args:
        ckpt_path: a checkpoint written by ``audiolang fit``.
        out: output path without extension.
        audio: audio files (any rate; resampled), e.g. ``'[a.wav, b.wav]'``.
        caption: one caption, exactly as written (``--caption "a dog barks, then a clock ticks"``).
        captions_file: a UTF-8 file of captions, one per line.
    """
    from contrastkit.atomic import write_atomic, write_text_atomic

    if not audio and caption is None and captions_file is None:
        raise ValueError("embed needs --audio FILES and/or --caption TEXT / --captions_file FILE")
    encoder = load_model(ckpt_path)
    audio_rows = _audio(encoder, audio)
    texts, text_rows = _captions(encoder, caption, captions_file)
    rows = np.concatenate([r.numpy() for r in (audio_rows, text_rows) if len(r)])
    ids = [f"audio:{a}" for a in audio or []] + [f"text:{c}" for c in texts]
    write_atomic(f"{out}.npy", lambda f: np.save(f, rows))
    write_text_atomic(f"{out}.ids.json", json.dumps(ids, indent=1))
    print(f"wrote {out}.npy ({len(ids)} rows) and {out}.ids.json")
    return f"{out}.npy"


def score(ckpt_path: str = "", audio: list[str] | None = None, caption: str | None = None,
          captions_file: str | None = None) -> list[list[float]]:
    """Cosine similarity of each caption (rows) with each audio file (columns), printed as a table.

    Args:
        ckpt_path: a checkpoint written by ``audiolang fit``.
        audio: audio files (any rate; resampled), e.g. ``'[a.wav, b.wav]'``.
        caption: one caption, exactly as written (``--caption "a dog barks, then a clock ticks"``).
        captions_file: a UTF-8 file of captions, one per line (several captions).
    """
    if not audio or (caption is None and captions_file is None):
        raise ValueError("score needs --audio FILES and --caption TEXT or --captions_file FILE")
    encoder = load_model(ckpt_path)
    audio_rows = _audio(encoder, audio)
    texts, text_rows = _captions(encoder, caption, captions_file)
    sim = (text_rows @ audio_rows.T).numpy()
    for text, row in zip(texts, sim, strict=True):
        print(" ".join(f"{v:+.3f}" for v in row), "|", text)
    return sim.tolist()


def evaluate(ckpt_path: str = "", benchmark: str = "", audio_dir: str | None = None,
             pretrained: str | None = None) -> dict[str, float]:
    """Winoground text/audio/group scores (and R@k) of a checkpoint on a benchmark CSV (official format).

    Args:
        ckpt_path: a checkpoint written by ``audiolang fit``.
        benchmark: the CSV (``pair_caption, reversed_pair_caption, pair_file, reversed_pair_file``).
        audio_dir: folder the CSV's file names are relative to (default: the CSV's folder).
        pretrained: instead of ``ckpt_path``: the CLAP baseline as released, a local ``ClapModel``
            folder scored without training (:func:`audiolang.baselines.pretrained_clap`).
    """
    from audiolang.evaluate import CHANCE, evaluate_benchmark

    if not benchmark:
        raise ValueError("--benchmark is required (a CSV in the official CompA format)")
    if pretrained and ckpt_path:
        raise ValueError("give --ckpt_path (a trained model) or --pretrained (CLAP as released), not both")
    if pretrained:
        from audiolang.baselines import pretrained_clap

        encoder = pretrained_clap(pretrained)
    else:
        encoder = load_model(ckpt_path)
    metrics = evaluate_benchmark(encoder, benchmark, audio_dir)
    for k, v in metrics.items():
        print(f"{k:<18} {v:6.2f}" + (f"   (chance {CHANCE[k]:.2f})" if k in CHANCE else ""))
    return metrics
