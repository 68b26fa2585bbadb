"""The trained model in use: ``slu embed`` (audio embeddings), ``slu predict`` (intent and
transcript of audio files) and ``slu export`` (the trained audio encoder as safetensors), each
writing into its own run folder ``<runs_root>/slu/<name>/version_K/``.

Each reads a task state written by ``fit``/``study`` (``checkpoints/[<row>-]task_t.ckpt``): a
checkpoint of :func:`contrastkit.train.save_module` that holds everything needed to use it: the
model's class and settings (rebuilt by :func:`contrastkit.train.load_module`, weights only), and
the run's data record (classes, tokenizer, features, training sentences: :func:`data_record`).
Weights that do not fit the model, or are not finite, are refused naming the task state; an
embedding that comes out non-finite is refused naming its audio file, before anything is written.
Task states of runs made before they held the data record are read with the run's ``model.json``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

RECORD_KEYS = ("n_mels", "features", "classes", "tokenizer")


def data_record(classes: list[str], tokenizer, n_mels: int, features: str, sentences=()) -> dict:
    """What a task state records besides the model (the ``data`` entry): the feature settings, the
    classes, the tokenizer and the training sentences (normalized, sorted: what ``evaluate``
    counts as seen wording)."""
    return {"n_mels": n_mels, "features": features, "classes": list(classes), "tokenizer": tokenizer.to_json(),
            "train_sentences": sorted(sentences)}


def load_trained(checkpoint: str | Path):
    """``(model, tokenizer, meta)`` of a task state: the :class:`~slu.models.seq2seq.SLUModel` in
    eval mode, its tokenizer, and ``meta`` = the data record plus ``model`` (its settings)."""
    from contrastkit.train import CheckpointError, load_checkpoint, load_module

    from slu.data.tokenizer import SLUTokenizer
    from slu.models.seq2seq import SLUModel

    checkpoint = Path(checkpoint)
    state = load_checkpoint(checkpoint)
    if "state_dict" not in state and "model" in state:
        return _load_with_model_json(checkpoint, state)
    record = state.get("data")
    if not isinstance(record, dict) or any(k not in record for k in RECORD_KEYS):
        raise CheckpointError(f"{checkpoint}: not a task state of slu (no data record: use a checkpoints/task_t.ckpt "
                              "of fit or study, not a trainer's last.ckpt)")
    model = load_module(checkpoint, ("slu",), SLUModel, loaded=state)
    tokenizer = SLUTokenizer.from_json(record["tokenizer"], record["classes"])
    if tokenizer.vocab_size != model.embed.num_embeddings:
        raise CheckpointError(f"{checkpoint}: its tokenizer has {tokenizer.vocab_size} tokens, its model "
                              f"{model.embed.num_embeddings}: a damaged task state")
    settings = {k: v for k, v in state["hyper_parameters"].items() if k not in ("vocab_size", "n_mels")}
    return model, tokenizer, {**record, "model": settings}


def _load_with_model_json(checkpoint: Path, state: dict):
    """A task state of a run made before task states held their data record: its model settings
    and data record are the run's ``model.json``, whose fingerprint the task state records."""
    from contrastkit.train import CheckpointError, build_checked, load_state_checked

    from slu.continual import ModelConfig, build
    from slu.data.tokenizer import SLUTokenizer

    meta_path = checkpoint.parent.parent / "model.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{meta_path}: missing (a task state of an older run needs the model.json of the run "
                                f"that wrote {checkpoint.name})")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{meta_path}: not a readable model.json ({error})") from None
    missing = [k for k in ("model", *RECORD_KEYS) if not isinstance(meta, dict) or k not in meta]
    if missing:
        raise ValueError(f"{meta_path}: not a model.json of slu (missing {missing})")
    recorded = state.get("model_json")
    fingerprint = hashlib.sha256(json.dumps(meta, sort_keys=True).encode("utf-8")).hexdigest()[:16]
    if recorded is not None and recorded != fingerprint:
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
