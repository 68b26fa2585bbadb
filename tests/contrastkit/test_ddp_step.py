"""contrastkit.testing.ddp: a module's step on 2 gloo ranks equals the full-batch step, and the
check fails when the loss does not gather (gather_across_ranks ignored)."""

from __future__ import annotations

import pytest
import torch
from contrastkit.functional import nt_xent_loss
from contrastkit.testing.ddp import assert_same_step, ddp_step_matches_full_batch
from contrastkit.train import ContrastiveModule
from torch import nn


class Toy(ContrastiveModule):
    def __init__(self, gather: bool = True) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.gather = gather
        self.net = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 4)).double()

    def compute_losses(self, batch, stage):
        x1, x2 = batch
        distributed = self.gather_across_ranks if self.gather else False
        return {"loss": nt_xent_loss(self.net(x1), self.net(x2), temperature=0.5, distributed=distributed)}


def make_gathering() -> nn.Module:
    return Toy(gather=True)


def make_local() -> nn.Module:
    return Toy(gather=False)


def step(module, batch):
    return module.compute_losses(batch, "train")["loss"]


def take(batch, rank, world):
    n = batch[0].shape[0] // world
    return tuple(x[rank * n:(rank + 1) * n] for x in batch)


def _batch():
    g = torch.Generator().manual_seed(1)
    return torch.randn(8, 5, generator=g, dtype=torch.float64), torch.randn(8, 5, generator=g, dtype=torch.float64)


def test_gathering_module_step_equals_the_full_batch_step():
    full, ranks = ddp_step_matches_full_batch(make_gathering, step, take, _batch())
    assert_same_step(full, ranks)


def test_a_module_that_does_not_gather_is_caught():
    full, ranks = ddp_step_matches_full_batch(make_local, step, take, _batch())
    with pytest.raises(AssertionError):
        assert_same_step(full, ranks)
