"""The synthetic multi-style dataset of the paper's style study (Liu et al., CVPR 2022, Sec. 5.2).

Two-agent ORCA circle-crossing scenes, 20 frames at 2.5 fps (8 observed, 12 predicted); the
*style* of an environment is the agents' ORCA radius, i.e. their minimum separation
(``2 * radius`` between centres). Eight environments, radius 0.1 ... 0.8:
training 0.1, 0.3, 0.5; out-of-distribution interpolation 0.2, 0.4; extrapolation 0.6, 0.7, 0.8.
Generation is seeded per (seed, radius, split) and cached as ``.npz``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from motionfc.data.orca import OrcaConfig, circle_crossing_scenes
from motionfc.data.windows import SceneWindows

TRAIN_STYLES = (0.1, 0.3, 0.5)
INTER_STYLES = (0.2, 0.4)
EXTRA_STYLES = (0.6, 0.7, 0.8)
ALL_STYLES = tuple(sorted(TRAIN_STYLES + INTER_STYLES + EXTRA_STYLES))
SPLITS = ("train", "val", "test", "ref")


def default_cache_dir(runs_root: str | Path = "runs") -> Path:
    """``<runs_root>/motionfc/cache``: the simulation cache of every command (``--cache_dir`` overrides it)."""
    return Path(runs_root) / "motionfc" / "cache"


def env_name(radius: float) -> str:
    return f"{radius:.1f}"


def scenes_to_windows(scenes: np.ndarray, env: str, obs_len: int = 8) -> SceneWindows:
    """``(S, A, T, 2)`` scenes -> :class:`SceneWindows` with ``A`` pedestrians per scene."""
    s, a, t, _ = scenes.shape
    starts = np.arange(s, dtype=np.int64) * a
    return SceneWindows(scenes.reshape(s * a, t, 2).astype(np.float64), np.stack([starts, starts + a], 1), obs_len, env)


def style_scenes(radius: float, split: str, num_scenes: int, *, seed: int = 0, cache_dir: str | Path | None = None,
                 num_agents: int = 2, num_frames: int = 20, orca: dict | None = None) -> np.ndarray:
    """``(num_scenes, num_agents, num_frames, 2)`` scenes of one style and split, cached on disk.

    The random stream of each (seed, radius, split) is independent, so the splits never share
    scenes and adding a style does not change the others.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    cfg = OrcaConfig(radius=radius, **(orca or {}))
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    name = (f"orca_circle_crossing_{num_agents}ped_{num_scenes}scenes_{radius:.2f}radius_{cfg.time_horizon}horizon_"
            f"{cfg.sim_fps}fps_{num_frames}frames_seed{seed}_{split}.npz")
    path = cache / name
    if path.is_file():
        try:
            with np.load(path) as f:
                data = f["scenes"]
            if data.shape == (num_scenes, num_agents, num_frames, 2):
                return data
        except (OSError, ValueError, KeyError):
            pass  # corrupt or partial cache file: regenerate it
    stream = np.random.SeedSequence([seed, round(radius * 1000), SPLITS.index(split)])
    data = circle_crossing_scenes(num_scenes, cfg, seed=int(stream.generate_state(1)[0]), num_agents=num_agents,
                                  num_frames=num_frames)
    save_npz_atomic(path, scenes=data)
    return data


def save_npz_atomic(path: Path, **arrays: np.ndarray) -> None:
    """Write ``arrays`` to ``path`` (``.npz``) so that readers only ever see a whole file.

    The data goes to a temporary file of a unique name in the same folder, which then replaces
    ``path`` in one ``os.replace``: two processes writing the same cache entry at once each
    rename their own complete file (the last one wins; both hold the same data).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp.npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def style_dataset(radii: tuple[float, ...] | list[float], split: str, num_scenes: int, **kw) -> dict[str, SceneWindows]:
    """``{"0.1": windows, ...}`` for each radius (see :func:`style_scenes` for ``kw``)."""
    return {env_name(r): scenes_to_windows(style_scenes(r, split, num_scenes, **kw), env_name(r)) for r in radii}
