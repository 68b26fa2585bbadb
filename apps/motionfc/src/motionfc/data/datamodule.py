"""LightningDataModules of the two studies.

Training draws one batch from every training environment per step (the heterogeneous batches
of the official code: a ``CombinedLoader`` in ``min_size`` mode, so an epoch is as long as the
smallest environment allows); validation and test run one loader per environment.

Under DDP (several processes): Lightning shards each training environment's loader by rank (it
wraps the :class:`~contrastkit.train.sampling.EpochShuffleSampler` in a
``DistributedSamplerWrapper``, which pads an environment to a multiple of the world size), so a
step still draws one batch of every environment on each rank, each batch from one environment,
and every rank runs the same number of steps with equally sized batches (the style loss gathers
them). ``batch_size`` is per process: a step sees ``world_size x batch_size`` scenes of each
environment. Validation and test loaders are sharded here without padding
(``UnrepeatedDistributedSampler``, which Lightning leaves alone): every scene is scored exactly
once, and the ADE/FDE metric objects sum their counts over the ranks
(:class:`~motionfc.metrics.DisplacementError`).
"""

from __future__ import annotations

import os
from functools import partial

import lightning as L
from lightning.pytorch.utilities import CombinedLoader
from torch.utils.data import DataLoader

from motionfc.data.batching import SceneDataset, collate_scenes
from motionfc.data.windows import SceneWindows


class EnvDataModule(L.LightningDataModule):
    """Holds ``{env: SceneWindows}`` per split and the environment labels; subclasses fill them."""

    def __init__(self, batch_size: int = 64, seed: int = 0) -> None:
        super().__init__()
        self.batch_size, self.seed = batch_size, seed
        self.splits: dict[str, dict[str, SceneWindows]] = {}
        self.labels: dict[str, int] = {}

    def env_batch_size(self, env: str) -> int:
        return self.batch_size

    def shuffle_seed(self, env: str) -> int:
        """The training-order seed of ``env``: the run's seed (the one ``seed_everything`` set,
        which Lightning keeps in ``PL_GLOBAL_SEED``; ``seed`` when none was set) and the
        environment's label. Every run seed draws its own batch order, as the official code's
        loaders do (the data itself stays that of ``seed``), and the environments are shuffled
        independently of each other."""
        run_seed = int(os.environ.get("PL_GLOBAL_SEED", self.seed))
        return run_seed * 1000 + self.labels.get(env, 0)

    def _loader(self, w: SceneWindows, shuffle: bool) -> DataLoader:
        """One environment's loader. Its order is a function of ``(shuffle_seed, epoch)`` only
        (:class:`~contrastkit.train.sampling.EpochShuffleSampler`, whose ``set_epoch`` Lightning
        calls before each epoch), so a resumed fit sees the epochs an uninterrupted one would."""
        from contrastkit.distributed import world
        from contrastkit.train.sampling import EpochShuffleSampler
        from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler

        ds = SceneDataset(w, self.labels.get(w.env, -1))
        rank, size = world()
        if shuffle or size == 1:
            sampler = EpochShuffleSampler(len(ds), self.shuffle_seed(w.env), shuffle)
        else:  # evaluation under DDP: rank r scores scenes r, r + W, ... (no repeats)
            sampler = UnrepeatedDistributedSampler(ds, num_replicas=size, rank=rank, shuffle=False)
        return DataLoader(ds, batch_size=self.env_batch_size(w.env), sampler=sampler,
                          collate_fn=partial(collate_scenes, obs_len=w.obs_len))

    def train_dataloader(self):
        return CombinedLoader({e: self._loader(w, True) for e, w in self.splits["train"].items()}, mode="min_size")

    def val_dataloader(self):
        return [self._loader(w, False) for w in self.splits["val"].values()]

    def test_dataloader(self):
        return [self._loader(w, False) for w in self.splits["test"].values()]


class StyleDataModule(EnvDataModule):
    """The synthetic style study: ORCA circle crossing, one environment per radius."""

    def __init__(self, train_styles: tuple[float, ...] = (0.1, 0.3, 0.5), test_styles: tuple[float, ...] = (
            0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8), num_train: int = 1000, num_val: int = 200, num_test: int = 500,
            num_ref: int = 64, batch_size: int = 64, seed: int = 0, cache_dir: str | None = None) -> None:
        super().__init__(batch_size, seed)
        self.save_hyperparameters()

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        from motionfc.data.synthetic import env_name, style_dataset

        hp = self.hparams
        kw = {"seed": hp.seed, "cache_dir": hp.cache_dir}
        self.labels = {env_name(r): i for i, r in enumerate(sorted(hp.train_styles))}
        for r in sorted(hp.test_styles):
            self.labels.setdefault(env_name(r), len(self.labels))
        self.splits = {
            "train": style_dataset(hp.train_styles, "train", hp.num_train, **kw),
            "val": style_dataset(hp.train_styles, "val", hp.num_val, **kw),
            "test": style_dataset(hp.test_styles, "test", hp.num_test, **kw),
            "ref": style_dataset(hp.test_styles, "ref", hp.num_ref, **kw),
        }


# The official heterogeneous batch sizes of the ETH/UCY environments (causalmotion utils.py).
ETH_UCY_BATCH = {"hotel": 7, "univ": 30, "zara1": 16, "zara2": 38, "eth": 1}


# Observed frames of each file format (ETH/UCY: Social-GAN's 8; Trajnet++: 9), 12 predicted.
FORMATS = {"eth_ucy": 8, "trajnetpp": 9}


class EthUcyDataModule(EnvDataModule):
    """A leave-one-scene-out fold, environments = scenes; optionally the spurious feature.

    Args:
        fold: the held-out scene(s): eth, hotel, univ, zara1, zara2 (Trajnet++: also any file name).
        data_root: the data folder; ``format="eth_ucy"``: the Social-GAN ``raw`` layout (default
            ``$CONTRASTKIT_DATA/eth_ucy/raw``, see :mod:`motionfc.data.eth_ucy`);
            ``format="trajnetpp"``: ``train/``, ``val/`` and ``test/`` folders of Trajnet++
            ``.ndjson`` files named by scene (required), see
            :func:`motionfc.data.trajnetpp.trajnetpp_files`.
        format: "eth_ucy" (``frame ped x y`` text, 8 observed frames) or "trajnetpp" (ndjson,
            9 observed frames, as Trajnet++).
        spurious: add the spurious channel (ETH/UCY, fold eth only); test_alpha: its test alpha.
        batch_size: scenes per batch (0: the official per-environment sizes).
        seed: shuffling and subsampling seed; max_train_scenes: subsample train/val (0: all).
    """

    def __init__(self, fold: str = "eth", data_root: str | None = None, spurious: bool = False,
                 test_alpha: float = 1.0, batch_size: int = 0, seed: int = 0, max_train_scenes: int = 0,
                 format: str = "eth_ucy") -> None:
        super().__init__(batch_size, seed)
        if format not in FORMATS:
            raise ValueError(f"unknown format {format!r}; expected one of {sorted(FORMATS)}")
        if format == "trajnetpp" and not data_root:
            raise ValueError("format='trajnetpp' needs data_root: a folder with train/, val/ and test/ .ndjson files")
        if spurious and (fold != "eth" or format != "eth_ucy"):
            raise ValueError("the spurious-feature setting trains on hotel/univ/zara1/zara2 and tests on eth "
                             f"(ETH/UCY files); got fold={fold!r}, format={format!r}")
        self.obs_len = FORMATS[format]
        self.save_hyperparameters()

    def env_batch_size(self, env: str) -> int:
        return self.batch_size or ETH_UCY_BATCH.get(env, 64)

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        import numpy as np

        from motionfc.data.eth_ucy import load_fold
        from motionfc.data.spurious import TRAIN_ALPHAS, with_spurious
        from motionfc.data.trajnetpp import load_trajnetpp_fold

        hp = self.hparams
        if hp.format == "trajnetpp":
            self.splits = {s: load_trajnetpp_fold(hp.fold, s, hp.data_root) for s in ("train", "val", "test")}
        else:
            self.splits = {s: load_fold(hp.fold, s, hp.data_root, by_env=True) for s in ("train", "val", "test")}
        if hp.max_train_scenes:
            rng = np.random.default_rng(hp.seed)
            for s in ("train", "val"):
                self.splits[s] = {e: w.subset(np.sort(rng.permutation(w.num_scenes)[: hp.max_train_scenes]))
                                  for e, w in self.splits[s].items()}
        self.labels = {e: i for i, e in enumerate(sorted(self.splits["train"]))}
        self.labels[hp.fold] = len(self.labels)
        if hp.spurious:
            for s in ("train", "val"):
                self.splits[s] = {e: with_spurious(w, TRAIN_ALPHAS[e]) for e, w in self.splits[s].items()}
            self.splits["test"] = {e: with_spurious(w, hp.test_alpha) for e, w in self.splits["test"].items()}
