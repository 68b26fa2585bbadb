"""The spurious channel against a loop over the definition."""

from __future__ import annotations

import numpy as np
import pytest
from motionfc.data.spurious import spurious_channel, with_spurious
from motionfc.data.windows import SceneWindows


def test_channel_matches_definition():
    rng = np.random.default_rng(0)
    traj = np.cumsum(rng.normal(size=(3, 20, 2)) * 0.3, axis=1)
    w = SceneWindows(traj, np.array([[0, 3]]))
    c = spurious_channel(w, 4.0)
    assert c.shape == (3, 8, 1)
    for i in range(3):
        v = np.zeros((20, 2))
        v[1:] = np.around(traj[i, 1:] - traj[i, :-1], 4)
        for t in range(8):
            assert c[i, t, 0] == pytest.approx(4.0 * (np.linalg.norm(v[t + 8] - v[t]) + 1), abs=1e-4)
    assert with_spurious(w, 2.0).extra.shape == (3, 8, 1)
    with pytest.raises(ValueError, match="finite"):
        spurious_channel(w, float("nan"))
