"""Features of a corpus: one ``(frames, n_mels)`` log-mel tensor per utterance (or ``(samples, 1)``
raw 16 kHz waves for a Wav2Vec2/HuBERT encoder), cached on disk.

The cache file is named by a hash of what made it (the files' paths, sizes and modification
times, or the synthetic config, and the feature settings) and written atomically; an unreadable
cache (a truncated file) is rebuilt, with a warning naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import torch
from torch import Tensor

from slu.data.audio import N_MELS, log_mel, read_audio
from slu.data.corpus import Corpus


def featurize(wave: Tensor, kind: str = "logmel", n_mels: int = N_MELS) -> Tensor:
    """``(frames, n_mels)`` log-mel (``kind="logmel"``) or ``(samples, 1)`` (``kind="wave"``)."""
    if kind == "logmel":
        return log_mel(wave, n_mels=n_mels)
    if kind == "wave":
        return wave.float().unsqueeze(1)
    raise ValueError(f"unknown feature kind {kind!r}; expected 'logmel' or 'wave'")


def _key(corpus: Corpus, kind: str, n_mels: int, max_clipped: float) -> str:
    h = hashlib.sha256(json.dumps([corpus.name, kind, n_mels, max_clipped]).encode())
    for u in corpus.utterances:
        stat = os.stat(u.audio)
        h.update(f"{u.audio}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def save_features(path: Path, feats: list[Tensor]) -> None:
    """``feats`` as one safetensors file (``values`` ``(sum T_i, F)``, ``lengths`` ``(N,)``), written
    atomically (:func:`contrastkit.atomic.write_bytes_atomic`)."""
    from contrastkit.atomic import write_bytes_atomic
    from safetensors.torch import save

    write_bytes_atomic(path, save({"values": torch.cat(feats), "lengths": torch.tensor([len(f) for f in feats])}))


def load_features(path: Path, count: int) -> list[Tensor] | None:
    """The ``count`` feature tensors cached in ``path``, or None (with a warning naming the file)
    when the cache is unreadable or holds another number of utterances: the caller rebuilds it."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        flat = load_file(str(path))
        feats = list(torch.split(flat["values"], flat["lengths"].tolist()))
    except (SafetensorError, OSError, KeyError, RuntimeError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        warnings.warn(f"{path}: unreadable feature cache ({reason}); rebuilding it", stacklevel=3)
        return None
    if len(feats) != count:
        warnings.warn(f"{path}: the feature cache holds {len(feats)} utterances, the corpus {count}; rebuilding it",
                      stacklevel=3)
        return None
    return feats


def corpus_features(corpus: Corpus, kind: str = "logmel", n_mels: int = N_MELS, max_clipped: float = 0.01,
                    cache_dir: str | Path | None = None) -> list[Tensor]:
    """The features of every utterance of a file-based corpus, in order (cached when ``cache_dir``)."""
    path = Path(cache_dir) / "features" / f"{corpus.name}-{_key(corpus, kind, n_mels, max_clipped)}.safetensors" \
        if cache_dir else None
    if path is not None and path.is_file():
        cached = load_features(path, len(corpus.utterances))
        if cached is not None:
            return cached
    feats = [featurize(read_audio(u.audio, max_clipped=max_clipped), kind, n_mels) for u in corpus.utterances]
    if path is not None:
        save_features(path, feats)
    return feats
