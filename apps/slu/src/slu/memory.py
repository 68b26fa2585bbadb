"""The class-balanced rehearsal memory of experience replay, with random or iCaRL herding selection.

The capacity is ``memory_percent`` % of the training set (the paper's 1 % and 2 %) or ``memory_per_class``
exemplars per class seen. After each task every class seen keeps ``capacity // classes``
exemplars (the first ``capacity % classes`` classes in the order seen keep one more). Each class's
exemplars are an ordered list (herding order, or a seeded random order), so shrinking a class
keeps its best-ranked exemplars, as in iCaRL.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def herding(features: Tensor, m: int) -> list[int]:
    """iCaRL herding (Rebuffi et al., CVPR 2017, Alg. 4): ``m`` rows of ``features`` ``(n, D)``
    (L2-normalized here) chosen one at a time so that the running mean of the chosen rows stays
    closest to the class mean ``mu``: ``p_k = argmin_i || mu - (sum_{j<k} f_pj + f_i) / k ||``.
    Returns row positions in selection order (no repeats)."""
    f = torch.nn.functional.normalize(features.double(), dim=1)
    n = f.shape[0]
    m = min(m, n)
    mu = f.mean(0)
    chosen: list[int] = []
    running = torch.zeros_like(mu)
    available = torch.ones(n, dtype=torch.bool)
    for k in range(1, m + 1):
        dist = ((mu[None, :] - (running[None, :] + f) / k) ** 2).sum(1)
        dist[~available] = float("inf")
        i = int(dist.argmin())
        chosen.append(i)
        available[i] = False
        running += f[i]
    return chosen


class RehearsalMemory:
    """Class-balanced exemplar memory.

    Args:
        train_size: the whole training set's size (for ``memory_percent``).
        memory_percent: capacity in % of ``train_size`` (1 and 2 in the paper; used when
            ``memory_per_class`` is None).
        memory_per_class: exemplars per class (overrides ``memory_percent``).
        selection: ``random`` or ``herding`` (iCaRL).
        seed: the random selection's seed.
    """

    def __init__(self, train_size: int, memory_percent: float = 1.0, memory_per_class: int | None = None,
                 selection: str = "random", seed: int = 0) -> None:
        if selection not in ("random", "herding"):
            raise ValueError(f"selection must be 'random' or 'herding'; got {selection!r}")
        if memory_per_class is None and not 0 < memory_percent <= 100:
            raise ValueError(f"memory_percent must be in (0, 100]; got {memory_percent}")
        self.capacity = None if memory_per_class is not None else max(1, round(train_size * memory_percent / 100))
        self.per_class, self.selection, self.seed = memory_per_class, selection, seed
        self.exemplars: dict[int, list[int]] = {}  # class id -> utterance indices, best first

    def quota(self, n_classes: int) -> list[int]:
        """Exemplars per class for ``n_classes`` classes, in the order they were seen."""
        if self.per_class is not None:
            return [self.per_class] * n_classes
        base, extra = divmod(self.capacity, n_classes)
        return [base + (k < extra) for k in range(n_classes)]

    def update(self, new: dict[int, list[int]], features: dict[int, Tensor] | None = None) -> None:
        """Add the classes of a finished task (``class id -> its training indices``) and shrink
        every class to its quota. ``features`` (class id -> ``(n, D)`` rows aligned with ``new``)
        are needed for herding."""
        quotas = dict(zip([*self.exemplars, *(c for c in new if c not in self.exemplars)],
                          self.quota(len(set(self.exemplars) | set(new)))))
        for c, idx in new.items():
            if self.selection == "herding":
                if features is None or c not in features:
                    raise ValueError(f"herding needs the features of class {c}")
                order = herding(features[c], quotas[c])  # only the first quota are ever kept
            else:
                order = np.random.default_rng([self.seed, c]).permutation(len(idx)).tolist()
            self.exemplars[c] = [idx[k] for k in order]
        for c, q in zip(list(self.exemplars), self.quota(len(self.exemplars))):
            self.exemplars[c] = self.exemplars[c][:q]

    def indices(self) -> list[int]:
        return [i for ids in self.exemplars.values() for i in ids]

    def state(self) -> dict:
        return {"exemplars": {str(c): v for c, v in self.exemplars.items()}}

    def load_state(self, state: dict) -> None:
        self.exemplars = {int(c): list(v) for c, v in state["exemplars"].items()}
