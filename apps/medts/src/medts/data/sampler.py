"""A batch sampler that keeps several samples of the same trial and patient in every batch.

COMET's trial and patient levels need positives inside the batch. The official code orders the
data once (trials shuffled, samples of a trial kept together) and fixes batch membership for
all epochs; here the packing is redrawn every epoch from ``seed + epoch``:

1. shuffle the samples inside each trial, and the trials of each patient;
2. cut each patient's trial list into packets of ``trials_per_packet`` trials;
3. shuffle all packets, concatenate, cut into batches of ``batch_size``, shuffle batch order.

Every batch then holds whole trials (all their samples) in groups of trials of one patient.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler


class HierarchyBatchSampler(Sampler[list[int]]):
    """Yield index lists; ``len(self)`` batches per epoch.

    Args:
        trial: ``(N,)`` trial id of each sample. patient: ``(N,)`` patient id of each sample.
        batch_size: samples per batch. trials_per_packet: trials of one patient kept together.
        seed: base seed; epoch ``e`` uses ``seed + e``. Each ``__iter__`` call is one epoch and
            moves to the next; :meth:`set_epoch` (called by Lightning before each epoch) sets it,
            so a resumed fit replays the epochs an uninterrupted one would have seen.
        fixed: every ``__iter__`` yields epoch 0's batches (validation and test: the same batches
            at every evaluation, so that a resumed run evaluates on what an uninterrupted one would).
    """

    def __init__(self, trial: np.ndarray, patient: np.ndarray, batch_size: int, trials_per_packet: int = 2,
                 seed: int = 0, drop_last: bool = False, fixed: bool = False) -> None:
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

    def __len__(self) -> int:
        n = len(self.trial)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def epoch_order(self, epoch: int) -> np.ndarray:
        """The sample order of ``epoch`` (before cutting into batches)."""
        rng = np.random.default_rng(self.seed + epoch)
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
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        for b in rng.permutation(len(batches)):
            yield batches[b].tolist()
