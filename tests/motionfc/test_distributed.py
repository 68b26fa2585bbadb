"""CausalMotion under DDP.

1. One step on 2 gloo processes with half of every environment's scenes each equals the step of
   one process with the whole batch (float64): the risks with IRMv1 and v-REx of the global batch
   (per-environment risk terms summed over the ranks) and the style SupCon with candidates and
   environment labels gathered.
2. ``motionfc demo`` on 2 CPU processes (``--trainer.devices 2 --trainer.strategy ddp``), run as a
   subprocess: one run directory, its metrics.json equal to a 1-process evaluation of the saved
   checkpoint, and the validation ADE logged under DDP (each scene scored once) equal to a
   1-process validation of the same checkpoint.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
import yaml
from contrastkit.testing.ddp import assert_same_step, ddp_step_matches_full_batch, run_on_two_cpu_processes
from motionfc.data.batching import collate_scenes
from motionfc.method import CausalMotion

ENVS, SCENES, AGENTS = 3, 8, 2  # every rank holds 4 consecutive scenes of each environment


def make_module() -> CausalMotion:
    torch.manual_seed(0)
    return CausalMotion(modular=True, lambda_irm=0.7, lambda_vrex=0.3, lambda_contrastive=0.5).double()


def step(module: CausalMotion, batch) -> torch.Tensor:
    """P3 (risk + IRMv1 + v-REx) and P6 (risk with style + style SupCon) in one step."""
    return module.compute_loss(batch, "P3")["loss"] + module.compute_loss(batch, "P6")["loss"]


def take(batch, rank: int, world: int):
    """Scenes ``rank * n .. (rank + 1) * n - 1`` of every environment (two agents per scene)."""
    n = SCENES // world
    rows = slice(rank * n * AGENTS, (rank + 1) * n * AGENTS)
    return {env: {"obs": b["obs"][rows], "fut": b["fut"][rows], "fut_rel": b["fut_rel"][rows],
                  "seq_start_end": b["seq_start_end"][:n], "env": b["env"][rank * n:(rank + 1) * n]}
            for env, b in batch.items()}


def _batch():
    g = torch.Generator().manual_seed(3)
    out = {}
    for e in range(ENVS):
        items = []
        for _ in range(SCENES):
            traj = torch.randn(AGENTS, 20, 2, generator=g, dtype=torch.float64).cumsum(1) * (0.1 + 0.2 * e)
            rel = torch.cat([torch.zeros(AGENTS, 1, 2, dtype=torch.float64), traj.diff(dim=1)], 1)
            items.append({"traj": traj.numpy(), "rel": rel.numpy(), "env": e})
        b = collate_scenes(items)
        out[f"{0.1 + 0.2 * e:.1f}"] = {k: v.double() if v.is_floating_point() else v for k, v in b.items()}
    return out


def test_step_on_two_ranks_equals_the_full_batch_step():
    full, ranks = ddp_step_matches_full_batch(make_module, step, take, _batch())
    assert full["grads"] and all(g.abs().sum() > 0 for g in full["grads"].values())
    assert_same_step(full, ranks)


def test_per_rank_penalties_would_differ():
    """The check has teeth: averaging each half's own IRMv1 / v-REx (no sum over ranks) is not the
    full-batch loss."""
    batch, m = _batch(), make_module()
    full = m.compute_loss(batch, "P3")["loss"]
    local = sum(m.compute_loss(take(batch, r, 2), "P3")["loss"] for r in range(2)) / 2
    assert not torch.isclose(full, 2 * local, rtol=1e-6)  # 2x: the risks are sums over scenes


DEMO = ["--num_train", "16", "--num_val", "15", "--num_test", "8", "--num_ref", "8", "--max_epochs_p3", "1",
        "--max_epochs_p4", "1", "--max_epochs_p5", "1", "--max_epochs_p6", "1", "--progress", "false"]


def _last_logged(run: Path, column: str) -> float:
    rows = [r for f in sorted(run.glob("logs/csv*/metrics.csv")) for r in csv.DictReader(f.read_text().splitlines())
            if r.get(column)]
    return float(rows[-1][column])


def test_demo_on_two_processes_writes_one_run_with_the_metrics_of_its_checkpoint(tmp_path):
    from motionfc.cli import main

    done = run_on_two_cpu_processes("motionfc", ["demo", *DEMO, "--runs_root", str(tmp_path / "runs"),
                                                 "--cache_dir", str(tmp_path / "cache")])
    runs = tmp_path / "runs" / "motionfc" / "demo"
    assert sorted(p.name for p in runs.iterdir()) == ["version_0"]
    run = runs / "version_0"
    saved = json.loads((run / "metrics.json").read_text())
    assert yaml.safe_load((run / "config.yaml").read_text())["trainer"]["devices"] == 2
    assert done.stdout.count(f"run: {run}") == 1  # announced by rank 0 only
    # the trained checkpoint, scored in this process: the demo's table
    data = ["--num_train", "16", "--num_val", "15", "--num_test", "8", "--num_ref", "8", "--cache_dir",
            str(tmp_path / "cache"), "--runs_root", str(tmp_path / "eval")]
    rows = main(["evaluate", "--ckpt_path", str(run / "modular" / "checkpoints" / "last.ckpt"), *data])
    for g in ("iid", "ood_inter", "ood_extra"):
        assert rows["model"][g]["ade"] == pytest.approx(saved[f"modular/{g}/ade"], rel=1e-6)
    # the last validation under DDP (15 scenes per style on 2 ranks: scored once each) = one process
    from contrastkit.train import load_module, make_trainer
    from motionfc.data.datamodule import StyleDataModule

    module = load_module(run / "modular" / "checkpoints" / "last.ckpt", ("motionfc",), CausalMotion)
    dm = StyleDataModule(num_train=16, num_val=15, num_test=8, num_ref=8, cache_dir=str(tmp_path / "cache"))
    one = make_trainer(tmp_path / "one", 1, progress=False).validate(module, datamodule=dm, verbose=False)[0]
    assert one["val/ade"] == pytest.approx(_last_logged(run / "modular", "val/ade"), rel=1e-6)
