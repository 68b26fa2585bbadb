"""The LightningDataModule: a caption manifest (or a training set built from clips) into batches.

A batch is ``{"audio": (B, T) float, "lengths": (B,), "captions": [B], "negatives": [B][K],
"positives": [B][P], "negative_audio": (B, T'), "negative_lengths": (B,)}``; captions are tokenized by
the model (the tokenizer is the model's).

Under DDP (W processes), ``batch_size`` is per process: Lightning shards the training order
(:class:`~contrastkit.train.EpochShuffleSampler`, wrapped in its ``DistributedSamplerWrapper``,
which pads with repeats to equal shares) and a step's losses see the ``W * batch_size`` global
batch. Validation runs on the whole validation set on every rank (:class:`WholeSetSampler`), with
the losses local: every rank computes the same full-set figure, equal to one process's.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import torch
from contrastkit.distributed import world
from contrastkit.train import EpochShuffleSampler, is_rank_zero
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from audiolang.data.audio import load_audio
from audiolang.data.build import ClipConfig, build_training_set
from audiolang.data.manifest import CaptionItem, read_manifest


def pad(waves: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, T_max)`` zero-padded and lengths ``(B,)``."""
    lengths = torch.tensor([len(w) for w in waves])
    out = torch.zeros(len(waves), int(lengths.max()))
    for i, w in enumerate(waves):
        out[i, : len(w)] = torch.from_numpy(w)
    return out, lengths


def check_files_exist(manifest: str | Path, items: list[CaptionItem], negative_audio: bool) -> None:
    """Raise ``FileNotFoundError`` naming ``manifest``, how many of its audio files (and negative
    audio files when ``negative_audio``) are missing and the first few, before any training: a
    missing file would otherwise stop the run only when a batch draws it, epochs later."""
    files = [i.audio for i in items] + ([i.negative_audio for i in items if i.negative_audio] if negative_audio else [])
    missing = [str(f) for f in dict.fromkeys(files) if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"{manifest}: {len(missing)} of {len(set(files))} audio files are missing: "
                                + ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""))


class CaptionDataset(Dataset):
    """Items of a manifest with their first K negatives and P positives (audio read on access)."""

    def __init__(self, items: list[CaptionItem], sample_rate: int, num_negatives: int, num_positives: int,
                 negative_audio: bool) -> None:
        self.items, self.rate = items, sample_rate
        self.k, self.p, self.negative_audio = num_negatives, num_positives, negative_audio
        if negative_audio:
            missing = [str(i.audio) for i in items if i.negative_audio is None]
            if missing:
                raise ValueError(f"negative audio is required (text_hard_negatives) but {len(missing)} items lack "
                                 f"'negative_audio', e.g. {missing[0]}")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        item = self.items[i]
        out = {"audio": load_audio(item.audio, self.rate), "caption": item.captions[0],
               "negatives": list(item.negatives[: self.k]), "positives": list(item.positives[: self.p])}
        if self.negative_audio:
            out["negative_audio"] = load_audio(item.negative_audio, self.rate)
        return out


def collate(rows: list[dict]) -> dict:
    audio, lengths = pad([r["audio"] for r in rows])
    batch = {"audio": audio, "lengths": lengths, "captions": [r["caption"] for r in rows],
             "negatives": [r["negatives"] for r in rows], "positives": [r["positives"] for r in rows]}
    if "negative_audio" in rows[0]:
        batch["negative_audio"], batch["negative_lengths"] = pad([r["negative_audio"] for r in rows])
    return batch


class WholeSetSampler(DistributedSampler):
    """``0 .. n-1`` in order on every rank: each rank evaluates the whole set (one process's
    figure, no padding repeats). A ``DistributedSampler`` so that Lightning does not shard it.

    Args:
        n: number of items (>= 1).
    """

    def __init__(self, n: int) -> None:
        super().__init__(range(n), num_replicas=1, rank=0, shuffle=False)
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self) -> int:
        return self.n


class AudioTextDataModule(L.LightningDataModule):
    """Training data for the three stages.

    Args:
        manifest: a CSV/JSONL caption manifest; None builds a training set from ``clips``.
        build_size: compositions built when ``manifest`` is None.
        clips: clip sources for the built set (its test groups are left out).
        cache_dir: where built sets are cached; None: ``<runs_root>/audiolang/cache`` of the run
            training on it (the runs folder three levels above the trainer's run folder
            ``<runs_root>/audiolang/<name>/version_K``), ``runs/audiolang/cache`` outside a run.
        num_negatives: K hard negatives per item (items with fewer are dropped and counted).
        num_positives: P sub-compositions per item (idem).
        negative_audio: load each item's negative audio (for ``text_hard_negatives``).
        batch_size: items per batch, per process under DDP (the global batch is ``W * batch_size``).
        val_fraction: items held out for validation (the last ones after a seeded shuffle).
        seed: the split and the epoch order.
        num_workers: DataLoader workers.
        test_manifest: the manifest ``test`` scores; None: ``test_size`` compositions built from
            the test groups of ``clips`` (clips training never uses); with a ``manifest`` given
            and no ``test_manifest``, ``test`` is refused.
        test_size: compositions of the built test set.
    """

    def __init__(self, manifest: str | None = None, build_size: int = 1000, clips: ClipConfig = ClipConfig(),  # noqa: B008
                 cache_dir: str | None = None, num_negatives: int = 3, num_positives: int = 2,
                 negative_audio: bool = False, batch_size: int = 32, val_fraction: float = 0.1, seed: int = 0,
                 num_workers: int = 0, test_manifest: str | None = None, test_size: int = 200) -> None:
        super().__init__()
        if not 0 <= val_fraction < 1:
            raise ValueError(f"val_fraction must be in [0, 1); got {val_fraction}")
        self.manifest, self.build_size, self.clips, self.cache_dir = manifest, build_size, clips, cache_dir
        self.k, self.p, self.negative_audio = num_negatives, num_positives, negative_audio
        self.batch_size, self.val_fraction, self.seed, self.num_workers = batch_size, val_fraction, seed, num_workers
        self.test_manifest, self.test_size = test_manifest, test_size
        self.report = None

    def prepare_data(self) -> None:
        """Build the training set once per machine before the ranks read it (Lightning calls this on
        each node's first process, then lets the others go on to :meth:`setup`)."""
        if self.manifest is None:
            build_training_set(self.cache(), self.build_size, self.seed, self.clips)

    def cache(self) -> Path:
        """The folder built sets are cached in (``cache_dir``, see the class docstring)."""
        if self.cache_dir is not None:
            return Path(self.cache_dir)
        run = Path(self.trainer.default_root_dir) if self.trainer is not None else None
        if run is not None and run.name.startswith("version_") and run.parent.parent.name == "audiolang":
            return run.parent.parent / "cache"
        return Path("runs") / "audiolang" / "cache"

    def setup(self, stage: str | None = None) -> None:
        if stage == "test":
            self._setup_test()
            return
        if getattr(self, "train_set", None) is not None:
            return
        path = self.manifest or build_training_set(self.cache(), self.build_size, self.seed, self.clips)
        items, self.report = read_manifest(path, min_negatives=self.k, min_positives=self.p)
        if is_rank_zero():
            print(f"audiolang: {self.report}", flush=True)
        if len(items) < 2:
            raise ValueError(f"{path}: {len(items)} usable items (need >= 2); {self.report}")
        check_files_exist(path, items, self.negative_audio)
        order = np.random.default_rng(self.seed).permutation(len(items))
        n_val = int(round(self.val_fraction * len(items)))
        make = lambda idx: CaptionDataset([items[i] for i in idx], self.clips.sample_rate, self.k, self.p,
                                          self.negative_audio)
        self.train_set = make(order[n_val:] if n_val else order)
        self.val_set = make(order[:n_val]) if n_val >= 2 else None
        self.source = str(Path(path))

    def train_dataloader(self) -> DataLoader:
        """Shuffled by ``(seed, epoch)``; the incomplete last batch is dropped when this process's
        share (``ceil(n / W)`` items under DDP) holds more than one batch."""
        share = -(-len(self.train_set) // world()[1])
        return DataLoader(self.train_set, self.batch_size, sampler=EpochShuffleSampler(len(self.train_set), self.seed),
                          collate_fn=collate, num_workers=self.num_workers, drop_last=share > self.batch_size)

    def _setup_test(self) -> None:
        """The test set: ``test_manifest``, or the compositions built from the test groups' clips."""
        if getattr(self, "test_set", None) is not None:
            return
        if self.test_manifest is None and self.manifest is not None:
            raise ValueError(f"--data.manifest {self.manifest} has no built test set: give --data.test_manifest FILE")
        path = self.test_manifest or build_training_set(self.cache(), self.test_size, self.seed, self.clips, test=True)
        items, report = read_manifest(path, min_negatives=self.k, min_positives=self.p)
        if is_rank_zero():
            print(f"audiolang test set: {report}", flush=True)
        if not items:
            raise ValueError(f"{path}: no usable test items; {report}")
        check_files_exist(path, items, self.negative_audio)
        self.test_set = CaptionDataset(items, self.clips.sample_rate, self.k, self.p, self.negative_audio)

    def test_dataloader(self) -> DataLoader:
        """The whole test set in order, on every rank (:class:`WholeSetSampler`)."""
        return DataLoader(self.test_set, self.batch_size, sampler=WholeSetSampler(len(self.test_set)),
                          collate_fn=collate, num_workers=self.num_workers)

    def val_dataloader(self) -> DataLoader | list:
        """The whole validation set in order, on every rank (:class:`WholeSetSampler`)."""
        if self.val_set is None:
            return []
        return DataLoader(self.val_set, self.batch_size, sampler=WholeSetSampler(len(self.val_set)), collate_fn=collate,
                          num_workers=self.num_workers)
