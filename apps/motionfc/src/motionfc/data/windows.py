"""The window format every reader produces: scenes of pedestrians over ``obs_len + fut_len`` frames.

A :class:`SceneWindows` holds many scenes (one scene = the pedestrians fully present in one
20-frame window), stacked pedestrian by pedestrian as in Social-GAN's ``TrajectoryDataset``
(Gupta et al., CVPR 2018): ``traj`` is ``(N, T, 2)`` absolute positions and ``seq_start_end``
``(S, 2)`` gives each scene's rows. Relative coordinates (displacements) are
``rel[:, 0] = 0``, ``rel[:, t] = traj[:, t] - traj[:, t - 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SceneWindows:
    """Scenes stacked pedestrian by pedestrian.

    Attributes:
        traj: ``(N, T, 2)`` float64 absolute positions (meters), ``T = obs_len + fut_len``.
        seq_start_end: ``(S, 2)`` int64, scene ``s`` owns rows ``start:end``.
        obs_len: number of observed frames (8 in the standard protocol).
        env: environment (scene or style) name.
        extra: optional ``(N, obs_len, C)`` extra input channels (the spurious feature).
        filtered: counts of rows/pedestrians/windows the reader dropped, by reason.
        ids: optional ``(N, 2)`` int64 ``[first frame id of the window, pedestrian id]`` of each
            row, when read from a ``frame ped x y`` file (what ``motionfc forecast`` writes back).
    """

    traj: np.ndarray
    seq_start_end: np.ndarray
    obs_len: int = 8
    env: str = ""
    extra: np.ndarray | None = None
    filtered: dict[str, int] = field(default_factory=dict)
    ids: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.traj.ndim != 3 or self.traj.shape[2] != 2:
            raise ValueError(f"traj must be (N, T, 2); got {self.traj.shape} ({self.env!r})")
        if not 1 < self.obs_len < self.traj.shape[1]:
            raise ValueError(f"obs_len={self.obs_len} must be in (1, T={self.traj.shape[1]})")
        sse = self.seq_start_end
        if sse.ndim != 2 or sse.shape[1] != 2:
            raise ValueError(f"seq_start_end must be (S, 2); got {sse.shape}")
        if len(sse) and (sse[0, 0] != 0 or sse[-1, 1] != len(self.traj) or (sse[1:, 0] != sse[:-1, 1]).any()
                         or (sse[:, 1] <= sse[:, 0]).any()):
            raise ValueError(f"seq_start_end does not tile the {len(self.traj)} rows of traj ({self.env!r})")
        if not np.isfinite(self.traj).all():
            raise ValueError(f"traj holds NaN or inf ({self.env!r})")
        if self.extra is not None and self.extra.shape[:2] != (len(self.traj), self.obs_len):
            raise ValueError(f"extra must be (N, obs_len, C); got {self.extra.shape}")
        if self.ids is not None and self.ids.shape != (len(self.traj), 2):
            raise ValueError(f"ids must be (N, 2); got {self.ids.shape}")

    @property
    def num_scenes(self) -> int:
        return len(self.seq_start_end)

    @property
    def num_peds(self) -> int:
        return len(self.traj)

    @property
    def seq_len(self) -> int:
        return self.traj.shape[1]

    @property
    def fut_len(self) -> int:
        return self.seq_len - self.obs_len

    @property
    def rel(self) -> np.ndarray:
        """``(N, T, 2)`` displacements, zero at ``t = 0``."""
        rel = np.zeros_like(self.traj)
        rel[:, 1:] = self.traj[:, 1:] - self.traj[:, :-1]
        return rel

    @property
    def obs(self) -> np.ndarray:
        return self.traj[:, : self.obs_len]

    @property
    def fut(self) -> np.ndarray:
        return self.traj[:, self.obs_len :]

    def __len__(self) -> int:
        return self.num_scenes

    def subset(self, scenes: np.ndarray | list[int]) -> SceneWindows:
        """The scenes of index ``scenes`` (in that order), as a new :class:`SceneWindows`."""
        scenes = np.asarray(scenes, dtype=np.int64)
        if scenes.size == 0:
            raise ValueError(f"empty scene selection for {self.env!r}")
        rows = np.concatenate([np.arange(*self.seq_start_end[s]) for s in scenes])
        sizes = self.seq_start_end[scenes, 1] - self.seq_start_end[scenes, 0]
        ends = np.cumsum(sizes)
        sse = np.stack([ends - sizes, ends], axis=1)
        extra = None if self.extra is None else self.extra[rows]
        ids = None if self.ids is None else self.ids[rows]
        return SceneWindows(self.traj[rows], sse, self.obs_len, self.env, extra, dict(self.filtered), ids)

    def with_extra(self, extra: np.ndarray) -> SceneWindows:
        return SceneWindows(self.traj, self.seq_start_end, self.obs_len, self.env, extra, dict(self.filtered), self.ids)


def concat_windows(parts: list[SceneWindows], env: str | None = None) -> SceneWindows:
    """Concatenate scene sets with the same ``obs_len`` and ``T`` (filter counts are summed)."""
    if not parts:
        raise ValueError("nothing to concatenate")
    if len({(p.obs_len, p.seq_len) for p in parts}) != 1:
        raise ValueError("all parts must share obs_len and seq_len")
    offsets = np.cumsum([0] + [p.num_peds for p in parts[:-1]])
    sse = np.concatenate([p.seq_start_end + o for p, o in zip(parts, offsets)])
    extras = [p.extra for p in parts]
    extra = None if any(e is None for e in extras) else np.concatenate(extras)
    filtered: dict[str, int] = {}
    for p in parts:
        for k, v in p.filtered.items():
            filtered[k] = filtered.get(k, 0) + v
    ids = None if any(p.ids is None for p in parts) else np.concatenate([p.ids for p in parts])
    return SceneWindows(np.concatenate([p.traj for p in parts]), sse, parts[0].obs_len,
                        env if env is not None else parts[0].env, extra, filtered, ids)


def windows_from_tracks(
    frames: np.ndarray,
    peds: np.ndarray,
    xy: np.ndarray,
    *,
    obs_len: int = 8,
    fut_len: int = 12,
    skip: int = 1,
    min_ped: int = 1,
    env: str = "",
    source: str = "",
) -> SceneWindows:
    """Social-GAN windows from ``frame ped x y`` rows.

    The convention of Social-GAN's ``TrajectoryDataset`` (and of causalmotion's copy of it):
    windows slide over the *sorted unique frame ids* (not over time: a gap in the frame ids is
    jumped over), ``seq_len = obs_len + fut_len`` frames, stride ``skip``; a pedestrian
    belongs to a window when it is present from its first to its last frame (all ``seq_len``
    frames); a window is kept when it has **more than** ``min_ped`` such pedestrians (so, with
    ``min_ped=1``, at least two). Positions are rounded to 4 decimals as there.

    Rows with a pedestrian seen twice in one frame are an error. A pedestrian whose rows in a
    window skip a frame (a gap in its track) is dropped from that window and counted in
    ``filtered["ped_with_gap"]`` (the real ETH/UCY files have none).

    Args:
        frames, peds: ``(R,)`` frame and pedestrian ids; ``xy``: ``(R, 2)`` positions.
    """
    seq_len = obs_len + fut_len
    if len(frames) == 0:
        raise ValueError(f"{source or env}: no rows")
    if skip < 1 or obs_len < 2 or fut_len < 1:
        raise ValueError(f"bad window config obs_len={obs_len} fut_len={fut_len} skip={skip}")
    uniq, frame_idx = np.unique(frames, return_inverse=True)
    if len(np.unique(np.stack([frame_idx, peds], axis=1), axis=0)) != len(peds):
        raise ValueError(f"{source or env}: a pedestrian appears twice in one frame")
    order = np.lexsort((peds, frame_idx))
    frame_idx, peds, xy = frame_idx[order], peds[order], np.around(xy[order], 4)
    starts = np.searchsorted(frame_idx, np.arange(len(uniq) + 1))
    trajs: list[np.ndarray] = []
    ids: list[tuple[int, int]] = []
    sizes: list[int] = []
    gaps = 0
    num_windows = max(0, -(-(len(uniq) - seq_len + 1) // skip))
    for w in range(0, num_windows * skip, skip):
        lo, hi = starts[w], starts[w + seq_len]
        f_w, p_w, xy_w = frame_idx[lo:hi] - w, peds[lo:hi], xy[lo:hi]
        scene, scene_ids = [], []
        for p in np.unique(p_w):
            m = p_w == p
            f = f_w[m]
            if f[0] != 0 or f[-1] != seq_len - 1:
                continue  # not present over the whole window
            if len(f) != seq_len:
                gaps += 1
                continue
            scene.append(xy_w[m])
            scene_ids.append((int(uniq[w]), int(p)))
        if len(scene) > min_ped:
            trajs.extend(scene)
            ids.extend(scene_ids)
            sizes.append(len(scene))
    if not sizes:
        raise ValueError(f"{source or env}: no window of {seq_len} frames with more than {min_ped} pedestrians")
    ends = np.cumsum(sizes)
    sse = np.stack([ends - np.asarray(sizes), ends], axis=1).astype(np.int64)
    return SceneWindows(np.stack(trajs).astype(np.float64), sse, obs_len, env, None, {"ped_with_gap": gaps},
                        np.asarray(ids, dtype=np.int64))
