"""ETH/UCY ``frame ped x y`` files and the five leave-one-scene-out folds.

Files: one row per (frame, pedestrian), tab- or space-separated ``frame_id ped_id x y``, meters,
2.5 frames/s (Pellegrini et al., ICCV 2009; Lerner et al., 2007), in the Social-GAN layout
``raw/all_data/<scene>.txt``, ``raw/train/<scene>_train.txt``, ``raw/val/<scene>_val.txt``.

Folds (Social-GAN / STGAT / causalmotion): the test scene(s) from ``all_data``, training and
validation from the ``train`` and ``val`` splits of every other scene (for univ the other six:
neither students001 nor students003).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motionfc.data.windows import SceneWindows, concat_windows, windows_from_tracks
from motionfc.paths import eth_ucy_root

SCENES = (
    "biwi_eth", "biwi_hotel", "crowds_zara01", "crowds_zara02", "crowds_zara03",
    "students001", "students003", "uni_examples",
)
FOLDS = ("eth", "hotel", "univ", "zara1", "zara2")
TEST_SCENES = {
    "eth": ("biwi_eth",),
    "hotel": ("biwi_hotel",),
    "univ": ("students001", "students003"),
    "zara1": ("crowds_zara01",),
    "zara2": ("crowds_zara02",),
}
# The causalmotion environment of each scene file (the spurious study's environments).
SCENE_ENV = {
    "biwi_eth": "eth", "biwi_hotel": "hotel", "crowds_zara01": "zara1", "crowds_zara02": "zara2",
    "crowds_zara03": "zara2", "students001": "univ", "students003": "univ", "uni_examples": "univ",
}


def read_tracks(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse a ``frame ped x y`` file into ``frames (R,)``, ``peds (R,)`` and ``xy (R, 2)``.

    Raises ValueError naming the file and line for a row without exactly four fields, a
    non-numeric or non-finite value, a non-integer frame or pedestrian id, a pedestrian seen
    twice in one frame (naming the frame, the pedestrian and both lines), or an empty file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such ETH/UCY file")
    rows = []
    seen: dict[tuple[int, int], int] = {}  # (frame, ped) -> line
    with path.open() as fh:
        for lineno, line in enumerate(fh, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 4:
                raise ValueError(f"{path}:{lineno}: expected 4 fields 'frame ped x y', got {len(fields)}: {line!r}")
            try:
                vals = [float(v) for v in fields]
            except ValueError:
                raise ValueError(f"{path}:{lineno}: non-numeric value in {line.strip()!r}") from None
            if not np.isfinite(vals).all():
                raise ValueError(f"{path}:{lineno}: NaN or inf in {line.strip()!r}")
            if vals[0] != int(vals[0]) or vals[1] != int(vals[1]):
                raise ValueError(f"{path}:{lineno}: frame and pedestrian ids must be integers: {line.strip()!r}")
            key = (int(vals[0]), int(vals[1]))
            if key in seen:
                raise ValueError(f"{path}:{lineno}: pedestrian {key[1]} appears twice in frame {key[0]} "
                                 f"(first at line {seen[key]})")
            seen[key] = lineno
            rows.append(vals)
    if not rows:
        raise ValueError(f"{path}: empty file (no 'frame ped x y' rows)")
    data = np.asarray(rows, dtype=np.float64)
    return data[:, 0].astype(np.int64), data[:, 1].astype(np.int64), data[:, 2:4]


def read_scene(path: str | Path, *, obs_len: int = 8, fut_len: int = 12, skip: int = 1,
               min_ped: int = 1, env: str | None = None) -> SceneWindows:
    """Standard windows of one ETH/UCY file (see :func:`windows_from_tracks`)."""
    path = Path(path)
    frames, peds, xy = read_tracks(path)
    return windows_from_tracks(frames, peds, xy, obs_len=obs_len, fut_len=fut_len, skip=skip,
                               min_ped=min_ped, env=env or scene_of(path), source=str(path))


def scene_of(path: str | Path) -> str:
    """``biwi_eth_train.txt`` -> ``biwi_eth``."""
    stem = Path(path).stem
    for suffix in ("_train", "_val"):
        stem = stem.removesuffix(suffix)
    return stem


def fold_files(fold: str, split: str, root: str | Path | None = None) -> list[Path]:
    """Files of ``split`` (``train``, ``val`` or ``test``) of a leave-one-scene-out ``fold``."""
    if fold not in TEST_SCENES:
        raise ValueError(f"unknown fold {fold!r}; expected one of {FOLDS}")
    root = Path(root) if root is not None else eth_ucy_root()
    if split == "test":
        files = [root / "all_data" / f"{s}.txt" for s in TEST_SCENES[fold]]
    elif split in ("train", "val"):
        held_out = set(TEST_SCENES[fold])
        files = [root / split / f"{s}_{split}.txt" for s in SCENES if s not in held_out]
    else:
        raise ValueError(f"unknown split {split!r}; expected train, val or test")
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"ETH/UCY fold {fold}/{split}: missing {missing} (set CONTRASTKIT_DATA)")
    return files


def load_fold(fold: str, split: str, root: str | Path | None = None, *, by_env: bool = False,
              **window_kw) -> dict[str, SceneWindows]:
    """Windows of a fold's split: ``{scene_file_name: windows}``, or grouped by causalmotion
    environment (``{"hotel": ..., "univ": ..., ...}``) when ``by_env``."""
    out: dict[str, list[SceneWindows]] = {}
    for f in fold_files(fold, split, root):
        name = SCENE_ENV[scene_of(f)] if by_env else scene_of(f)
        out.setdefault(name, []).append(read_scene(f, env=name, **window_kw))
    return {k: concat_windows(v, env=k) for k, v in out.items()}
