"""The trained model in use: ``embed`` (audio files or captions -> .npy + ids) and ``score``
(captions x audio files -> cosine similarities), and ``evaluate`` (a checkpoint on a benchmark CSV)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def load_model(ckpt_path: str):
    """The dual encoder of a ``fit`` checkpoint (read with weights_only=True: no code runs)."""
    from contrastkit.train import load_checkpoint

    from audiolang.method import CompaClap

    if not ckpt_path:
        raise ValueError("--ckpt_path is required (a .ckpt written by audiolang fit)")
    ckpt = load_checkpoint(ckpt_path)
    import inspect

    known = set(inspect.signature(CompaClap.__init__).parameters) - {"self", "init_from"}
    hparams = {k: v for k, v in (ckpt.get("hyper_parameters") or {}).items() if k in known}
    module = CompaClap(**hparams)
    module.load_state_dict(ckpt["state_dict"])
    return module.encoder.eval()


def embed(ckpt_path: str = "", out: str = "embeddings", audio: list[str] | None = None, captions: list[str] | None = None) -> str:
    """Embeddings of audio files and/or captions: ``<out>.npy`` (rows) and ``<out>.ids.json``.

    Args:
        ckpt_path: a checkpoint written by ``audiolang fit``.
        out: output path without extension.
        audio: audio files (any rate; resampled).
        captions: captions.
    """
    from audiolang.evaluate import embed_files

    encoder = load_model(ckpt_path)
    rows, ids = [], []
    if audio:
        rows.append(embed_files(encoder, [Path(a) for a in audio]).numpy())
        ids += [f"audio:{a}" for a in audio]
    if captions:
        rows.append(encoder.embed_texts(list(captions)).cpu().numpy())
        ids += [f"text:{c}" for c in captions]
    if not rows:
        raise ValueError("embed needs --audio FILES and/or --captions TEXTS")
    np.save(f"{out}.npy", np.concatenate(rows))
    Path(f"{out}.ids.json").write_text(json.dumps(ids, indent=1))
    print(f"wrote {out}.npy ({len(ids)} rows) and {out}.ids.json")
    return f"{out}.npy"


def score(ckpt_path: str = "", audio: list[str] | None = None, captions: list[str] | None = None) -> list[list[float]]:
    """Cosine similarity of each caption (rows) with each audio file (columns), printed as a table."""
    from audiolang.evaluate import embed_files

    if not audio or not captions:
        raise ValueError("score needs --audio FILES and --captions TEXTS")
    encoder = load_model(ckpt_path)
    sim = (encoder.embed_texts(list(captions)).cpu() @ embed_files(encoder, [Path(a) for a in audio]).T).numpy()
    for c, row in zip(captions, sim, strict=True):
        print(" ".join(f"{v:+.3f}" for v in row), "|", c)
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
