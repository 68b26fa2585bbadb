"""Samplers whose order is a function of ``(seed, epoch)``, so that a resumed run replays exactly
the epochs an uninterrupted run would have seen.

A ``DataLoader(shuffle=True, generator=torch.Generator().manual_seed(seed))`` draws epoch ``e``'s
order from a generator that has advanced ``e`` times; a resumed fit builds a new loader and
replays epoch 0's order. Lightning calls ``set_epoch(current_epoch)`` on a loader's ``sampler``
(and on ``batch_sampler.sampler``) before each epoch; :class:`SetBatchSamplerEpoch` does the same
for a custom batch sampler itself, which Lightning leaves alone.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import CombinedLoader
from torch.utils.data import Sampler


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch ``epoch`` of a run seeded ``seed`` (both >= 0): the pair mixed by NumPy's
    ``SeedSequence`` into 63 bits. Not ``seed + epoch``, which would give the run seeded ``s + 1``
    the orders of the run seeded ``s`` shifted by one epoch (seeds that are not independent)."""
    if min(seed, epoch) < 0:
        raise ValueError(f"seed and epoch must be >= 0; got {seed}, {epoch}")
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1, np.uint64)[0] >> np.uint64(1))


class EpochShuffleSampler(Sampler[int]):
    """Indices ``0 .. n-1`` in the order ``torch.randperm(n, generator=epoch_seed(seed, epoch))``.

    Args:
        n: number of items (>= 1).
        seed: base seed (>= 0); epoch ``e`` uses :func:`epoch_seed` ``(seed, e)``.
        shuffle: False yields ``0 .. n-1`` in order (a drop-in for evaluation loaders).
    """

    def __init__(self, n: int, seed: int = 0, shuffle: bool = True) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int; got {n!r}")
        if int(seed) < 0:
            raise ValueError(f"seed must be >= 0; got {seed}")
        self.n, self.seed, self.shuffle, self.epoch = n, int(seed), shuffle, 0

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning before each epoch."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        if not self.shuffle:
            return iter(range(self.n))
        g = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch))
        return iter(torch.randperm(self.n, generator=g).tolist())


def _set_batch_sampler_epochs(loaders, epoch: int) -> None:
    for loader in loaders:
        batch_sampler = getattr(loader, "batch_sampler", None)
        if callable(getattr(batch_sampler, "set_epoch", None)):
            batch_sampler.set_epoch(epoch)


class SetBatchSamplerEpoch(Callback):
    """Calls ``set_epoch(current_epoch)`` on every training loader's batch sampler that has one
    (Lightning itself only reaches ``loader.sampler`` and ``loader.batch_sampler.sampler``)."""

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        loaders = trainer.train_dataloader  # a loader, a list or dict of them, or a CombinedLoader
        if not isinstance(loaders, CombinedLoader):
            loaders = CombinedLoader(loaders)
        _set_batch_sampler_epochs(loaders.flattened, trainer.current_epoch)
