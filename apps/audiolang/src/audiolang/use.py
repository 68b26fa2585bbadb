"""The trained model in use: ``embed`` (audio files or captions -> embeddings), ``score``
(captions x audio files -> cosine similarities), ``evaluate`` (a checkpoint on a benchmark CSV) and
``export`` (the trained towers as safetensors).

Every command writes into its own run folder, ``<runs_root>/audiolang/<name>/version_K/``:
``embed`` ``embeddings.npy`` ``(N, D)`` + ``embeddings.ids.json`` (``contrastkit.train.write_embeddings``),
``score`` ``scores.csv`` (a row per caption, a column per file), ``evaluate`` ``metrics.json``,
``export`` ``encoder.safetensors`` + ``encoder.json``. ``--ckpt_path`` takes a ``.ckpt`` written
by ``audiolang fit`` or an exported ``encoder.safetensors``.

Captions are given one per ``--caption`` or one per line of ``--captions_file`` and are never split
at commas (this app's captions are "A, then B"); see :mod:`audiolang.captions`. Nothing is written
and nothing printed until every input was read and every output row is finite.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

ENCODER_CLASS = "audiolang.models.dual:DualEncoder"


def load_model(ckpt_path: str):
    """The dual encoder of a ``fit`` checkpoint or of an ``export`` (``.safetensors``), in eval mode.

    Rebuilt by :func:`contrastkit.train.load_module` (weights only: no code runs) as the
    :class:`~audiolang.method.CompaClap` it records (an older file: whose hyper-parameters it
    takes); another app's checkpoint or weights that do not fit are one ``CheckpointError`` naming
    the file.
    """
    from contrastkit.train import load_module

    from audiolang.method import CompaClap

    if not ckpt_path:
        raise ValueError("--ckpt_path is required (a .ckpt written by audiolang fit)")
    if Path(ckpt_path).suffix == ".safetensors":
        return load_exported(ckpt_path)
    # init_from is where training started, not needed to rebuild the model
    return load_module(ckpt_path, ("audiolang",), CompaClap, drop=("init_from",), fallback=CompaClap).encoder


def load_exported(path: str):
    """The dual encoder written by :func:`export` (``encoder.safetensors`` + ``encoder.json``), in eval mode."""
    from contrastkit.train import CheckpointError, build_checked, load_encoder, load_state_checked

    from audiolang.models.dual import DualEncoder

    state, class_name, config = load_encoder(path)
    if class_name != ENCODER_CLASS:
        raise CheckpointError(f"{path}: holds a {class_name}, not an audiolang {ENCODER_CLASS}")
    encoder = build_checked(DualEncoder, config, path)
    load_state_checked(encoder, state, path)
    return encoder.eval()


def _run(runs_root: str, name: str, config: dict):
    """A new run folder of this command (``<runs_root>/audiolang/<name>/version_K``)."""
    from contrastkit.train import open_run

    return open_run(runs_root, "audiolang", name, config)


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


def embed(ckpt_path: str = "", audio: list[str] | None = None, caption: str | None = None,
          captions_file: str | None = None, runs_root: str = "runs", name: str = "embed") -> Path:
    """Embeddings of audio files and/or captions -> embeddings.npy + embeddings.ids.json in a run folder.

    ``embeddings.npy`` is ``(N, D)``, the audio rows first; the ids are ``audio:<file>`` /
    ``text:<caption>``; the run folder is ``<runs_root>/audiolang/<name>/version_K/``.

    Args:
        ckpt_path: a checkpoint written by ``audiolang fit`` (or an exported ``encoder.safetensors``).
        audio: audio files (any rate; resampled), e.g. ``'[a.wav, b.wav]'``.
        caption: one caption, exactly as written (``--caption "a dog barks, then a clock ticks"``).
        captions_file: a UTF-8 file of captions, one per line.
        runs_root: the runs folder.
        name: the run's name.
    """
    from contrastkit.train import announce_run, failure_marked, write_embeddings

    if not audio and caption is None and captions_file is None:
        raise ValueError("embed needs --audio FILES and/or --caption TEXT / --captions_file FILE")
    encoder = load_model(ckpt_path)
    audio_rows = _audio(encoder, audio)
    texts, text_rows = _captions(encoder, caption, captions_file)
    rows = np.concatenate([r.numpy() for r in (audio_rows, text_rows) if len(r)])
    ids = [f"audio:{a}" for a in audio or []] + [f"text:{c}" for c in texts]
    run_dir = _run(runs_root, name, {"ckpt_path": ckpt_path, "audio": list(audio or []), "caption": caption,
                                     "captions_file": captions_file})
    with failure_marked(run_dir):
        npy, _ = write_embeddings(run_dir, rows, ids, model=ckpt_path)
    print(f"wrote {npy} ({len(ids)} rows) and embeddings.ids.json")
    announce_run(run_dir)
    return npy


def score(ckpt_path: str = "", audio: list[str] | None = None, caption: str | None = None,
          captions_file: str | None = None, runs_root: str = "runs", name: str = "score") -> list[list[float]]:
    """Cosine similarity of each caption (rows) with each audio file (columns) -> printed and scores.csv.

    ``scores.csv`` (columns ``caption`` and one per file) is written in
    ``<runs_root>/audiolang/<name>/version_K/``.

    Args:
        ckpt_path: a checkpoint written by ``audiolang fit`` (or an exported ``encoder.safetensors``).
        audio: audio files (any rate; resampled), e.g. ``'[a.wav, b.wav]'``.
        caption: one caption, exactly as written (``--caption "a dog barks, then a clock ticks"``).
        captions_file: a UTF-8 file of captions, one per line (several captions).
        runs_root: the runs folder.
        name: the run's name.
    """
    import csv
    import io

    from contrastkit.atomic import write_text_atomic
    from contrastkit.train import announce_run, failure_marked

    if not audio or (caption is None and captions_file is None):
        raise ValueError("score needs --audio FILES and --caption TEXT or --captions_file FILE")
    encoder = load_model(ckpt_path)
    audio_rows = _audio(encoder, audio)
    texts, text_rows = _captions(encoder, caption, captions_file)
    sim = (text_rows @ audio_rows.T).numpy()
    run_dir = _run(runs_root, name, {"ckpt_path": ckpt_path, "audio": list(audio), "caption": caption,
                                     "captions_file": captions_file})
    with failure_marked(run_dir):
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["caption", *audio])
        writer.writerows([c, *(f"{v:.6f}" for v in row)] for c, row in zip(texts, sim, strict=True))
        write_text_atomic(run_dir / "scores.csv", text.getvalue())
    for caption_text, row in zip(texts, sim, strict=True):
        print(" ".join(f"{v:+.3f}" for v in row), "|", caption_text)
    announce_run(run_dir)
    return sim.tolist()


def evaluate(ckpt_path: str = "", benchmark: str = "", audio_dir: str | None = None,
             pretrained: str | None = None, runs_root: str = "runs", name: str = "evaluate") -> dict[str, float]:
    """Winoground text/audio/group scores and R@k of a checkpoint on a benchmark CSV -> metrics.json.

    The CSV is in the official format; a built one (with its ``wording`` column) is scored in unseen
    and seen wording, printed side by side (``unseen/*``, ``seen/*``; the plain keys are the unseen
    figures, the headline). The scores are printed and written to ``metrics.json`` in
    ``<runs_root>/audiolang/<name>/version_K/``.

    Args:
        ckpt_path: a checkpoint written by ``audiolang fit``.
        benchmark: the CSV (``pair_caption, reversed_pair_caption, pair_file, reversed_pair_file``).
        audio_dir: folder the CSV's file names are relative to (default: the CSV's folder).
        pretrained: instead of ``ckpt_path``: the CLAP baseline as released, a local ``ClapModel``
            folder scored without training (:func:`audiolang.baselines.pretrained_clap`).
        runs_root: the runs folder.
        name: the run's name.
    """
    from contrastkit.train import announce_run, failure_marked, write_metrics

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
    run_dir = _run(runs_root, name, {"ckpt_path": ckpt_path, "benchmark": benchmark, "audio_dir": audio_dir,
                                     "pretrained": pretrained})
    with failure_marked(run_dir):
        write_metrics(run_dir, metrics)
    print(format_scores(metrics, CHANCE))
    announce_run(run_dir)
    return metrics


def format_scores(metrics: dict[str, float], chance: dict[str, float]) -> str:
    """The scores as printed by ``evaluate``: one line per score; for a built benchmark the unseen-
    and seen-wording figures side by side (unseen first: the headline)."""
    worded = any(k.startswith("unseen/") for k in metrics)
    names = [k for k in metrics if "/" not in k]
    lines = [f"{'score':<18} {'unseen':>7} {'seen':>7}" if worded else f"{'score':<18} {'value':>7}"]
    for k in names:
        values = (metrics[f"unseen/{k}"], metrics.get(f"seen/{k}", float("nan"))) if worded else (metrics[k],)
        lines.append(f"{k:<18} " + " ".join(f"{v:7.2f}" for v in values)
                     + (f"   (chance {chance[k]:.2f})" if k in chance else ""))
    return "\n".join(lines)


def export(ckpt_path: str = "", runs_root: str = "runs", name: str = "export") -> Path:
    """The trained towers of a checkpoint -> encoder.safetensors + encoder.json in a run folder.

    The whole dual encoder (both towers, projections and logit scale) and its class and
    constructor arguments, in ``<runs_root>/audiolang/<name>/version_K/``; ``embed``, ``score``
    and ``evaluate`` take the ``.safetensors`` as ``--ckpt_path``, and
    ``contrastkit.train.load_encoder`` reads it.

    Args:
        ckpt_path: a checkpoint written by ``audiolang fit``.
        runs_root: the runs folder.
        name: the run's name.
    """
    from contrastkit.train import announce_run, export_encoder, failure_marked

    encoder = load_model(ckpt_path)
    config = dict(encoder.config)
    run_dir = _run(runs_root, name, {"ckpt_path": ckpt_path})
    with failure_marked(run_dir):
        path = export_encoder(encoder, run_dir / "encoder.safetensors", config, ENCODER_CLASS)
    print(f"encoder -> {path}")
    announce_run(run_dir)
    return path
