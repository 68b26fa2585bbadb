"""A tiny study end to end (every loss term on), its outputs, and a kill + ``--resume`` mid-study
ending with the same numbers."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import partial

import numpy as np
import pytest
import torch
from contrastkit.train import TrainerOptions
from lightning.pytorch.callbacks import Callback
from slu.continual import TrainConfig
from slu.evaluate import cl_metrics
from slu.method import MethodConfig
from slu.study import run_rows as run_rows_anywhere

TRAIN = TrainConfig(max_epochs=8, lr=3e-3, memory_percent=25.0, wer="last")
run_rows = partial(run_rows_anywhere, trainer=TrainerOptions(accelerator="cpu"))  # also on a GPU machine
METHODS = ["finetune", "coconut_skd"]


class Killed(RuntimeError):
    """Stands for a kill (Lightning turns a real KeyboardInterrupt into sys.exit)."""


class Interrupt(Callback):
    """Stops the ``fit``-th task fit of the study at the start of its epoch ``epoch`` (after the
    previous epoch's last.ckpt was written), as a kill would."""

    def __init__(self, fit: int, epoch: int) -> None:
        self.fit, self.epoch, self.fits = fit, epoch, 0

    def on_train_start(self, trainer, pl_module) -> None:
        self.fits += 1

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if self.fits == self.fit and trainer.current_epoch == self.epoch:
            raise Killed("killed for the test")


class Modes(Callback):
    """Records, at each task fit's first batch, whether the student and the teacher are in train mode."""

    def __init__(self) -> None:
        self.seen: list[tuple[bool, bool | None]] = []

    def on_train_start(self, trainer, pl_module) -> None:
        self.first = True

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self.first:
            teacher = pl_module.teacher
            self.seen.append((all(m.training for m in pl_module.model.modules()),
                              None if teacher is None else any(m.training for m in teacher.modules())))
            self.first = False


MODES = Modes()


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Bit-for-bit resume is promised at a fixed thread count; this module's runs use one thread
    whatever an earlier test in the same process set (several threads reorder float sums, e.g. in
    the embedding gradient, so two runs can differ in the last bits)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def uninterrupted(tiny_data_config, tiny_model_config, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    run_dir, rows = run_rows(tiny_data_config, tiny_model_config, MethodConfig(), TRAIN, METHODS, [0], "study",
                             str(root), False, callbacks=(MODES,))
    return run_dir, rows


def test_every_task_trains_the_student_in_train_mode_and_the_teacher_in_eval(uninterrupted):
    """After a task's evaluation (model.eval()) the next task still trains with dropout on; the
    teacher never does (the shared base's on_fit_start and ``modules_kept_in_eval``)."""
    # fits: finetune task 0, task 1 (no teacher), coconut_skd task 0 (no teacher), task 1 (teacher)
    assert MODES.seen == [(True, None), (True, None), (True, None), (True, False)]


def test_study_outputs_and_matrix(uninterrupted, tiny_data):
    run_dir, rows = uninterrupted
    assert set(rows) == set(METHODS)
    for (metrics,) in rows.values():
        R = np.array([[np.nan if v is None else v for v in r] for r in metrics["matrix"]])
        assert R.shape == (2, 2) and np.isnan(R[0, 1]) and not np.isnan(R[np.tril_indices(2)]).any()
        assert ((R[np.tril_indices(2)] >= 0) & (R[np.tril_indices(2)] <= 1)).all()
        assert metrics["counts"] == [len(tiny_data.task_indices("test", t)) for t in range(2)]
        again = cl_metrics(R, metrics["counts"])
        assert metrics["avg_acc"] == pytest.approx(again["avg_acc"]) and metrics["bwt"] == pytest.approx(again["bwt"])
        assert 0 <= metrics["wer_after_task_1"]
        # the wording subsets: the test clips of test-only families (from the set's own report) are
        # the unseen ones, and the two subsets' hits add up to the whole matrix's
        test_only = tiny_data.corpus.report["test_only_families"]
        unseen = [sum(tiny_data.corpus.utterances[i].family in test_only[tiny_data.corpus.utterances[i].intent]
                      for i in tiny_data.task_indices("test", t)) for t in range(2)]
        assert metrics["counts_unseen"] == unseen and all(unseen)
        assert [a + b for a, b in zip(metrics["counts_unseen"], metrics["counts_seen"])] == metrics["counts"]
        for i, j in zip(*np.tril_indices(2)):
            hits = sum(metrics[f"matrix_{w}"][i][j] * metrics[f"counts_{w}"][j] for w in ("seen", "unseen"))
            assert hits == pytest.approx(R[i, j] * metrics["counts"][j])
        last_unseen = sum(metrics["matrix_unseen"][1][j] * unseen[j] for j in range(2)) / sum(unseen)
        assert metrics["last_acc_unseen"] == pytest.approx(last_unseen)
    assert rows["finetune"][0]["memory_size"] == 0
    assert rows["coconut_skd"][0]["memory_size"] == 6  # 25 % of 24 training clips, 2 tasks' classes
    assert all(rows[m][0]["matrix"][0][0] > 0 for m in METHODS)  # the first task was learnt
    assert rows["finetune"][0]["matrix"] != rows["coconut_skd"][0]["matrix"]  # replay and losses changed the run
    for f in ("config.yaml", "units.json", "metrics.json", "table.md", "table.csv", "plots/avg_acc.png",
              "plots/matrix_coconut_skd-seed0.png", "plots/loss_coconut_skd-seed0.png",
              "checkpoints/coconut_skd-seed0-task_1.ckpt"):
        assert (run_dir / f).is_file(), f
    logged = (run_dir / "tasks" / "coconut_skd-seed0-task_1" / "logs" / "csv" / "metrics.csv").read_text()
    for term in ("train/seq", "train/supcon", "train/text", "train/skd"):
        assert term in logged  # every COCONUT + S-KD term ran on the second task
    table = (run_dir / "table.csv").read_text().splitlines()
    assert table[0] == ("method,Avg Acc unseen,Last Acc unseen,Avg Acc seen,Last Acc seen,Avg Acc,Last Acc,Forgetting,"
                        "BWT,n")
    assert table[1 + METHODS.index("coconut_skd")].startswith(
        f"coconut_skd,{100 * rows['coconut_skd'][0]['avg_acc_unseen']:.2f},") and table[-1].endswith(",1")
    assert json.loads((run_dir / "metrics.json").read_text())["finetune/avg_acc"] == rows["finetune"][0]["avg_acc"]


def test_resume_mid_study_ends_with_the_same_numbers(uninterrupted, tiny_data_config, tiny_model_config, tmp_path):
    _, expected = uninterrupted
    with pytest.raises(Killed):
        run_rows(tiny_data_config, tiny_model_config, MethodConfig(), TRAIN, METHODS, [0], "study", str(tmp_path),
                 False, callbacks=(Interrupt(fit=4, epoch=1),))  # coconut_skd's second task, after epoch 0
    run_dir = tmp_path / "slu" / "study" / "version_0"
    assert (run_dir / "checkpoints" / "coconut_skd-seed0-task_0.ckpt").is_file()
    assert not (run_dir / "checkpoints" / "coconut_skd-seed0-task_1.ckpt").exists()
    assert (run_dir / "tasks" / "coconut_skd-seed0-task_1" / "checkpoints" / "last.ckpt").is_file()
    assert not (run_dir / "checkpoints" / "last.ckpt").exists()  # no link needed to find the run
    # the rows that finished before the kill are recorded; the resumed run reads them back
    assert list(json.loads((run_dir / "units.json").read_text())) == [f"{m}/seed0" for m in METHODS[:-1]]
    _, rows = run_rows(tiny_data_config, tiny_model_config, MethodConfig(), TRAIN, METHODS, [0], "study",
                       str(tmp_path), True)
    assert not (tmp_path / "slu" / "study" / "version_1").exists()
    from contrastkit.train import load_checkpoint

    uninterrupted_dir = uninterrupted[0]
    for name in ("coconut_skd-seed0-task_1.ckpt", "finetune-seed0-task_1.ckpt"):
        a = load_checkpoint(uninterrupted_dir / "checkpoints" / name)["state_dict"]
        b = load_checkpoint(run_dir / "checkpoints" / name)["state_dict"]
        assert all(torch.equal(a[k], b[k]) for k in a), name  # the same weights, bit for bit
    for name in METHODS:
        for key in ("matrix", "avg_acc", "last_acc", "forgetting", "wer_after_task_1", "matrix_unseen", "avg_acc_unseen"):
            assert rows[name][0][key] == expected[name][0][key], (name, key)


def test_resume_with_other_settings_is_refused(uninterrupted, tiny_data_config, tiny_model_config):
    from contrastkit.train import ResumeError

    run_dir, _ = uninterrupted
    root = str(run_dir.parent.parent.parent)
    with pytest.raises(ResumeError, match="epochs"):
        run_rows(tiny_data_config, tiny_model_config, MethodConfig(), replace(TRAIN, max_epochs=3), METHODS, [0], "study",
                 root, True)


def test_resume_finds_a_run_killed_in_its_first_task(tiny_data_config, tiny_model_config, tmp_path):
    """--resume finds a study whose only checkpoint is the first task's ``tasks/task_0/checkpoints/last.ckpt``
    (the shared run-directory rule looks in sub-runs) and continues it instead of failing."""
    train = replace(TRAIN, max_epochs=2)
    with pytest.raises(Killed):
        run_rows(tiny_data_config, tiny_model_config, MethodConfig(), train, ["finetune"], [0], "first",
                 str(tmp_path), False, callbacks=(Interrupt(fit=1, epoch=1),))
    run_dir = tmp_path / "slu" / "first" / "version_0"
    assert [p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*.ckpt")] == ["tasks/task_0/checkpoints/last.ckpt"]
    resumed_dir, rows = run_rows(tiny_data_config, tiny_model_config, MethodConfig(), train, ["finetune"], [0],
                                 "first", str(tmp_path), True)
    assert resumed_dir == run_dir and (run_dir / "checkpoints" / "task_1.ckpt").is_file()
    assert len(rows["finetune"][0]["matrix"]) == 2
