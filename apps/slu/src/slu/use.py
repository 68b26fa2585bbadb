"""The trained model in use: ``slu embed`` (audio embeddings -> .npy + ids) and ``slu predict``
(intent and transcript of audio files).

Both read a task state written by ``fit``/``study`` (``checkpoints/[<row>-]task_t.ckpt``, loaded
with ``weights_only=True``) and the run's ``model.json`` beside its ``checkpoints/`` folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch


def load_trained(checkpoint: str | Path):
    """``(model, tokenizer, meta)`` of a task state and its run's ``model.json``."""
    from contrastkit.train import load_checkpoint

    from slu.continual import ModelConfig
    from slu.data.tokenizer import SLUTokenizer

    checkpoint = Path(checkpoint)
    meta_path = checkpoint.parent.parent / "model.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{meta_path}: missing (embed and predict need the model.json of the run "
                                f"that wrote {checkpoint.name})")
    meta = json.loads(meta_path.read_text())
    tokenizer = SLUTokenizer.from_json(meta["tokenizer"], meta["classes"])
    from slu.continual import build

    model = build(tokenizer.vocab_size, ModelConfig(**meta["model"]), meta["n_mels"])
    state = load_checkpoint(checkpoint)
    if "model" not in state:
        raise ValueError(f"{checkpoint}: not a task state of slu (no 'model' entry; use checkpoints/task_t.ckpt)")
    model.load_state_dict(state["model"])
    return model.eval(), tokenizer, meta


def embed(ckpt_path: str = "", audio: list[str] = (), out: str = "embeddings.npy",
          projected: bool = True) -> Path:
    """Audio embeddings of files: ``out`` ``(N, D)`` float32 and ``out`` with ``.ids.txt`` (the files).

    Args:
        ckpt_path: a task state (``runs/slu/<name>/version_K/checkpoints/task_T.ckpt``).
        audio: audio files (WAV/FLAC), resampled to 16 kHz.
        out: the ``.npy`` file written.
        projected: the contrastive embedding (True) or the pooled encoder features (False).
    """
    _need(ckpt_path, audio, "embed")
    model, _, meta = load_trained(ckpt_path)
    rows = []
    with torch.no_grad():
        for path in audio:
            memory, lengths = _encode(model, meta, path)
            rows.append((model.audio_embedding if projected else model.pooled)(memory, lengths)[0].numpy())
    out_path = Path(out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    np.save(out_path, np.stack(rows).astype(np.float32))
    out_path.with_suffix(".ids.txt").write_text("\n".join(audio) + "\n")
    print(f"{len(rows)} embeddings -> {out_path}")
    return out_path


def _need(ckpt_path: str, audio, command: str) -> None:
    if not ckpt_path or not audio:
        raise ValueError(f"{command} needs --ckpt_path (a checkpoints/task_T.ckpt) and --audio '[file, ...]'")


def _encode(model, meta: dict, path: str):
    from slu.data.audio import read_audio
    from slu.data.features import featurize

    feats = featurize(read_audio(path), meta["features"], meta["n_mels"])
    return model.encode(feats[None], torch.tensor([len(feats)]))


def predict(ckpt_path: str = "", audio: list[str] = (), beam_size: int = 1) -> list[dict]:
    """Intent and transcript of each audio file, decoded greedily (or by beam search).

    Args:
        ckpt_path: a task state (``checkpoints/task_T.ckpt``).
        audio: audio files.
        beam_size: 1 = greedy.
    """
    _need(ckpt_path, audio, "predict")
    model, tok, meta = load_trained(ckpt_path)
    out = []
    with torch.no_grad():
        for path in audio:
            memory, lengths = _encode(model, meta, path)
            seq = (model.beam(memory, lengths, tok.bos_id, tok.eos_id, beam_size) if beam_size > 1
                   else model.greedy(memory, lengths, tok.bos_id, tok.eos_id))[0].tolist()
            k = tok.class_of(seq[1]) if len(seq) > 1 else -1
            out.append({"file": path, "intent": tok.classes[k] if k >= 0 else None,
                        "transcript": tok.decode_transcript(seq[1:])})
            print(f"{path}\t{out[-1]['intent']}\t{out[-1]['transcript']}")
    return out
