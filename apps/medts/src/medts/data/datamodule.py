"""The LightningDataModule: cache (or synthetic build) -> patient split -> hierarchy batches."""

from __future__ import annotations

from dataclasses import asdict

import lightning as L
import numpy as np
import torch
from contrastkit.train.sampling import EpochShuffleSampler
from torch.utils.data import DataLoader, Dataset

from medts.data.build import Construction
from medts.data.hierarchy import HierarchicalSet
from medts.data.sampler import HierarchyBatchSampler
from medts.data.sources import Source, default_cache_dir, open_dataset
from medts.data.split import split_set


class SampleDataset(Dataset):
    """Samples of a :class:`HierarchicalSet` as dict batches (fetched a whole batch at a time):
    ``x`` ``(B, T, C)`` float32, ``label``, ``patient``, ``trial`` ``(B,)`` int64, ``index``."""

    def __init__(self, ds: HierarchicalSet) -> None:
        self.ds = ds

    def __len__(self) -> int:
        return self.ds.n_samples

    def __getitems__(self, idx: list[int]) -> dict[str, torch.Tensor]:
        i = np.asarray(idx)
        return {
            "x": torch.from_numpy(self.ds.samples(i)),
            "label": torch.from_numpy(self.ds.sample_label[i]),
            "patient": torch.from_numpy(self.ds.sample_patient[i]),
            "trial": torch.from_numpy(self.ds.sample_trial[i]),
            "index": torch.from_numpy(i.astype(np.int64)),
        }

    def __getitem__(self, i: int | list[int]) -> dict[str, torch.Tensor]:
        """One sample, or the collated batch of an index list (a batch-yielding sampler)."""
        if isinstance(i, list):
            return self.__getitems__(i)
        return {k: v[0] for k, v in self.__getitems__([i]).items()}


def _batch(items):
    return items  # __getitems__ already returns the collated batch


def loader(ds: HierarchicalSet, batch_size: int, *, hierarchy: bool = False, shuffle: bool = False,
           trials_per_packet: int = 2, seed: int = 0) -> DataLoader:
    """A DataLoader over ``ds``: hierarchy batches (pretraining), shuffled or ordered samples.

    The order of epoch ``e`` is a function of ``(seed, e)`` (both samplers have ``set_epoch``,
    which Lightning calls before each epoch), so a resumed fit sees the epochs it would have seen.
    Hierarchy batches without ``shuffle`` (validation, test) are the same at every evaluation.
    Under DDP the hierarchy sampler shards the training batches itself and gives every rank every
    evaluation batch (:mod:`medts.data.sampler`); the shuffled sample loader (fine-tuning) is
    sharded by Lightning's ``DistributedSamplerWrapper``.
    """
    data = SampleDataset(ds)
    if hierarchy:
        sampler = HierarchyBatchSampler(ds.sample_trial, ds.sample_patient, min(batch_size, max(ds.n_samples, 2)),
                                        trials_per_packet, seed, fixed=not shuffle)
        return DataLoader(data, sampler=sampler, batch_size=None, collate_fn=_batch)
    # a training batch of one sample would stop the head's BatchNorm; drop it (one sample an epoch)
    drop_last = shuffle and ds.n_samples % batch_size == 1 and ds.n_samples > 1
    return DataLoader(data, batch_size=batch_size, sampler=EpochShuffleSampler(ds.n_samples, seed, shuffle),
                      collate_fn=_batch, drop_last=drop_last)


class MedTSDataModule(L.LightningDataModule):
    """Pretraining data: hierarchy batches from the training patients, the validation patients
    for the validation losses.

    Args:
        source / construction: what to read and how to cut it (see :mod:`medts.data.sources`).
        cache_dir: the ``medts study --prepare_only true`` cache (written on first use when missing). None:
            ``<runs_root>/medts/cache/<hash of source and construction>`` for sources read from
            files, in memory for ``synthetic``. A cache built from another config is an error
            naming the differing fields (see :func:`medts.data.cache.check_cache_config`).
        runs_root: the run root the default cache folder sits under.
        rebuild_cache: replace a cache built from another config instead of failing.
        split: train/val/test patient fractions. split_seed: the split's (or the folds') seed.
        folds / fold: with ``folds > 0``, subject-wise k-fold cross-validation: this module's
            parts are fold ``fold`` of ``folds`` (:func:`medts.data.split.patient_folds`;
            ``split`` unused).
        batch_size / trials_per_packet / seed: the batch sampler.
    """

    def __init__(self, source: Source | None = None, construction: Construction | None = None,
                 cache_dir: str | None = None, runs_root: str = "runs", rebuild_cache: bool = False,
                 split: tuple[float, float, float] = (0.6, 0.2, 0.2), split_seed: int = 0, folds: int = 0,
                 fold: int = 0, batch_size: int = 128, trials_per_packet: int = 2, seed: int = 0) -> None:
        super().__init__()
        self.source = source or Source()
        self.construction = construction or Construction()
        if cache_dir is None and self.source.kind != "synthetic":
            cache_dir = str(default_cache_dir(self.source, self.construction, runs_root))
        self.cache_dir, self.rebuild_cache = cache_dir, rebuild_cache
        self.split, self.split_seed, self.folds, self.fold = tuple(split), split_seed, folds, fold
        self.batch_size, self.trials_per_packet, self.seed = batch_size, trials_per_packet, seed
        self.parts: dict[str, HierarchicalSet] | None = None
        self.save_hyperparameters({"source": asdict(self.source), "construction": asdict(self.construction),
                                   "cache_dir": cache_dir, "runs_root": runs_root, "rebuild_cache": rebuild_cache,
                                   "split": list(split), "split_seed": split_seed, "folds": folds, "fold": fold,
                                   "batch_size": batch_size, "trials_per_packet": trials_per_packet, "seed": seed})

    def setup(self, stage: str | None = None) -> None:
        if self.parts is None:
            ds = open_dataset(self.source, self.construction, self.cache_dir, self.rebuild_cache)
            self.parts = split_set(ds, self.split, self.split_seed, self.folds, self.fold)

    @property
    def n_channels(self) -> int:
        self.setup()
        return self.parts["train"].n_channels

    def train_dataloader(self) -> DataLoader:
        return loader(self.parts["train"], self.batch_size, hierarchy=True, shuffle=True,
                      trials_per_packet=self.trials_per_packet, seed=self.seed)

    def val_dataloader(self) -> DataLoader:
        return loader(self.parts["val"], self.batch_size, hierarchy=True,
                      trials_per_packet=self.trials_per_packet, seed=self.seed + 1)

    def test_dataloader(self) -> DataLoader:
        return loader(self.parts["test"], self.batch_size, hierarchy=True,
                      trials_per_packet=self.trials_per_packet, seed=self.seed + 2)


def with_runs_root(data: MedTSDataModule, runs_root: str) -> MedTSDataModule:
    """``data`` with its default cache folder under ``runs_root`` (a command's ``--runs_root``):
    a cache folder it was given explicitly (``data.cache_dir``) or a ``data.runs_root`` of its own
    are kept."""
    hp = dict(data.hparams)
    if hp["runs_root"] != "runs" or runs_root == "runs" or data.source.kind == "synthetic":
        return data
    if hp["cache_dir"] != str(default_cache_dir(data.source, data.construction, "runs")):
        return data
    return MedTSDataModule(**{**hp, "source": data.source, "construction": data.construction, "cache_dir": None,
                              "runs_root": runs_root})


def with_fold(data: MedTSDataModule, folds: int, fold: int) -> MedTSDataModule:
    """A datamodule of ``data``'s settings whose parts are fold ``fold`` of ``folds``
    (subject-wise k-fold, :func:`medts.data.split.patient_folds`)."""
    hp = dict(data.hparams)
    return MedTSDataModule(**{**hp, "source": data.source, "construction": data.construction, "folds": folds,
                              "fold": fold})
