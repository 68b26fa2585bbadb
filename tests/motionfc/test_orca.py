"""The ORCA simulator's invariants and the cached, seeded style dataset."""

from __future__ import annotations

import numpy as np
import pytest
from motionfc.data.orca import OrcaConfig, circle_crossing_scenes, sample_circle_crossing, simulate
from motionfc.data.synthetic import style_dataset, style_scenes


@pytest.mark.parametrize("radius", [0.1, 0.4, 0.8])
def test_agents_keep_their_separation_and_reach_their_goals(radius):
    cfg = OrcaConfig(radius=radius)
    rng = np.random.default_rng(3)
    for _ in range(5):
        start, goal = sample_circle_crossing(rng, 2, cfg)
        path = simulate(start, goal, cfg, num_frames=40, record_every_step=True)  # 16 s, every sim step
        gap = np.linalg.norm(path[0] - path[1], axis=-1)
        assert gap.min() >= 2 * radius - 1e-3  # ORCA: centres at least 2 radius apart
        assert np.linalg.norm(path[:, -1] - goal, axis=-1).max() < 0.05
        speed = np.linalg.norm(np.diff(path, axis=1), axis=-1) * cfg.sim_fps
        assert speed.max() <= cfg.max_speed + 1e-4


def test_four_agents_keep_separation():
    cfg = OrcaConfig(radius=0.3)
    start, goal = sample_circle_crossing(np.random.default_rng(0), 4, cfg)
    path = simulate(start, goal, cfg, num_frames=40, record_every_step=True)
    d = np.linalg.norm(path[:, None] - path[None], axis=-1)
    assert d[~np.eye(4, dtype=bool)].min() >= 0.6 - 1e-3


def test_styles_differ_in_separation_and_frames_are_at_2_5_fps():
    near = circle_crossing_scenes(40, OrcaConfig(radius=0.1), seed=1)
    far = circle_crossing_scenes(40, OrcaConfig(radius=0.8), seed=1)
    assert near.shape == (40, 2, 20, 2)
    gap = lambda s: np.linalg.norm(s[:, 0] - s[:, 1], axis=-1).min(axis=1)
    assert gap(far).min() >= 1.6 - 1e-3 and np.median(gap(near)) < np.median(gap(far))
    step = np.linalg.norm(np.diff(far, axis=2), axis=-1)
    assert step.max() <= 1.0 / 2.5 + 1e-4  # at most 1 m/s


def test_generation_is_seeded_and_cached(tmp_path):
    a = style_scenes(0.3, "train", 8, seed=5, cache_dir=tmp_path)
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1
    np.testing.assert_array_equal(a, style_scenes(0.3, "train", 8, seed=5, cache_dir=tmp_path))
    files[0].write_bytes(b"corrupt")  # a broken cache file is regenerated, not trusted
    np.testing.assert_array_equal(a, style_scenes(0.3, "train", 8, seed=5, cache_dir=tmp_path / "other"))
    np.testing.assert_array_equal(a, style_scenes(0.3, "train", 8, seed=5, cache_dir=tmp_path))
    assert not np.allclose(a, style_scenes(0.3, "test", 8, seed=5, cache_dir=tmp_path))
    w = style_dataset([0.1, 0.5], "val", 4, seed=0, cache_dir=tmp_path)
    assert sorted(w) == ["0.1", "0.5"] and w["0.5"].num_scenes == 4 and w["0.5"].num_peds == 8


def test_bad_config():
    with pytest.raises(ValueError, match="radius"):
        OrcaConfig(radius=0.0)
    with pytest.raises(ValueError, match="multiple of frame_rate"):
        OrcaConfig(sim_fps=7.0)
    with pytest.raises(ValueError, match="unknown split"):
        style_scenes(0.3, "dev", 4)
