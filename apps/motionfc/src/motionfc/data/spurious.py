"""The spurious feature of the paper's ETH/UCY study (Liu et al., CVPR 2022, Sec. 5.1).

An extra input channel for the observed steps, ``c_t = alpha_e (||v_{t+obs_len} - v_t|| + 1)``
for ``t = 0 .. obs_len - 1``, with ``v`` the displacements (``v_0 = 0``): it is computed from
the *future* velocities, so it predicts the target well, and its strength ``alpha_e`` differs
between environments (training: hotel 1, univ 2, zara1 4, zara2 8; test on eth with alpha 1..64),
which an invariant learner should discount. Values are rounded to 4 decimals as in the
official loader (vita-epfl/causalmotion ``spurious/trajectories.py``).
"""

from __future__ import annotations

import numpy as np

from motionfc.data.windows import SceneWindows

TRAIN_ALPHAS = {"hotel": 1.0, "univ": 2.0, "zara1": 4.0, "zara2": 8.0}
TEST_ALPHAS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)


def spurious_channel(w: SceneWindows, alpha: float) -> np.ndarray:
    """``(N, obs_len, 1)`` spurious channel of ``w`` with strength ``alpha``."""
    if w.fut_len < w.obs_len:
        raise ValueError(f"the spurious channel needs fut_len >= obs_len; got {w.fut_len} < {w.obs_len}")
    if not np.isfinite(alpha):
        raise ValueError(f"alpha must be finite; got {alpha}")
    rel = np.around(w.rel, 4)
    k = w.obs_len
    c = alpha * (np.linalg.norm(rel[:, k : 2 * k] - rel[:, :k], axis=-1) + 1.0)
    return np.around(c, 4)[..., None]


def with_spurious(w: SceneWindows, alpha: float) -> SceneWindows:
    """``w`` with the spurious channel as ``extra``."""
    return w.with_extra(spurious_channel(w, alpha))
