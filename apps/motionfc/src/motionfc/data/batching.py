"""Scene datasets and the collate function: scenes of any size into one padded-free batch.

A batch is a dict (time after pedestrians, all float32)::

    obs, obs_rel   (N, obs_len, 2)     absolute positions / displacements (obs_rel[:, 0] = 0)
    fut, fut_rel   (N, fut_len, 2)
    extra          (N, obs_len, C)     only when the windows carry extra channels
    seq_start_end  (S, 2)              rows of each scene
    env            (S,)                integer environment label of each scene
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from motionfc.data.windows import SceneWindows


class SceneDataset(Dataset):
    """One item = one scene of a :class:`SceneWindows`, labelled with environment ``label``."""

    def __init__(self, windows: SceneWindows, label: int = 0) -> None:
        if windows.num_scenes == 0:
            raise ValueError(f"environment {windows.env!r} has no scenes")
        self.w, self.label = windows, int(label)
        self.rel = windows.rel

    def __len__(self) -> int:
        return self.w.num_scenes

    def __getitem__(self, i: int) -> dict[str, np.ndarray | int]:
        a, b = self.w.seq_start_end[i]
        item = {"traj": self.w.traj[a:b], "rel": self.rel[a:b], "env": self.label}
        if self.w.extra is not None:
            item["extra"] = self.w.extra[a:b]
        return item


def collate_scenes(items: list[dict], obs_len: int = 8) -> dict[str, torch.Tensor]:
    """Stack scene items into a batch dict (see the module docstring)."""
    sizes = np.array([len(it["traj"]) for it in items])
    ends = np.cumsum(sizes)
    traj = torch.from_numpy(np.concatenate([it["traj"] for it in items])).float()
    rel = torch.from_numpy(np.concatenate([it["rel"] for it in items])).float()
    batch = {
        "obs": traj[:, :obs_len], "fut": traj[:, obs_len:],
        "obs_rel": rel[:, :obs_len], "fut_rel": rel[:, obs_len:],
        "seq_start_end": torch.from_numpy(np.stack([ends - sizes, ends], 1)).long(),
        "env": torch.tensor([it["env"] for it in items], dtype=torch.long),
    }
    if "extra" in items[0]:
        batch["extra"] = torch.from_numpy(np.concatenate([it["extra"] for it in items])).float()
    return batch


def full_batch(windows: SceneWindows, label: int = 0) -> dict[str, torch.Tensor]:
    """All scenes of ``windows`` as one batch."""
    ds = SceneDataset(windows, label)
    return collate_scenes([ds[i] for i in range(len(ds))], windows.obs_len)
