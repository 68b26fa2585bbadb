"""Kill and --resume through `audiolang fit`: 1 epoch, then 2 with --resume, ends with the numbers of
2 epochs straight."""

import json

import torch
from audiolang.cli import main
from contrastkit.train import load_checkpoint


def _fit(tmp_path, name, epochs, resume=False):
    argv = ["fit", "--name", name, "--runs_root", str(tmp_path / "runs"), "--model.stage", "3",
            "--data.clips.sources", "[synthetic]", "--data.build_size", "40", "--data.batch_size", "16",
            "--data.cache_dir", str(tmp_path / "cache"), "--trainer.max_epochs", str(epochs),
            "--trainer.accelerator", "cpu", "--trainer.enable_progress_bar", "false"]
    main(argv + (["--resume"] if resume else []))
    run = tmp_path / "runs" / "audiolang" / name / "version_0"
    return json.loads((run / "metrics.json").read_text()), load_checkpoint(run / "checkpoints" / "last.ckpt")


def test_fit_one_epoch_then_resume_equals_two_epochs_straight(tmp_path):
    straight, ckpt_straight = _fit(tmp_path, "straight", 2)
    _fit(tmp_path, "killed", 1)  # a run stopped after its first epoch
    resumed, ckpt_resumed = _fit(tmp_path, "killed", 2, resume=True)
    assert not (tmp_path / "runs" / "audiolang" / "killed" / "version_1").exists()  # the same run continued
    assert resumed["epochs_run"] == straight["epochs_run"] == 2
    for key in ("train/loss_epoch", "val/loss"):
        assert resumed[key] == straight[key], key
    for k, v in ckpt_straight["state_dict"].items():
        torch.testing.assert_close(ckpt_resumed["state_dict"][k], v, rtol=0, atol=0, msg=k)
