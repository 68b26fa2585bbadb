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


def _scene_file(path, n_scenes, offset=0.0):
    """A Trajnet++ file of ``n_scenes`` two-pedestrian scenes of 21 frames (9 + 12), straight walks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scenes, tracks = [], []
    for s in range(n_scenes):
        f0 = s * 300
        scenes.append({"id": s, "p": 2 * s, "s": f0, "e": f0 + 200, "fps": 2.5, "tag": 1})
        for i in range(21):
            for k, p in enumerate((2 * s, 2 * s + 1)):
                tracks.append({"f": f0 + 10 * i, "p": p, "x": 0.4 * i + offset, "y": 1.0 * k - 0.01 * i})
    _ndjson(path.parent, scenes, tracks, path.name)


def test_trajnetpp_format_end_to_end(tmp_path):
    """The ETH/UCY command reads a Trajnet++ fold (format=trajnetpp): leave-one-scene-out by file name."""
    from motionfc.cli import main
    from motionfc.data.datamodule import EthUcyDataModule

    root = tmp_path / "trajnetpp"
    for split in ("train", "val"):
        for i, scene in enumerate(("biwi_hotel", "crowds_zara01", "biwi_eth")):
            _scene_file(root / split / f"{scene}.ndjson", 6, offset=i)
    _scene_file(root / "test" / "biwi_eth.ndjson", 4)
    _scene_file(root / "test" / "biwi_hotel.ndjson", 3)
    dm = EthUcyDataModule("eth", data_root=str(root), format="trajnetpp")
    dm.setup()
    assert sorted(dm.splits["train"]) == ["hotel", "zara1"] and list(dm.splits["test"]) == ["eth"]
    assert dm.obs_len == 9 and dm.splits["test"]["eth"].num_scenes == 4 and dm.splits["test"]["eth"].obs_len == 9
    metrics = main(["eth-ucy", "--format", "trajnetpp", "--data_root", str(root), "--fold", "eth", "--max_epochs", "[1, 1, 2]",
                    "--runs_root", str(tmp_path / "runs"), "--progress", "false"])
    assert np.isfinite(metrics["ade"]) and metrics["scored_stage"] == 3
    with pytest.raises(FileNotFoundError, match=r"test: no Trajnet\+\+ .ndjson file of the held-out scenes"):
        EthUcyDataModule("zara2", data_root=str(root), format="trajnetpp").setup()
    with pytest.raises(ValueError, match="unknown format"):
        EthUcyDataModule("eth", data_root=str(root), format="csv")
