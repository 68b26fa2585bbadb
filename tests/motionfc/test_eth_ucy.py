"""The ETH/UCY loader against the published constant-velocity figures, and its errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from motionfc.data.eth_ucy import fold_files, load_fold, read_scene, read_tracks
from motionfc.data.windows import concat_windows
from motionfc.metrics import ade_fde
from motionfc.models.constant_velocity import constant_velocity

# Constant velocity, observe 8 / predict 12 (../shared/data/README.md).
CV_FIGURES = {
    "eth": (0.995, 2.234), "hotel": (0.323, 0.617), "univ": (0.524, 1.165),
    "zara1": (0.431, 0.960), "zara2": (0.326, 0.728),
}


@pytest.mark.realdata
@pytest.mark.parametrize("fold", sorted(CV_FIGURES))
def test_constant_velocity_reproduces_published_figures(eth_root, fold):
    w = concat_windows(list(load_fold(fold, "test", eth_root).values()))
    obs = torch.from_numpy(w.obs).float()  # float32 as the reference pipelines
    pred = constant_velocity(obs, w.fut_len)
    ade, fde = ade_fde(pred, torch.from_numpy(w.fut).float())
    assert (round(ade, 3), round(fde, 3)) == CV_FIGURES[fold]


@pytest.mark.realdata
def test_window_counts_and_layout(eth_root):
    w = read_scene(eth_root / "all_data" / "biwi_eth.txt")
    assert (w.num_scenes, w.num_peds, w.seq_len, w.obs_len) == (70, 181, 20, 8)
    sizes = w.seq_start_end[:, 1] - w.seq_start_end[:, 0]
    assert sizes.min() >= 2  # Social-GAN keeps windows with more than min_ped=1 pedestrians
    np.testing.assert_allclose(w.rel[:, 1:], np.diff(w.traj, axis=1))
    assert (w.rel[:, 0] == 0).all()


@pytest.mark.realdata
def test_folds_follow_the_readme(eth_root):
    names = lambda fold, split: sorted(p.name for p in fold_files(fold, split, eth_root))
    assert names("univ", "test") == ["students001.txt", "students003.txt"]
    assert "students001_train.txt" not in names("univ", "train")
    assert "uni_examples_train.txt" in names("univ", "train")
    assert len(names("eth", "train")) == 7 and "crowds_zara03_val.txt" in names("zara2", "val")
    envs = load_fold("eth", "train", eth_root, by_env=True)
    assert sorted(envs) == ["hotel", "univ", "zara1", "zara2"]


def _write(tmp_path, text, name="scene.txt"):
    p = tmp_path / name
    p.write_text(text)
    return p


def _grid(n_frames=20, peds=(1, 2)):
    return "".join(f"{10 * f}\t{p}\t{0.1 * f:.2f}\t{p:.2f}\n" for f in range(n_frames) for p in peds)


def test_bad_rows_name_file_and_line(tmp_path):
    with pytest.raises(ValueError, match=r"scene.txt:2: expected 4 fields"):
        read_tracks(_write(tmp_path, "0\t1\t0.0\t0.0\n10\t1\t0.5\n"))
    with pytest.raises(ValueError, match=r"scene.txt:1: non-numeric"):
        read_tracks(_write(tmp_path, "0\t1\tx\t0.0\n"))
    with pytest.raises(ValueError, match=r"NaN or inf"):
        read_tracks(_write(tmp_path, "0\t1\tnan\t0.0\n"))
    with pytest.raises(ValueError, match=r"empty file"):
        read_tracks(_write(tmp_path, "\n"))
    with pytest.raises(ValueError, match=r"ids must be integers"):
        read_tracks(_write(tmp_path, "0\t1.5\t0.0\t0.0\n"))
    with pytest.raises(ValueError, match=r"pedestrian 1 appears twice in frame 0 \(first at line "):
        read_scene(_write(tmp_path, _grid() + "0\t1\t3.0\t3.0\n"))
    with pytest.raises(ValueError, match=r"no window of 20 frames"):
        read_scene(_write(tmp_path, _grid(n_frames=19)))
    with pytest.raises(ValueError, match=r"no window of 20 frames"):
        read_scene(_write(tmp_path, _grid(peds=(1,))))  # one pedestrian is not a scene


def test_pedestrian_with_gap_is_dropped_and_counted(tmp_path):
    rows = [r for r in _grid(peds=(1, 2, 3)).splitlines(keepends=True) if not r.startswith("50\t3\t")]
    w = read_scene(_write(tmp_path, "".join(rows)))
    assert w.num_scenes == 1 and w.num_peds == 2 and w.filtered["ped_with_gap"] == 1
    np.testing.assert_allclose(w.traj[0, :, 0], 0.1 * np.arange(20))
