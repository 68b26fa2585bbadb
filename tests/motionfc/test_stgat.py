"""STGAT: shapes of the three stages, scenes do not leak into each other, and training steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from motionfc.baselines import StgatForecaster
from motionfc.models.stgat import STGAT


def test_stages_and_scene_independence():
    torch.manual_seed(0)
    m = STGAT(extra_channels=1)
    sse = torch.tensor([[0, 3], [3, 5], [5, 9]])
    x = torch.randn(9, 8, 3)
    assert m(x, sse, 1).shape == (9, 8, 2) and m(x, sse, 2).shape == (9, 8, 2)
    a = m(x, sse, 3, torch.Generator().manual_seed(0))
    x2 = x.clone()
    x2[0] += 1.0
    b = m(x2, sse, 3, torch.Generator().manual_seed(0))
    assert a.shape == (9, 12, 2)
    torch.testing.assert_close(a[3:], b[3:])  # other scenes unchanged
    assert not torch.allclose(a[:3], b[:3])
    with pytest.raises(ValueError, match="expected"):
        m(torch.randn(9, 8, 2), sse)


@pytest.mark.realdata
@pytest.mark.parametrize("risk,weight", [("erm", 0.0), ("irm", 1.0), ("vrex", 5.0)])
def test_fit_on_a_fold_with_the_spurious_feature(eth_root, tmp_path, risk, weight):
    from contrastkit.train import make_trainer, seed_everything
    from motionfc.data.datamodule import EthUcyDataModule

    seed_everything(0)
    dm = EthUcyDataModule("eth", data_root=str(eth_root), spurious=True, test_alpha=8.0, max_train_scenes=6)
    m = StgatForecaster(risk=risk, **({f"lambda_{risk}": weight} if risk != "erm" else {}), epochs=(1, 1, 2), extra_channels=1)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    trainer = make_trainer(tmp_path, 4, progress=False, num_sanity_val_steps=0, limit_test_batches=5)
    trainer.fit(m, datamodule=dm)
    assert sorted(dm.splits["train"]) == ["hotel", "univ", "zara1", "zara2"]
    assert dm.splits["train"]["zara2"].extra.shape[1:] == (8, 1)
    assert any(not torch.equal(before[k], v) for k, v in m.state_dict().items())
    res = trainer.test(m, datamodule=dm, verbose=False)[0]
    assert np.isfinite(res["test/ade"]) and 0 < res["test/ade"] < 10
    assert m.trainer.optimizers[0].param_groups[0]["lr"] == 5e-3  # stage 3 learning rate


@pytest.mark.realdata
def test_eth_ucy_command_resumes(eth_root, tmp_path):
    """a run stopped after its checkpoint and resumed with ``--resume`` ends with
    the numbers of the uninterrupted run; a resume may lengthen the last stage, never change the fold,
    the risk or the first stages; the run writes its plots."""
    from contrastkit.train import ResumeError
    from motionfc.cli import main

    args = ["eth-ucy", "--fold", "hotel", "--max_train_scenes", "4", "--runs_root", str(tmp_path), "--data_root",
            str(eth_root), "--progress", "false"]
    full = main([*args, "--max_epochs", "[1, 1, 2]", "--name", "full"])
    first = main([*args, "--max_epochs", "[1, 1, 1]", "--name", "cut"])  # the "kill": stopped one epoch short
    assert first["epochs_run"] == 3 and np.isfinite(first["ade"])
    second = main([*args, "--max_epochs", "[1, 1, 2]", "--name", "cut", "--resume"])
    assert second["epochs_run"] == 4  # one more epoch on top of the three of the first call
    for key in ("ade", "fde", "best_val_ade", "scored_epoch", "scored_stage"):
        assert second[key] == full[key], key
    runs = sorted((tmp_path / "motionfc" / "cut").glob("version_*"))
    assert len(runs) == 1 and (runs[0] / "metrics.json").is_file()
    assert (runs[0] / "plots" / "loss.png").stat().st_size > 0 and (runs[0] / "plots" / "predictions.png").is_file()
    for change, field in ((["--risk", "irm"], "risk"), (["--fold", "eth"], "fold")):
        with pytest.raises(ResumeError, match=field):
            main([*args, "--max_epochs", "[1, 1, 2]", "--name", "cut", "--resume", *change])
    with pytest.raises(ResumeError, match="only lengthen the last stage"):
        main([*args, "--max_epochs", "[2, 1, 2]", "--name", "cut", "--resume"])
    assert len(list((tmp_path / "motionfc" / "cut").glob("version_*"))) == 1
