"""The trained model in use: ``slu embed`` (audio embeddings), ``slu predict`` (intent and
transcript of audio files) and ``slu export`` (the trained audio encoder as safetensors), each
writing into its own run folder ``<runs_root>/slu/<name>/version_K/``.

Both read a task state written by ``fit``/``study`` (``checkpoints/[<row>-]task_t.ckpt``, loaded
with ``weights_only=True``) and the run's ``model.json`` beside its ``checkpoints/`` folder. A
task state records the fingerprint of the ``model.json`` it was trained with, so a task state
paired with another run's ``model.json`` is refused naming both files; weights that do not fit the
model, or are not finite, are refused naming the task state; an embedding that comes out
non-finite is refused naming its audio file, before anything is written.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch


def model_json(model, classes: list[str], tokenizer, n_mels: int, features: str, sentences=()) -> dict:
    """The content of a run's ``model.json``: what rebuilds the model (its ``ModelConfig``, the
    feature settings, the classes and the tokenizer) and the training sentences (normalized,
    sorted: what ``evaluate`` counts as seen wording)."""
    return {"model": asdict(model), "n_mels": n_mels, "features": features, "classes": list(classes),
            "tokenizer": tokenizer.to_json(), "train_sentences": sorted(sentences)}


def model_fingerprint(meta: dict) -> str:
    """A short hash of a ``model.json`` content (as read back from JSON: tuples are lists)."""
    text = json.dumps(json.loads(json.dumps(meta)), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def read_model_json(checkpoint: Path) -> tuple[dict, Path]:
    """``(meta, path)`` of the ``model.json`` of the run that wrote ``checkpoint``."""
    meta_path = checkpoint.parent.parent / "model.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{meta_path}: missing (embed, predict and evaluate need the model.json of the run "
                                f"that wrote {checkpoint.name})")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{meta_path}: not a readable model.json ({error})") from None
    missing = [k for k in ("model", "n_mels", "features", "classes", "tokenizer") if not isinstance(meta, dict) or k not in meta]
    if missing:
        raise ValueError(f"{meta_path}: not a model.json of slu (missing {missing})")
    return meta, meta_path


def load_trained(checkpoint: str | Path):
    """``(model, tokenizer, meta)`` of a task state and its run's ``model.json``."""
    from contrastkit.train import CheckpointError, build_checked, load_checkpoint, load_state_checked

    from slu.continual import ModelConfig, build
    from slu.data.tokenizer import SLUTokenizer

    checkpoint = Path(checkpoint)
    meta, meta_path = read_model_json(checkpoint)
    state = load_checkpoint(checkpoint)
    if "model" not in state:
        raise CheckpointError(f"{checkpoint}: not a task state of slu (no 'model' entry; use checkpoints/task_t.ckpt)")
    recorded = state.get("model_json")
    if recorded is not None and recorded != model_fingerprint(meta):
        raise CheckpointError(f"{checkpoint}: trained with another model.json than {meta_path} (another run's, or "
                              "the run's settings changed); use the task state and the model.json of one run folder")
    tokenizer = SLUTokenizer.from_json(meta["tokenizer"], meta["classes"])
    config = build_checked(ModelConfig, meta["model"], meta_path)
    model = build(tokenizer.vocab_size, config, meta["n_mels"])
    load_state_checked(model, state["model"], f"{checkpoint} (with {meta_path})")
    return model.eval(), tokenizer, meta


def check_beam_size(beam_size: int, field: str = "--beam_size") -> int:
    """``beam_size`` when it is at least 1; a ValueError naming ``field`` otherwise."""
    if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"{field} must be an integer >= 1 (1 = greedy decoding); got {beam_size!r}")
    return beam_size


def embed(ckpt_path: str = "", audio: list[str] = (), projected: bool = True, runs_root: str = "runs",
          name: str = "embed") -> Path:
    """Audio embeddings of files: ``embeddings.npy`` ``(N, D)`` float32 and ``embeddings.ids.json``
    (the files) in ``<runs_root>/slu/<name>/version_K/``.

    Args:
        ckpt_path: a task state (``runs/slu/<name>/version_K/checkpoints/task_T.ckpt``).
        audio: audio files (WAV/FLAC), resampled to 16 kHz.
        projected: the contrastive embedding (True) or the pooled encoder features (False).
        runs_root: the runs folder.
        name: the run's name.
    """
    from contrastkit.train import announce_run, failure_marked, open_run, write_embeddings

    _need(ckpt_path, audio, "embed")
    model, _, meta = load_trained(ckpt_path)
    rows = []
    with torch.no_grad():
        for path in audio:
            memory, lengths = _encode(model, meta, path)
            row = (model.audio_embedding if projected else model.pooled)(memory, lengths)[0].numpy()
            if not np.isfinite(row).all():
                raise ValueError(f"{path}: its embedding is not finite (NaN or infinite values) with {ckpt_path}; "
                                 "nothing was written")
            rows.append(row)
    run_dir = open_run(runs_root, "slu", name, {"ckpt_path": str(ckpt_path), "audio": list(audio),
                                                "projected": projected})
    with failure_marked(run_dir):
        npy, _ = write_embeddings(run_dir, np.stack(rows), list(audio), model=str(ckpt_path))
    print(f"{len(rows)} embeddings -> {npy}")
    announce_run(run_dir)
    return npy


def export(ckpt_path: str = "", runs_root: str = "runs", name: str = "export") -> Path:
    """The trained audio encoder of a task state as ``encoder.safetensors`` + ``encoder.json`` (its
    class and constructor arguments) in ``<runs_root>/slu/<name>/version_K/``.

    Args:
        ckpt_path: a task state (``runs/slu/<name>/version_K/checkpoints/task_T.ckpt``).
        runs_root: the runs folder.
        name: the run's name.
    """
    from contrastkit.train import announce_run, export_encoder, failure_marked, open_run

    if not ckpt_path:
        raise ValueError("export needs --ckpt_path (a checkpoints/task_T.ckpt)")
    model, _, meta = load_trained(ckpt_path)
    m = meta["model"]
    if m["encoder"] == "conv":
        config = {"n_mels": meta["n_mels"], "d_model": m["d_model"], "layers": m["encoder_layers"],
                  "heads": m["heads"], "ff": m["ff"], "dropout": m["dropout"]}
        class_name = "slu.models.encoder:ConvTransformerEncoder"
    else:
        config = {"path": m["pretrained_path"], "config": m["hf_config"]}
        class_name = "slu.models.encoder:HFAudioEncoder"
    run_dir = open_run(runs_root, "slu", name, {"ckpt_path": str(ckpt_path)})
    with failure_marked(run_dir):
        path = export_encoder(model.encoder, run_dir / "encoder.safetensors", config, class_name)
    print(f"encoder ({class_name.rpartition(':')[2]}) -> {path}")
    announce_run(run_dir)
    return path


def _need(ckpt_path: str, audio, command: str) -> None:
    if not ckpt_path or not audio:
        raise ValueError(f"{command} needs --ckpt_path (a checkpoints/task_T.ckpt) and --audio '[file, ...]'")


def _encode(model, meta: dict, path: str):
    from slu.data.audio import read_audio
    from slu.data.features import featurize

    feats = featurize(read_audio(path), meta["features"], meta["n_mels"])
    memory, lengths = model.encode(feats[None], torch.tensor([len(feats)]))
    if not bool(torch.isfinite(memory).all()):
        raise ValueError(f"{path}: the encoder's output is not finite (NaN or infinite values)")
    return memory, lengths


def predict(ckpt_path: str = "", audio: list[str] = (), beam_size: int = 1, runs_root: str = "runs",
            name: str = "predict") -> list[dict]:
    """Intent and transcript of each audio file, decoded greedily (or by beam search), written to
    ``predictions.csv`` in ``<runs_root>/slu/<name>/version_K/``.

    Args:
        ckpt_path: a task state (``checkpoints/task_T.ckpt``).
        audio: audio files.
        beam_size: 1 = greedy; more = beam search of that width.
        runs_root: the runs folder.
        name: the run's name.
    """
    import csv
    import io

    from contrastkit.atomic import write_text_atomic
    from contrastkit.train import announce_run, failure_marked, open_run

    check_beam_size(beam_size)
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
    run_dir = open_run(runs_root, "slu", name, {"ckpt_path": str(ckpt_path), "audio": list(audio),
                                                "beam_size": beam_size})
    with failure_marked(run_dir):
        text = io.StringIO()
        writer = csv.DictWriter(text, ["file", "intent", "transcript"], lineterminator="\n")
        writer.writeheader()
        writer.writerows({**r, "intent": r["intent"] or ""} for r in out)
        write_text_atomic(run_dir / "predictions.csv", text.getvalue())
    announce_run(run_dir)
    return out
