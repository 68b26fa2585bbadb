"""Features of a corpus: one ``(frames, n_mels)`` log-mel tensor per utterance (or ``(samples, 1)``
raw 16 kHz waves for a Wav2Vec2/HuBERT encoder), cached on disk.

The cache file is named by a hash of what made it (the files' paths, sizes and modification
times, or the synthetic config, and the feature settings) and written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
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
    """``feats`` as one safetensors file, written to a temporary name and then renamed."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    os.close(fd)
    try:
        save_file({"values": torch.cat(feats), "lengths": torch.tensor([len(f) for f in feats])}, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_features(path: Path) -> list[Tensor]:
    from safetensors.torch import load_file

    flat = load_file(str(path))
    return list(torch.split(flat["values"], flat["lengths"].tolist()))


def corpus_features(corpus: Corpus, kind: str = "logmel", n_mels: int = N_MELS, max_clipped: float = 0.01,
                    cache_dir: str | Path | None = None) -> list[Tensor]:
    """The features of every utterance of a file-based corpus, in order (cached when ``cache_dir``)."""
    path = Path(cache_dir) / "features" / f"{corpus.name}-{_key(corpus, kind, n_mels, max_clipped)}.safetensors" \
        if cache_dir else None
    if path is not None and path.is_file():
        return load_features(path)
    feats = [featurize(read_audio(u.audio, max_clipped=max_clipped), kind, n_mels) for u in corpus.utterances]
    if path is not None:
        save_features(path, feats)
    return feats
