"""Trajnet++ ndjson reader (Kothari, Kreiss and Alahi, "Human Trajectory Forecasting in Crowds:
A Deep Learning Perspective", T-ITS 2021).

One JSON object a line, either a track row
``{"track": {"f": frame, "p": ped, "x": x, "y": y}}`` or a scene
``{"scene": {"id": id, "p": primary_ped, "s": start_frame, "e": end_frame, "fps": 2.5, "tag": ...}}``.
Each scene becomes one window: the frames of the file between ``s`` and ``e`` (inclusive),
the primary pedestrian first, then every other pedestrian present in all of those frames.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from motionfc.data.windows import SceneWindows


def _num(obj: dict, key: str, where: str) -> float:
    if key not in obj:
        raise ValueError(f"{where}: missing field {key!r}")
    try:
        val = float(obj[key])
    except (TypeError, ValueError):
        raise ValueError(f"{where}: field {key!r} is not numeric: {obj[key]!r}") from None
    if not np.isfinite(val):
        raise ValueError(f"{where}: field {key!r} is NaN or inf")
    return val


def _int(obj: dict, key: str, where: str) -> int:
    """An integer field (frame, pedestrian, scene bounds): ``3.0`` is accepted, ``3.5`` is an error."""
    val = _num(obj, key, where)
    if val != int(val):
        raise ValueError(f"{where}: field {key!r} must be an integer, got {obj[key]!r}")
    return int(val)


def read_ndjson(path: str | Path) -> tuple[dict[tuple[int, int], tuple[float, float]], list[dict]]:
    """Parse a Trajnet++ file into ``{(frame, ped): (x, y)}`` and the list of scene dicts.

    Raises ValueError naming the file and line for invalid JSON, a missing, non-numeric or
    non-finite field, a non-integer frame, pedestrian or scene bound, or a pedestrian twice in
    one frame.
    """
    path = Path(path)
    tracks: dict[tuple[int, int], tuple[float, float]] = {}
    scenes: list[dict] = []
    with path.open() as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{where}: not valid JSON ({err.msg})") from None
            if "track" in obj:
                t = obj["track"]
                key = (_int(t, "f", where), _int(t, "p", where))
                if key in tracks:
                    raise ValueError(f"{where}: pedestrian {key[1]} appears twice in frame {key[0]}")
                tracks[key] = (_num(t, "x", where), _num(t, "y", where))
            elif "scene" in obj:
                s = obj["scene"]
                scenes.append({k: _int(s, k, where) for k in ("id", "p", "s", "e")} | {"where": where})
            else:
                raise ValueError(f"{where}: expected a 'track' or 'scene' object, got keys {sorted(obj)}")
    if not scenes:
        raise ValueError(f"{path}: no scenes")
    return tracks, scenes


def read_trajnetpp(path: str | Path, *, obs_len: int = 9, fut_len: int = 12, env: str = "") -> SceneWindows:
    """Windows of every scene of a Trajnet++ ndjson file.

    A scene must span exactly ``obs_len + fut_len`` frames and its primary pedestrian must be
    present in all of them (else ValueError naming the line). Neighbours not present in every
    frame are left out and counted in ``filtered["partial_neighbour"]``.
    """
    tracks, scenes = read_ndjson(path)
    frames_all = np.unique([f for f, _ in tracks])
    by_frame: dict[int, list[int]] = {}
    for f, p in tracks:
        by_frame.setdefault(f, []).append(p)
    trajs, sizes, partial = [], [], 0
    for sc in scenes:
        frames = frames_all[(frames_all >= sc["s"]) & (frames_all <= sc["e"])]
        if len(frames) != obs_len + fut_len:
            raise ValueError(f"{sc['where']}: scene {sc['id']} spans {len(frames)} frames, "
                             f"expected obs_len + fut_len = {obs_len + fut_len}")
        present = set(by_frame[int(frames[0])])
        for f in frames[1:]:
            present &= set(by_frame[int(f)])
        seen = set().union(*(by_frame[int(f)] for f in frames))
        if sc["p"] not in present:
            raise ValueError(f"{sc['where']}: primary pedestrian {sc['p']} of scene {sc['id']} is not in all its frames")
        partial += len(seen - present)
        order = [sc["p"]] + sorted(present - {sc["p"]})
        trajs.extend(np.array([tracks[(int(f), p)] for f in frames]) for p in order)
        sizes.append(len(order))
    ends = np.cumsum(sizes)
    sse = np.stack([ends - np.asarray(sizes), ends], axis=1).astype(np.int64)
    return SceneWindows(np.stack(trajs), sse, obs_len, env or Path(path).stem, None,
                        {"partial_neighbour": partial})


def trajnetpp_files(fold: str, split: str, root: str | Path) -> list[Path]:
    """The ``root/<split>/*.ndjson`` files of a leave-one-scene-out fold: ``test`` keeps the fold's
    held-out scenes (:data:`motionfc.data.eth_ucy.TEST_SCENES`, or the file named ``<fold>``),
    ``train`` and ``val`` every other file (Trajnet++ names its ETH/UCY files by scene)."""
    from motionfc.data.eth_ucy import TEST_SCENES

    if split not in ("train", "val", "test"):
        raise ValueError(f"unknown split {split!r}; expected train, val or test")
    held = set(TEST_SCENES.get(fold, (fold,)))
    folder = Path(root) / split
    files = [f for f in sorted(folder.glob("*.ndjson")) if (f.stem in held) == (split == "test")]
    if not files:
        which = "of the held-out scenes" if split == "test" else "other than the held-out scenes"
        raise FileNotFoundError(f"{folder}: no Trajnet++ .ndjson file {which} {sorted(held)} of fold {fold!r}")
    return files


def load_trajnetpp_fold(fold: str, split: str, root: str | Path, *, obs_len: int = 9,
                        fut_len: int = 12) -> dict[str, SceneWindows]:
    """Windows of a fold's split, grouped by environment (:data:`motionfc.data.eth_ucy.SCENE_ENV`
    of the file's scene name, else the file name): ``{"hotel": windows, ...}``."""
    from motionfc.data.eth_ucy import SCENE_ENV
    from motionfc.data.windows import concat_windows

    out: dict[str, list[SceneWindows]] = {}
    for f in trajnetpp_files(fold, split, root):
        env = SCENE_ENV.get(f.stem, f.stem)
        out.setdefault(env, []).append(read_trajnetpp(f, obs_len=obs_len, fut_len=fut_len, env=env))
    return {k: concat_windows(v, env=k) for k, v in out.items()}
