"""Offline text-to-speech through espeak-ng, loaded with ctypes from the ``espeakng-loader`` wheel.

No system package and no network: the wheel ships ``libespeak-ng`` and its data folder. A voice is
``<language>+<variant>`` (``en-us+f3``); rate is in words per minute, pitch in 0..99. Synthesis is
synchronous (``AUDIO_OUTPUT_SYNCHRONOUS``): the callback collects 16-bit samples at the library's
rate (22,050 Hz), and :func:`synthesize` returns float32 in [-1, 1].

The library keeps synthesis state in static variables that survive ``espeak_Terminate`` (the
same call twice in one process gives slightly different waves), so :func:`synthesize_batch` runs
a list of utterances in a fresh process: the same list always gives the same waves.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

ACCENTS = ("en-us", "en-gb-x-rp", "en", "en-gb-scotland", "en-029", "en-us-nyc", "en-gb-x-gbclan",
           "en-gb-x-gbcwmd")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5")
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_RATE, _ESPEAK_PITCH = 1, 3
_CHARS_UTF8 = 1
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _Engine:
    """The process-wide espeak-ng library (it keeps global state, so one lock serializes calls)."""

    def __init__(self) -> None:
        import espeakng_loader

        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.restype = ctypes.c_int
        rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0,
                                          espeakng_loader.get_data_path().encode(), 0)
        if rate <= 0:
            raise RuntimeError(f"espeak-ng failed to initialize (data: {espeakng_loader.get_data_path()})")
        self.sample_rate = rate
        self.chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # kept alive: the library holds the pointer
        self.lib.espeak_SetSynthCallback(self._callback)
        self.lock = threading.Lock()

    def _collect(self, wav, n: int, events) -> int:
        if n > 0:
            self.chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0


_ENGINE: _Engine | None = None


def engine() -> _Engine:
    """The shared engine, created on first use."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = _Engine()
    return _ENGINE


def synthesize(text: str, voice: str = "en-us", rate: int = 175, pitch: int = 50, seed: int = 0) -> tuple[np.ndarray, int]:
    """Speak ``text`` with ``voice`` (``"en-us+f3"``), ``rate`` (80..450 wpm), ``pitch`` (0..99).

    Some voices add random noise (aspiration, jitter); ``espeak_ng_SetRandSeed(seed)`` before each
    call makes the wave a function of the arguments alone.

    Returns ``(wave, sample_rate)``: float32 ``(T,)`` in [-1, 1] and the engine's rate.
    """
    if not text.strip():
        raise ValueError("synthesize: empty text")
    eng = engine()
    with eng.lock:
        if eng.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice!r} (language+variant, e.g. 'en-us+f3')")
        eng.lib.espeak_SetParameter(_ESPEAK_RATE, int(rate), 0)
        eng.lib.espeak_SetParameter(_ESPEAK_PITCH, int(pitch), 0)
        eng.lib.espeak_ng_SetRandSeed(ctypes.c_long(seed))
        eng.chunks = []
        data = text.encode()
        status = eng.lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _CHARS_UTF8, None, None)
        if status != 0:
            raise RuntimeError(f"espeak-ng failed on {text!r} (status {status})")
        wave = np.concatenate(eng.chunks) if eng.chunks else np.zeros(0, np.int16)
    return (wave.astype(np.float32) / 32768.0), eng.sample_rate


def synthesize_batch(jobs: list[tuple[str, str, int, int]]) -> tuple[list[np.ndarray], int]:
    """``[(text, voice, rate, pitch), ...]`` spoken in order in a fresh process (module docstring);
    returns the waves and the sample rate."""
    with tempfile.TemporaryDirectory(prefix="slu-espeak-") as tmp:
        (Path(tmp) / "jobs.json").write_text(json.dumps(jobs))
        done = subprocess.run([sys.executable, "-m", "slu.data.espeak", tmp], capture_output=True, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"}, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"espeak-ng synthesis failed: {done.stderr.strip().splitlines()[-1:]}")
        flat = np.load(Path(tmp) / "waves.npz")
        lengths = flat["lengths"].tolist()
        waves = np.split(flat["samples"], np.cumsum(lengths)[:-1]) if lengths else []
        return list(waves), int(flat["rate"])


def _main(folder: str) -> None:
    jobs = json.loads((Path(folder) / "jobs.json").read_text())
    waves, rate = [], 22050
    for text, voice, r, p in jobs:
        wave, rate = synthesize(text, voice, r, p)
        waves.append(wave)
    np.savez(Path(folder) / "waves.npz", samples=np.concatenate(waves) if waves else np.zeros(0, np.float32),
             lengths=np.array([len(w) for w in waves]), rate=rate)


if __name__ == "__main__":
    _main(sys.argv[1])
