"""The embedded default: a synthetic patient cohort with patient traits and a class pattern.

Each patient of class ``k`` gets one long multichannel recording::

    x_c(t) = g_c [ a_k sin(2 pi f_k t + phi) * burst(t) ]            class pattern (channels 0..C/2)
           + h_c sin(2 pi f_p t + psi_c)                              patient trait (own frequency, gains)
           + AR(1) noise e(t) = rho e(t-1) + sigma_p u(t)

with class frequency ``f_k`` shared by the class (3, 7, ... Hz), patient frequency ``f_p`` drawn
above the class band, channel gains
``g, h`` and noise level drawn per patient, so that trial and patient contrast both have
something to find, and the class is recoverable from a sample but not trivially.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from medts.data.hierarchy import Recording


def synthetic_recordings(
    n_classes: int = 2,
    patients_per_class: int = 8,
    seconds: float = 40.0,
    fs: float = 64.0,
    n_channels: int = 4,
    class_amplitude: float = 2.0,
    trait_amplitude: float = 0.5,
    seed: int = 0,
) -> list[Recording]:
    """One :class:`Recording` ``(seconds * fs, n_channels)`` per patient; labels ``"class<k>"``."""
    if n_classes < 2 or patients_per_class < 1 or n_channels < 1 or seconds <= 0 or fs <= 0:
        raise ValueError("synthetic: need n_classes >= 2, patients_per_class >= 1, n_channels >= 1, "
                         "seconds > 0, fs > 0")
    rng = np.random.default_rng(seed)
    n = int(round(seconds * fs))
    t = np.arange(n) / fs
    class_freq = np.linspace(3.0, 3.0 + 4.0 * (n_classes - 1), n_classes) + rng.uniform(-0.3, 0.3, n_classes)
    recs = []
    for k in range(n_classes):
        for p in range(patients_per_class):
            f_p = rng.uniform(0.16 * fs, 0.4 * fs)  # above the class band
            gains = rng.uniform(0.5, 1.5, n_channels) * (np.arange(n_channels) < max(n_channels // 2, 1))
            trait_gain = trait_amplitude * rng.uniform(0.5, 1.5, n_channels)
            burst = (np.sin(2 * np.pi * rng.uniform(0.2, 0.5) * t + rng.uniform(0, 6.3)) > -0.7).astype(float)
            pattern = class_amplitude * np.sin(2 * np.pi * class_freq[k] * t + rng.uniform(0, 6.3)) * burst
            trait = np.sin(2 * np.pi * f_p * t[:, None] + rng.uniform(0, 6.3, n_channels)) * trait_gain
            noise = lfilter([1.0], [1.0, -rng.uniform(0.3, 0.8)], rng.normal(0, rng.uniform(0.3, 0.6), (n, n_channels)), axis=0)
            x = pattern[:, None] * gains + trait + noise
            recs.append(Recording(x.astype(np.float32), fs, f"syn{k}_{p:02d}", f"class{k}",
                                  [f"ch{c}" for c in range(n_channels)], f"<synthetic seed={seed}>"))
    return recs
