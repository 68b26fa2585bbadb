"""A batch sampler that keeps several samples of the same trial and patient in every batch.

COMET's trial and patient levels need positives inside the batch. The official code orders the
data once (trials shuffled, samples of a trial kept together) and fixes batch membership for
all epochs; here the packing is redrawn every epoch from ``(seed, epoch)``:

1. shuffle the samples inside each trial, and the trials of each patient;
2. cut each patient's trial list into packets of ``trials_per_packet`` trials;
3. shuffle all packets, concatenate, cut into batches of ``batch_size``, shuffle batch order.

Every batch then holds whole trials (all their samples) in groups of trials of one patient
(a trial is split only where a batch boundary falls inside it).

Under DDP (``world`` > 1 processes) the sampler shards itself: the training batches of an epoch
(``batch_size`` samples each: the batch size is per process) are taken ``world`` consecutive
ones at a time, in the order above, and rank ``r`` gets the ``r``-th of each group, so every rank
yields the same number of batches of the same size (the gathered losses need equal sizes) and
the global batch of a step, ``world * batch_size`` consecutive samples, is what one process with
that batch size would have packed. The final incomplete batch and group are dropped in training
(fewer than ``(world + 1) * batch_size`` samples an epoch, redrawn every epoch). Evaluation
(``fixed``) is not sharded: every rank yields every batch, so each rank computes the same
full-set validation loss as one process would, locally (no gather; see :mod:`medts.method`).

The sampler yields whole batches and is a :class:`~torch.utils.data.DistributedSampler` by type
only, so that Lightning (``use_distributed_sampler=True``) leaves it alone instead of wrapping it:
use it as ``DataLoader(dataset, sampler=..., batch_size=None)`` with a dataset that takes index
lists (:func:`medts.data.datamodule.loader`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from contrastkit.distributed import world as current_world
from torch.utils.data import DistributedSampler


class HierarchyBatchSampler(DistributedSampler):
    """Yield index lists; ``len(self)`` batches per epoch (on each rank).

    Args:
        trial: ``(N,)`` trial id of each sample. patient: ``(N,)`` patient id of each sample.
        batch_size: samples per batch. trials_per_packet: trials of one patient kept together.
        seed: base seed; epoch ``e`` draws from ``np.random.default_rng([seed, e])`` (the pair, not
            ``seed + e``, so that seeds ``s`` and ``s + 1`` are not the same orders shifted). Each ``__iter__`` call is one epoch and
            moves to the next; :meth:`set_epoch` (called by Lightning before each epoch) sets it,
            so a resumed fit replays the epochs an uninterrupted one would have seen.
        fixed: every ``__iter__`` yields epoch 0's batches (validation and test: the same batches
            at every evaluation, so that a resumed run evaluates on what an uninterrupted one would),
            all of them on every rank.
        rank / world: this process and the number of processes (default: torch.distributed's, or
            0 and 1); see the module docstring.
    """

    def __init__(self, trial: np.ndarray, patient: np.ndarray, batch_size: int, trials_per_packet: int = 2,
                 seed: int = 0, drop_last: bool = False, fixed: bool = False, rank: int | None = None,
                 world: int | None = None) -> None:
        # DistributedSampler.__init__ is not called: it needs a dataset and a process group; the
        # attributes Lightning and PyTorch read are set here
        default_rank, default_world = current_world()
        self.rank = default_rank if rank is None else rank
        self.num_replicas = default_world if world is None else world
        if not 0 <= self.rank < self.num_replicas:
            raise ValueError(f"rank must be in [0, {self.num_replicas}); got {self.rank}")
        self.shuffle = not fixed
        if batch_size < 2:
            raise ValueError(f"batch_size must be >= 2; got {batch_size}")
        if trials_per_packet < 1:
            raise ValueError(f"trials_per_packet must be >= 1; got {trials_per_packet}")
        self.trial, self.patient = np.asarray(trial), np.asarray(patient)
        self.batch_size, self.trials_per_packet = batch_size, trials_per_packet
        self.seed, self.drop_last, self.epoch, self.fixed = seed, drop_last, 0, fixed
        order = np.lexsort((self.trial, self.patient))
        self._trials = np.split(order, np.flatnonzero(np.diff(self.trial[order])) + 1)
        self._trial_patient = np.array([self.patient[t[0]] for t in self._trials])
        if self._sharded and len(self) == 0:
            raise ValueError(f"{len(self.trial)} samples make no training step on {self.num_replicas} processes "
                             f"of {batch_size} samples each: lower batch_size (it is per process) or the process count")

    @property
    def _sharded(self) -> bool:
        return self.num_replicas > 1 and not self.fixed

    def __len__(self) -> int:
        n = len(self.trial)
        if self._sharded:
            return n // self.batch_size // self.num_replicas
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def epoch_order(self, epoch: int) -> np.ndarray:
        """The sample order of ``epoch`` (before cutting into batches)."""
        rng = np.random.default_rng([self.seed, epoch])
        packets = []
        for p in np.unique(self._trial_patient):
            tids = rng.permutation(np.flatnonzero(self._trial_patient == p))
            for i in range(0, len(tids), self.trials_per_packet):
                packets.append(np.concatenate([rng.permutation(self._trials[t]) for t in tids[i:i + self.trials_per_packet]]))
        return np.concatenate([packets[i] for i in rng.permutation(len(packets))])

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``__iter__`` yield epoch ``epoch``'s batches."""
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[list[int]]:
        epoch = 0 if self.fixed else self.epoch
        self.epoch += 1
        order = self.epoch_order(epoch)
        rng = np.random.default_rng(self.seed + 10_001 + epoch)  # the batch order
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if (self.drop_last or self._sharded) and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        if self._sharded:  # step s: batches s*W .. s*W + W-1, this rank's is the rank-th
            w = self.num_replicas
            batches = [batches[s * w + self.rank] for s in range(len(batches) // w)]
        for b in rng.permutation(len(batches)):
            yield batches[b].tolist()
