"""Two CPU processes (gloo) against one: the check every app's distributed test makes.

:func:`ddp_step_matches_full_batch` runs one training step of a module twice: in one process on
the whole batch, and on ``world`` processes that each hold ``1 / world`` of it, with the
module's contrastive losses gathering across ranks (``ContrastiveModule.gather_across_ranks`` is
True there) and the gradients averaged as DDP averages them (all-reduce sum / world). It returns
both results so that the test asserts what it expects (the same loss and the same gradients,
in float64 where the app allows).

Everything handed to the ranks is pickled (``torch.multiprocessing.spawn``): pass module-level
functions, not lambdas.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import Tensor, nn


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn_ranks(worker: Callable[..., None], world: int, *args: Any, attempts: int = 3) -> None:
    """``mp.spawn(worker, (port, *args), nprocs=world)``; a port taken by another process between
    choosing and binding it (a race outside the code under test) gets a fresh one, up to
    ``attempts`` times. A failure of the code under test fails every attempt and is re-raised."""
    for attempt in range(attempts):
        try:
            mp.spawn(worker, args=(free_port(), *args), nprocs=world, join=True)
            return
        except mp.ProcessRaisedException as err:
            address_race = "Address already in use" in str(err) or "connect" in str(err).lower()
            if attempt == attempts - 1 or not address_race:
                raise


StepFn = Callable[[nn.Module, Any], Tensor]
SliceFn = Callable[[Any, int, int], Any]


def _step(make_module: Callable[[], nn.Module], step: StepFn, batch: Any) -> dict[str, Any]:
    module = make_module()
    loss = step(module, batch)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in module.named_parameters() if p.grad is not None}
    return {"loss": loss.detach().clone(), "grads": grads}


def _rank(rank: int, port: int, world: int, make_module, step, take, batch, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        result = _step(make_module, step, take(batch, rank, world))
        dist.all_reduce(result["loss"])
        result["loss"] /= world
        for grad in result["grads"].values():  # DDP's averaging
            dist.all_reduce(grad)
            grad /= world
        torch.save(result, Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def ddp_step_matches_full_batch(make_module: Callable[[], nn.Module], step: StepFn, take: SliceFn, batch: Any,
                                world: int = 2) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(full, ranks)``: the loss and parameter gradients of ``step(make_module(), batch)`` in
    this process, and of each of ``world`` gloo ranks running ``step`` on
    ``take(batch, rank, world)`` with loss and gradients averaged over the ranks.

    ``make_module`` must build the same weights in every process (seed inside it); ``step``
    must be deterministic (no dropout or random augmentation, or seeded the same way).
    """
    full = _step(make_module, step, batch)
    with tempfile.TemporaryDirectory() as out:
        spawn_ranks(_rank, world, world, make_module, step, take, batch, out)
        ranks = [torch.load(Path(out) / f"rank{r}.pt", weights_only=True) for r in range(world)]
    return full, ranks


# How far two float64 evaluations of one step may drift apart when only the summation order differs
# (one process against two, another CPU's BLAS blocking, another thread count). Summing n terms in
# any order errs by at most (n - 1) * eps * sum|terms| (Higham, "Accuracy and Stability of
# Numerical Algorithms", section 4.2). A tensor's gradient entries are sums whose terms are of the
# size of that tensor's gradient norm, but one entry (a bias gradient) may cancel to nearly zero:
# an error relative to the entry itself is then unbounded, which is why a per-entry rtol failed on
# another CPU. So the bound is per tensor, on its norm:
#     max |g_rank - g_full| <= sum_terms * eps64 * ||g_full||_2,
# with ``sum_terms`` above the longest reduction of the step (default 2**16 terms: 1.5e-11 ||g||).
# A wrong step (a sample's term lost or counted twice, a world-size factor) is off by a fraction of
# ||g||, some 10**9 times more.
SUM_TERMS = 2**16


def step_gaps(full: dict[str, Any], ranks: list[dict[str, Any]], sum_terms: int = SUM_TERMS) -> dict[str, float]:
    """``{name: max over ranks of max |rank - full| / bound}`` for the loss and every gradient, with
    ``bound = sum_terms * eps64 * ||full||`` (the comment above): a value above 1 is a wrong step."""
    eps = torch.finfo(torch.float64).eps
    gaps: dict[str, float] = {}
    for name, reference in {"loss": full["loss"], **full["grads"]}.items():
        bound = sum_terms * eps * float(reference.double().norm())
        for result in ranks:
            got = result["loss"] if name == "loss" else result["grads"][name]
            gap = float((got.double() - reference.double()).abs().max())
            gaps[name] = max(gaps.get(name, 0.0), gap / bound if bound else (0.0 if gap == 0 else float("inf")))
    return gaps


def assert_same_step(full: dict[str, Any], ranks: list[dict[str, Any]], sum_terms: int = SUM_TERMS) -> None:
    """Every rank's averaged loss and gradients equal the full-batch ones, within the float64
    summation-order bound of :func:`step_gaps` (per tensor, on its norm)."""
    for rank, result in enumerate(ranks):
        assert result["grads"].keys() == full["grads"].keys(), f"rank {rank} has other gradients"
    wrong = {name: gap for name, gap in step_gaps(full, ranks, sum_terms).items() if gap > 1}
    assert not wrong, f"outside the float64 summation bound (gap / bound): {wrong}"


DDP_ON_TWO_CPU_PROCESSES = ("--trainer.devices", "2", "--trainer.strategy", "ddp", "--trainer.accelerator", "cpu")


def run_on_two_cpu_processes(app: str, args: list[str], cwd: str | Path | None = None,
                             timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the console script ``app`` (installed beside this Python) with ``args`` and the DDP
    flags for 2 CPU processes, as a subprocess: Lightning's ``ddp`` launcher re-runs the command
    line for rank 1, which must never happen inside pytest. The rank variables of an enclosing
    launch are removed and each process gets one thread. Asserts a zero exit status (showing the
    end of stdout and stderr otherwise) and that the run was announced once (rank 0 only)."""
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "NODE_RANK")}
    command = [str(Path(sys.executable).parent / app), *args, *DDP_ON_TWO_CPU_PROCESSES]
    done = subprocess.run(command, cwd=cwd, env={**env, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.count("run: ") == 1, done.stdout[-3000:]  # rank 1 announces nothing
    return done
