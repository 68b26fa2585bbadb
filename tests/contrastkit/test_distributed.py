"""Two CPU processes (gloo) reproduce the single-process full-batch loss and gradients.

Each rank holds half of a float64 batch; embeddings are ``x @ theta`` with a shared ``theta``
(the "model"). Every gathering loss runs with ``distributed=True``; the gradients are then
averaged over ranks as DDP averages them (all-reduce sum / world size) and compared with the
full batch in one process:

* the mean of the ranks' losses equals the full-batch loss;
* the averaged ``theta`` gradient equals the full-batch ``theta`` gradient;
* each rank's input gradient, divided by the world size, equals the full-batch gradient of its
  rows (the gather's backward sums every rank's contribution into the owner).

A second check wraps a small MLP in ``torch.nn.parallel.DistributedDataParallel`` and compares
its (DDP-averaged) parameter gradients with the full-batch gradients of the same MLP.
"""

from __future__ import annotations

from pathlib import Path

import contrastkit.functional as CF
import pytest
import torch
import torch.distributed as dist
from contrastkit.distributed import gather_candidates, gather_labels, gather_rows, global_count
from contrastkit.testing.ddp import spawn_ranks

WORLD, N, F_IN, D = 2, 6, 5, 4


def _losses() -> dict:
    """name -> loss(embeddings [e1, e2], labels, distributed)."""
    out = {
        "info_nce_loss": lambda e, y, d: CF.info_nce_loss(e[0], e[1], temperature=0.3, distributed=d),
        "nt_xent_loss": lambda e, y, d: CF.nt_xent_loss(e[0], e[1], temperature=0.5, distributed=d),
        "supcon_loss": lambda e, y, d: CF.supcon_loss(torch.stack(e, 1), y, temperature=0.2, distributed=d),
        "clip_loss": lambda e, y, d: CF.clip_loss(e[0], e[1], logit_scale=torch.tensor(7.0), distributed=d),
        # row chunks smaller than a rank's batch: the gathered candidates are chunked too
        "nt_xent_chunked": lambda e, y, d: CF.nt_xent_loss(e[0], e[1], temperature=0.5, chunk_size=4, distributed=d),
        "supcon_chunked": lambda e, y, d: CF.supcon_loss(torch.stack(e, 1), y, temperature=0.2, chunk_size=5,
                                                    distributed=d),
    }
    if hasattr(CF, "siglip_loss"):
        out["siglip_loss"] = lambda e, y, d: CF.siglip_loss(e[0], e[1], 5.0, -2.0, distributed=d)
    return out


LOSSES = sorted(_losses())


def _inputs(seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {
        "x": [torch.randn(WORLD * N, F_IN, generator=g, dtype=torch.float64) for _ in range(2)],
        "labels": torch.randint(0, 3, (WORLD * N,), generator=g),
        "theta": torch.randn(F_IN, D, generator=g, dtype=torch.float64),
    }


def _mlp(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(F_IN, 8), torch.nn.Tanh(), torch.nn.Linear(8, D)).double()


def _run_loss(name: str, inp: dict, rows: slice, distributed: bool) -> dict:
    """Loss and gradients for ``rows`` of the batch (all rows when not distributed)."""
    theta = inp["theta"].clone().requires_grad_()
    xs = [x[rows].clone().requires_grad_() for x in inp["x"]]
    fn = _losses()[name]
    loss = fn([x @ theta for x in xs], inp["labels"][rows], distributed)
    loss.backward()
    return {"loss": loss.detach(), "theta": theta.grad, "x": [x.grad for x in xs]}


def _uneven_rows(rank: int) -> dict:
    """Rank r holds r + 1 rows (values 10 r + i): gathered with a gradient and with labels."""
    x = (10.0 * rank + torch.arange(rank + 1, dtype=torch.float64)).reshape(-1, 1).requires_grad_()
    labels = torch.full((rank + 1,), rank)
    (x_all, y_all), offset = gather_rows(x, labels, distributed=True)
    weights = torch.arange(1, x_all.shape[0] + 1, dtype=torch.float64).reshape(-1, 1)
    (weights * x_all).sum().backward()
    return {"x": x_all.detach(), "labels": y_all, "offset": offset, "grad": x.grad,
            "count": global_count(rank + 1, x, distributed=True)}


def _worker(rank: int, port: int, inp: dict, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=WORLD)
    try:
        rows = slice(rank * N, (rank + 1) * N)
        results = {}
        for name in LOSSES:
            r = _run_loss(name, inp, rows, distributed=True)
            for key in ("loss", "theta"):  # DDP's averaging: all-reduce sum / world size
                dist.all_reduce(r[key])
                r[key] /= WORLD
            results[name] = r
        model = torch.nn.parallel.DistributedDataParallel(_mlp(seed=3))
        z = [model(x[rows]) for x in inp["x"]]
        CF.nt_xent_loss(z[0], z[1], temperature=0.5, distributed=True).backward()
        results["ddp_mlp"] = [p.grad.clone() for p in model.module.parameters()]
        for key, fn in (("uneven", gather_candidates), ("uneven_labels", gather_labels)):
            try:
                fn(torch.zeros(rank + 1, 2))
                results[key] = "no error"
            except ValueError as err:
                results[key] = str(err)
        results["labels"] = gather_labels(inp["labels"][rows])
        results["rows"] = _uneven_rows(rank)
        torch.save(results, Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    """Spawn the two gloo ranks once; return the inputs and each rank's results."""
    out = tmp_path_factory.mktemp("dist")
    inp = _inputs()
    spawn_ranks(_worker, WORLD, inp, str(out))
    return inp, [torch.load(out / f"rank{r}.pt") for r in range(WORLD)]


@pytest.mark.parametrize("name", LOSSES)
def test_loss_and_gradients_match_full_batch(two_ranks, name):
    inp, ranks = two_ranks
    full = _run_loss(name, inp, slice(None), distributed=False)
    for rank, res in enumerate(ranks):
        r = res[name]
        torch.testing.assert_close(r["loss"], full["loss"], rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(r["theta"], full["theta"], rtol=1e-10, atol=1e-12)
        for g_local, g_full in zip(r["x"], full["x"], strict=True):
            torch.testing.assert_close(g_local / WORLD, g_full[rank * N:(rank + 1) * N], rtol=1e-10, atol=1e-12)
    # the check is not vacuous: a rank's own half-batch loss differs from the full batch
    half = _run_loss(name, inp, slice(0, N), distributed=False)
    assert not torch.allclose(half["theta"], full["theta"])


def test_ddp_mlp_gradients_match_full_batch(two_ranks):
    inp, ranks = two_ranks
    model = _mlp(seed=3)
    z = [model(x) for x in inp["x"]]
    CF.nt_xent_loss(z[0], z[1], temperature=0.5).backward()
    for res in ranks:
        for g_ddp, p in zip(res["ddp_mlp"], model.parameters(), strict=True):
            torch.testing.assert_close(g_ddp, p.grad, rtol=1e-10, atol=1e-12)


def test_uneven_batches_raise(two_ranks):
    _, ranks = two_ranks
    for res in ranks:
        for key in ("uneven", "uneven_labels"):
            assert "same number of rows" in res[key] and "[1, 2]" in res[key]


def test_labels_gathered_in_rank_order(two_ranks):
    inp, ranks = two_ranks
    for res in ranks:
        assert torch.equal(res["labels"], inp["labels"])


def test_rows_of_uneven_sizes_gathered_with_labels_offsets_and_gradients(two_ranks):
    """gather_rows: 1 row on rank 0, 2 on rank 1; each rank's gradient is what every rank's loss
    sent to its rows (weights 1, 2, 3 on the gathered rows, summed over the two ranks)."""
    _, ranks = two_ranks
    for rank, res in enumerate(ranks):
        r = res["rows"]
        assert r["x"].flatten().tolist() == [0.0, 10.0, 11.0]
        assert r["labels"].tolist() == [0, 1, 1]
        assert r["offset"] == rank and r["count"] == 3
    assert ranks[0]["rows"]["grad"].flatten().tolist() == [2.0]
    assert ranks[1]["rows"]["grad"].flatten().tolist() == [4.0, 6.0]


def test_not_initialized_is_identity():
    x = torch.randn(3, 2)
    g = gather_candidates(x, enabled=True)
    assert g.candidates is x and g.offset == 0
