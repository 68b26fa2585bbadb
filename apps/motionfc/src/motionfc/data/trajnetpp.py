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


def read_ndjson(path: str | Path) -> tuple[dict[tuple[int, int], tuple[float, float]], list[dict]]:
    """Parse a Trajnet++ file into ``{(frame, ped): (x, y)}`` and the list of scene dicts."""
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
                key = (int(_num(t, "f", where)), int(_num(t, "p", where)))
                if key in tracks:
                    raise ValueError(f"{where}: pedestrian {key[1]} appears twice in frame {key[0]}")
                tracks[key] = (_num(t, "x", where), _num(t, "y", where))
            elif "scene" in obj:
                s = obj["scene"]
                scenes.append({k: int(_num(s, k, where)) for k in ("id", "p", "s", "e")} | {"where": where})
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
