"""The LightningDataModule: read (or generate) sequences, split leave-one-out, serve batches.

``dataset`` is ``"synthetic"``, one of the ``seqrec_5core`` names (``Beauty``,
``Sports_and_Outdoors``, ``Toys_and_Games``, ``Yelp``, read from
``$CONTRASTKIT_DATA/seqrec_5core/`` with ``CONTRASTKIT_DATA`` defaulting to
``<repo>/../shared/data``), or a path to a ``.txt`` sequence file or a RecBole ``.inter`` file.

Each read is logged (logger ``seqrec``, one line per dataset: users, items and what the reader
skipped or dropped, :class:`seqrec.data.ReadReport`). Item ids are the reader's dense ones; the
source's id of item ``k`` is ``item_ids[k - 1]``.

The training order is a function of ``(seed, epoch)`` (:class:`EpochShuffleSampler`, whose
``set_epoch`` Lightning calls), so a resumed fit sees the epochs an uninterrupted one would.

Under DDP, Lightning wraps the training sampler in a ``DistributedSampler`` (each rank a distinct
``1/W`` of the users per epoch, padded to equal counts, the order a function of seed and epoch);
evaluation uses :class:`EvalShardSampler`, which Lightning leaves alone: rank ``r`` scores users
``r, r + W, ...``, every user exactly once, no padding.

Batches are dicts of tensors. Columns past the longest sequence in the batch are cut (inputs are
right-padded and the encoder is causal, so this changes nothing but the cost). Evaluation rows
are served sorted by length, which makes that cut effective; the metrics are means over users,
so the order does not matter.
"""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
import numpy as np
import torch
from contrastkit.distributed import world
from contrastkit.paths import data_root
from contrastkit.train.sampling import EpochShuffleSampler
from torch import Tensor
from torch.utils.data import DataLoader, DistributedSampler

from seqrec.data.recbole import read_inter_file
from seqrec.data.sequences import SequenceData, read_sequence_file
from seqrec.data.split import EvalSet, LeaveOneOut, TrainSet, leave_one_out
from seqrec.data.synthetic import make_synthetic, synthetic_settings

REAL_DATASETS = ("Beauty", "Sports_and_Outdoors", "Toys_and_Games", "Yelp")
log = logging.getLogger("seqrec")


def _read(dataset: str, synthetic: dict | None) -> SequenceData:
    if dataset == "synthetic":
        return make_synthetic(**(synthetic or {}))
    if dataset in REAL_DATASETS:
        path = data_root() / "seqrec_5core" / f"{dataset}.txt"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: set CONTRASTKIT_DATA to the folder holding seqrec_5core/")
        return read_sequence_file(path)
    path = Path(dataset)
    if path.suffix == ".inter":
        return read_inter_file(path)
    if path.suffix == ".txt" or path.is_file():
        return read_sequence_file(path)
    raise ValueError(f"dataset must be 'synthetic', one of {REAL_DATASETS} or a .txt/.inter path; got {dataset!r}")


def load_sequences(dataset: str, synthetic: dict | None = None) -> SequenceData:
    """Resolve ``dataset`` (module docstring) to :class:`SequenceData`, logging one line about it."""
    data = _read(dataset, synthetic)
    log.info("read %s: %d users, %d items; %s", data.source, len(data.sequences), data.num_items,
             data.report.summary())
    return data


class EvalShardSampler(DistributedSampler):
    """Rows ``rank, rank + W, rank + 2W, ...`` of ``0 .. n-1`` (all of them on one process): every
    row is evaluated exactly once over the ranks, without the padding rows (repeats) of a plain
    ``DistributedSampler``. Ranks may hold one row fewer, and so a batch fewer; the metric means are
    weighted by rows and synced once at the end, so the whole-set mean stays exact. A
    ``DistributedSampler`` so that Lightning does not wrap it again.

    Args:
        n: number of rows (>= 1).
    """

    def __init__(self, n: int) -> None:
        rank, size = world()
        super().__init__(range(n), num_replicas=size, rank=rank, shuffle=False, drop_last=False)
        self.n = n

    def __iter__(self):
        return iter(range(self.rank, self.n, self.num_replicas))

    def __len__(self) -> int:
        return len(range(self.rank, self.n, self.num_replicas))


class _Batches:
    """Collate a list of row indices into a dict of row slices, cut to the longest sequence."""

    def __init__(self, tensors: dict[str, Tensor], cut: tuple[str, ...]) -> None:
        self.tensors, self.cut = tensors, cut

    def __call__(self, rows: list[int]) -> dict[str, Tensor]:
        idx = torch.as_tensor(rows)
        out = {k: v[idx] for k, v in self.tensors.items()}
        width = int(out["length"].max())
        for k in self.cut:
            if out[k].dim() == 2:
                out[k] = out[k][:, :width]
        if "history" in out:
            out["history"] = out["history"][:, : max(int((out["history"] > 0).sum(1).max()), 1)]
        return out


def _train_tensors(t: TrainSet) -> dict[str, Tensor]:
    return {"input": t.inputs, "length": t.lengths, "target": t.targets}


def _eval_tensors(e: EvalSet) -> dict[str, Tensor]:
    order = torch.argsort(e.lengths, stable=True)
    return {"input": e.inputs[order], "length": e.lengths[order], "target": e.targets[order],
            "history": e.history[order]}


class SeqRecDataModule(L.LightningDataModule):
    """Leave-one-out sequential recommendation data (see module docstring).

    Args:
        dataset: ``"synthetic"``, a ``seqrec_5core`` name or a file path.
        max_len: maximum input length (50 in the paper).
        train_form: ``"shifted"`` (one row per user, loss at every position) or ``"prefix"``.
        batch_size: training rows per batch and process (256 in the paper); under DDP with W
            processes a step sees W * batch_size rows, and the contrastive terms draw their
            negatives from all of them.
        eval_batch_size: users per evaluation batch (and process).
        synthetic: keyword arguments of :func:`seqrec.data.synthetic.make_synthetic` (numbers; e.g.
            ``--data.synthetic.num_topics 4``); an unknown name, a fraction where a count is
            expected, or settings that disagree (more topics than items) are errors naming the field.
        seed: shuffling seed of the training loader (epoch ``e`` uses
            ``contrastkit.train.sampling.epoch_seed(seed, e)``).
    """

    def __init__(
        self,
        dataset: str = "synthetic",
        max_len: int = 50,
        train_form: str = "shifted",
        batch_size: int = 256,
        eval_batch_size: int = 1024,
        synthetic: dict[str, int | float] | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        synthetic = synthetic_settings(synthetic) or None  # checked here, before any run folder exists
        for name, value in (("max_len", max_len), ("batch_size", batch_size), ("eval_batch_size", eval_batch_size)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1; got {value}")
        self.save_hyperparameters()
        self.data: SequenceData | None = None
        self.split: LeaveOneOut | None = None

    def prepare_split(self) -> LeaveOneOut:
        """Load and split once (idempotent); also used outside a Trainer."""
        if self.split is None:
            hp = self.hparams
            self.data = load_sequences(hp.dataset, hp.synthetic)
            self.split = leave_one_out(self.data, hp.max_len, hp.train_form)
        return self.split

    def setup(self, stage: str | None = None) -> None:
        self.prepare_split()

    @property
    def num_items(self) -> int:
        return self.prepare_split().num_items

    @property
    def item_ids(self) -> list:
        """The source's id of item ``k`` at index ``k - 1`` (``1..N`` when the ids are the source's own)."""
        self.prepare_split()
        ids = self.data.item_ids
        return (np.arange(1, self.data.num_items + 1) if ids is None else ids).tolist()

    def _loader(self, tensors: dict[str, Tensor], batch_size: int, train: bool) -> DataLoader:
        n = tensors["input"].shape[0]
        sampler = EpochShuffleSampler(n, self.hparams.seed) if train else EvalShardSampler(n)
        return DataLoader(range(n), batch_size=batch_size, sampler=sampler,
                          collate_fn=_Batches(tensors, ("input", "target")), num_workers=0)

    def train_dataloader(self) -> DataLoader:
        """Shuffled training rows; under DDP Lightning shards them (module docstring)."""
        return self._loader(_train_tensors(self.prepare_split().train), self.hparams.batch_size, True)

    def val_dataloader(self) -> DataLoader:
        """Validation users sorted by length; under DDP this rank's share (:class:`EvalShardSampler`)."""
        return self._loader(_eval_tensors(self.prepare_split().valid), self.hparams.eval_batch_size, False)

    def test_dataloader(self) -> DataLoader:
        """Test users sorted by length; under DDP this rank's share (:class:`EvalShardSampler`)."""
        return self._loader(_eval_tensors(self.prepare_split().test), self.hparams.eval_batch_size, False)
