"""Reading an audio file with the checks every audio app needs, once (``soundfile`` underneath).

:func:`read_audio_file` returns ``(wave (T,) float32, rate)`` or raises :class:`AudioError`
naming the file and the problem:

- unreadable or not audio; a WAV whose ``data`` chunk declares more bytes than the file holds
  (a truncated download or copy: libsndfile would quietly read the part that is there);
- empty, or shorter than ``min_samples`` (a 1-sample clip has no spectrum to speak of);
- NaN or infinite samples; float samples far outside [-1, 1] (``max_abs``: a file of raw counts
  or a broken float export, which would dominate every feature it enters).

The channel policy is the same in every app: several channels are averaged to mono, with one
``logging`` notice naming the file and the channel count (``contrastkit.audio`` logger).
``soundfile`` is imported on first use; the core does not depend on it.
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path

import numpy as np

log = logging.getLogger("contrastkit.audio")

MAX_ABS = 16.0  # float files a little above full scale are common; 1e6 is not audio


class AudioError(ValueError):
    """A bad audio file; the message starts with its path."""


def wav_data_shortfall(path: str | Path) -> tuple[int, int] | None:
    """``(declared, present)`` data bytes when ``path`` is a RIFF/WAVE file whose ``data`` chunk
    declares more bytes than the file holds after the chunk header; None otherwise (complete, or
    not a WAV: other formats are left to libsndfile's own checks)."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return None
        order = "<" if head[:4] == b"RIFF" else ">"
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, chunk_size = struct.unpack(order + "4sI", f.read(8))
            if chunk_id == b"data":
                present = size - (pos + 8)
                return (chunk_size, present) if chunk_size > present and chunk_size != 0xFFFFFFFF else None
            pos += 8 + chunk_size + (chunk_size & 1)  # chunks are padded to an even length
    return None


def read_audio_file(path: str | Path, *, min_samples: int = 160, max_abs: float = MAX_ABS) -> tuple[np.ndarray, int]:
    """Read ``path`` as mono float32 ``(T,)`` at its own rate; returns ``(wave, rate)``.

    Args:
        path: any format soundfile reads (WAV, FLAC, Ogg...).
        min_samples: fewer samples than this is an error (default 160: 10 ms at 16 kHz, one hop
            of the usual log-mel front end).
        max_abs: the largest magnitude a sample may have.

    Raises:
        AudioError: naming ``path`` and the problem (see the module docstring).
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    shortfall = wav_data_shortfall(path)
    if shortfall is not None:
        declared, present = shortfall
        raise AudioError(f"{path}: truncated WAV: its header declares {declared:,} data bytes, the file holds "
                         f"{present:,}; copy or download it again")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as error:  # noqa: BLE001  (soundfile raises LibsndfileError, RuntimeError, TypeError...)
        first = str(error).splitlines()[0] if str(error) else repr(error)
        raise AudioError(f"{path}: unreadable audio ({first})") from None
    if data.shape[0] == 0:
        raise AudioError(f"{path}: empty audio (0 samples)")
    if data.shape[0] < min_samples:
        raise AudioError(f"{path}: {data.shape[0]} samples ({1000 * data.shape[0] / rate:.1f} ms at {rate} Hz); "
                         f"at least {min_samples} are needed")
    if not np.isfinite(data).all():
        raise AudioError(f"{path}: {int((~np.isfinite(data)).sum())} NaN or infinite samples")
    peak = float(np.abs(data).max())
    if peak > max_abs:
        raise AudioError(f"{path}: samples reach {peak:.3g}, far outside [-1, 1] (more than {max_abs:g}); "
                         "is it raw integer counts stored as float? Scale it to [-1, 1]")
    if data.shape[1] > 1:
        log.warning("%s: %d channels, averaged to mono", path, data.shape[1])
        return np.ascontiguousarray(data.mean(axis=1), dtype=np.float32), int(rate)
    return np.ascontiguousarray(data[:, 0]), int(rate)
