"""The Trajnet++ ndjson reader on a small file written here."""

from __future__ import annotations

import json

import numpy as np
import pytest
from motionfc.data.trajnetpp import read_trajnetpp


def _ndjson(tmp_path, scenes, tracks, name="tiny.ndjson"):
    lines = [json.dumps({"scene": s}) for s in scenes] + [json.dumps({"track": t}) for t in tracks]
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n")
    return p


def _tracks(peds, frames):
    return [{"f": f, "p": p, "x": 0.4 * i + p, "y": -p} for i, f in enumerate(frames) for p in peds]


def test_scenes_become_windows(tmp_path):
    frames = list(range(0, 210, 10))  # 21 frames: 9 observed + 12 predicted
    tracks = _tracks([7, 3], frames) + _tracks([5], frames[4:])  # ped 5 enters late
    path = _ndjson(tmp_path, [{"id": 0, "p": 7, "s": 0, "e": 200, "fps": 2.5, "tag": 1}], tracks)
    w = read_trajnetpp(path)
    assert (w.num_scenes, w.num_peds, w.seq_len, w.obs_len) == (1, 2, 21, 9)
    np.testing.assert_allclose(w.traj[0, :, 0], 0.4 * np.arange(21) + 7)  # primary first
    np.testing.assert_allclose(w.traj[1, :, 1], -3.0)
    assert w.filtered["partial_neighbour"] == 1


def test_bad_input(tmp_path):
    frames = list(range(0, 210, 10))
    with pytest.raises(ValueError, match=r"bad.ndjson:1: not valid JSON"):
        (tmp_path / "bad.ndjson").write_text("{oops\n")
        read_trajnetpp(tmp_path / "bad.ndjson")
    with pytest.raises(ValueError, match=r"missing field 'y'"):
        read_trajnetpp(_ndjson(tmp_path, [{"id": 0, "p": 1, "s": 0, "e": 200}], [{"f": 0, "p": 1, "x": 1.0}]))
    with pytest.raises(ValueError, match=r"spans 11 frames"):
        read_trajnetpp(_ndjson(tmp_path, [{"id": 0, "p": 1, "s": 0, "e": 100}], _tracks([1], frames)))
    with pytest.raises(ValueError, match=r"primary pedestrian 9"):
        read_trajnetpp(_ndjson(tmp_path, [{"id": 0, "p": 9, "s": 0, "e": 200}], _tracks([1], frames)))
    with pytest.raises(ValueError, match=r"no scenes"):
        read_trajnetpp(_ndjson(tmp_path, [], _tracks([1], frames)))
