"""seqrec under DDP.

1. One training step of MCLRec's and CL4SRec's objectives on 2 gloo processes with half the batch
   each equals 1 process with the whole batch (loss and every parameter's gradient, float64):
   the contrastive terms gather both views across ranks, and the next-item loss of the shifted
   form (a mean over non-padded positions, which the two halves hold in unequal numbers) is
   weighted to the full batch's mean.
2. ``seqrec fit ... --model.method mclrec --trainer.devices 2 --trainer.strategy ddp
   --trainer.accelerator cpu`` (the README's example, tiny sizes) runs end to end as a subprocess:
   one run directory, its metrics.json, test metrics equal to a 1-process evaluation of the same
   checkpoint, on a user count that the two ranks cannot split evenly (every user counted once).
"""

from __future__ import annotations

import json

import pytest
import torch
from contrastkit.testing.ddp import assert_same_step, ddp_step_matches_full_batch, run_on_two_cpu_processes
from seqrec.augment import two_views
from seqrec.baselines import CL4SRec
from seqrec.data import datamodule
from seqrec.data.split import leave_one_out
from seqrec.data.synthetic import make_synthetic
from seqrec.method import MCLRec
from seqrec.runner import evaluate_run
from torch import nn

ITEMS, MAX_LEN = 20, 8
ENCODER = {"max_len": MAX_LEN, "hidden": 8, "n_layers": 1, "heads": 2, "inner": 16, "dropout": 0.0,
           "attn_dropout": 0.0}


def make_module() -> nn.Module:
    """Both contrastive methods, float64, no dropout, the same weights in every process."""
    torch.manual_seed(0)
    mclrec = MCLRec(ITEMS, lambda_cl1=0.3, lambda_cl2=0.2, lambda_reg=0.5, temperature=0.7, sim="cos",
                    augmenter_hidden=(4,), **ENCODER)
    cl4srec = CL4SRec(ITEMS, lambda_cl=0.4, temperature=0.5, sim="dot", **ENCODER)
    return nn.ModuleDict({"mclrec": mclrec, "cl4srec": cl4srec}).double()


def step(module: nn.Module, batch) -> torch.Tensor:
    """MCLRec's encoder objective (L_rec + λ L_cl1 + β (L_cl2 + γ R)) and augmenter objective, and
    CL4SRec's loss, on fixed views (the random augmentations are drawn once, outside)."""
    data, views = batch
    mclrec = module["mclrec"]
    h, (r1, r2) = mclrec.encode(data, views[:2], views[2:])
    loss = mclrec.encoder_objective(h, r1, r2, data)["loss"] + mclrec.augmenter_objective(r1, r2)
    return loss + module["cl4srec"].view_losses(data, views)["loss"]


def take(batch, rank: int, world: int):
    data, views = batch
    n = data["input"].shape[0] // world
    part = slice(rank * n, (rank + 1) * n)
    return {k: v[part] for k, v in data.items()}, tuple(v[part] for v in views)


def _batch():
    split = leave_one_out(make_synthetic(num_users=8, num_items=ITEMS, num_topics=3, min_len=4, max_len=12, seed=3),
                          MAX_LEN)
    data = {"input": split.train.inputs, "length": split.train.lengths, "target": split.train.targets}
    views = two_views(data["input"], data["length"], distinct=True, generator=torch.Generator().manual_seed(1))
    return data, views


def test_one_step_on_two_processes_equals_the_full_batch_step():
    batch = _batch()
    targets = batch[0]["target"]
    # the halves hold different numbers of next-item targets: a plain local mean would not match
    assert int((targets[:4] > 0).sum()) != int((targets[4:] > 0).sum())
    full, ranks = ddp_step_matches_full_batch(make_module, step, take, batch)
    assert any(name.startswith("mclrec.augmenters") for name in full["grads"])
    assert_same_step(full, ranks)


def test_evaluation_shards_count_every_user_once(monkeypatch):
    """Rank r of W scores users r, r + W, ... (no padding repeats, unlike DistributedSampler)."""
    shards = []
    for rank in range(3):
        monkeypatch.setattr(datamodule, "world", lambda rank=rank: (rank, 3))
        shards.append(list(datamodule.EvalShardSampler(10)))
        assert len(datamodule.EvalShardSampler(10)) == len(shards[-1])
    assert sorted(i for shard in shards for i in shard) == list(range(10)) and [len(s) for s in shards] == [4, 3, 3]
    monkeypatch.setattr(datamodule, "world", lambda: (0, 1))
    dm = datamodule.SeqRecDataModule("synthetic", eval_batch_size=7,
                                     synthetic={"num_users": 30, "num_items": 9, "num_topics": 3})
    assert sum(b["target"].shape[0] for b in dm.test_dataloader()) == 30


@pytest.mark.slow
def test_two_process_fit_through_the_cli_matches_a_one_process_evaluation(tmp_path):
    """The README's DDP example command, with tiny sizes; 83 users do not split evenly."""
    data = {"dataset": "synthetic", "batch_size": 32, "eval_batch_size": 41,
            "synthetic": {"num_users": 83, "num_items": 20, "num_topics": 4}}
    done = run_on_two_cpu_processes("seqrec", [
        "fit", "--data", json.dumps(data), "--model.method", "mclrec", "--model.hidden", "8", "--model.inner", "16",
        "--model.augmenter_hidden", "[4]", "--max_epochs", "2", "--runs_root", str(tmp_path),
        "--progress", "false", "--threads", "1"], timeout=240)
    runs = tmp_path / "seqrec" / "synthetic"
    assert sorted(p.name for p in runs.iterdir()) == ["version_0"]
    run = runs / "version_0"
    assert done.stdout.strip().splitlines()[-1] == f"run: {run}  metrics: {run / 'metrics.json'}"
    saved = json.loads((run / "metrics.json").read_text())
    assert saved["processes"] == 2 and saved["epochs_run"] == 2
    one_process, _ = evaluate_run(saved["best_checkpoint"])
    for key, value in one_process.items():
        if key.startswith("test/"):
            assert saved[key] == pytest.approx(value, abs=1e-6), key
