"""Fault probes of seqrec: hostile checkpoints, sparse and huge item ids, NaN timestamps,
a checkpoint scored on the wrong data, silent reader filters, inexact resume (fit and demo)."""

from __future__ import annotations

import csv
import json
import logging
import re
import shutil
from pathlib import Path

import pytest
import torch
from seqrec.cli import main
from seqrec.config import DataConfig, ModelConfig, TrainConfig
from seqrec.data import SeqRecDataModule, read_inter_file, read_sequence_file
from seqrec.runner import fit_run

SYNTH = {"num_users": 150, "num_items": 40, "num_topics": 4, "seed": 0}
DATA = DataConfig(dataset="synthetic", batch_size=64, synthetic=SYNTH)
TINY = ModelConfig(method="sasrec", hidden=16, inner=32)


def _train(root, name="f", epochs=1, resume=False):
    return fit_run(DATA, TINY, TrainConfig(patience=50), runs_root=str(root), name=name, max_epochs=epochs,
                   resume=resume, progress=False)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    run_dir, _ = _train(tmp_path_factory.mktemp("runs"))
    return run_dir / "checkpoints" / "last.ckpt"


class _Payload:
    """Unpickling this object creates ``marker`` (what an attacker's code would do)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, "w")


@pytest.mark.parametrize("command, flag", [("test", "--ckpt_path"), ("evaluate", "--ckpt_path"),
                                           ("embed", "--ckpt_path"), ("recommend", "--ckpt_path"),
                                           ("export", "--ckpt_path")])
def test_checkpoint_that_runs_code_is_refused(tmp_path, command, flag):
    """Every seqrec command taking a checkpoint loads it with weights_only=True."""
    marker, path = tmp_path / "pwned", tmp_path / "evil.ckpt"
    torch.save({"hyper_parameters": {"_class_name": "SASRec", "num_items": 3}, "state_dict": {},
                "payload": _Payload(str(marker))}, path)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ": refused: .* would run code"):
        main([command, flag, str(path), "--runs_root", str(tmp_path / "runs")])
    assert not marker.exists()
    assert not (tmp_path / "runs").exists()  # no run left behind


def test_damaged_checkpoint_names_the_file(tmp_path):
    """A zero-byte file is a named error, not EOFError."""
    path = tmp_path / "empty.ckpt"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=re.escape(str(path))):
        main(["test", "--ckpt_path", str(path)])


def test_sparse_item_ids_are_remapped_and_stored_with_the_run(tmp_path):
    """One id of 10^9 no longer sizes the item table; the mapping is kept."""
    path = tmp_path / "sparse.txt"
    path.write_text("1 5 1000000000 7 5\n2 7 5 1000000000\n3 1000000000 7 5 7\n")
    data = read_sequence_file(path)
    assert data.num_items == 3 and data.item_ids.tolist() == [5, 7, 1000000000]
    assert [s.tolist() for s in data.sequences] == [[1, 3, 2, 1], [2, 1, 3], [3, 2, 1, 2]]
    dm = SeqRecDataModule(str(path))
    assert dm.num_items == 3 and dm.item_ids == [5, 7, 1000000000]
    run_dir, _ = fit_run(DataConfig(dataset=str(path)), ModelConfig(method="popularity"),
                         TrainConfig(), runs_root=str(tmp_path / "runs"), name="sparse", progress=False)
    assert json.loads((run_dir / "item_ids.json").read_text()) == [5, 7, 1000000000]


def test_sparse_inter_ids_are_remapped(tmp_path):
    """The .inter reader renumbers integer ids densely too."""
    path = tmp_path / "s.inter"
    path.write_text("user_id:token\titem_id:token\n" + "".join(f"u\t{i}\n" for i in (10**12, 3, 10**12)))
    data = read_inter_file(path)
    assert data.num_items == 2 and data.item_ids.tolist() == [3, 10**12]
    assert data.sequences[0].tolist() == [2, 1, 2]


@pytest.mark.parametrize("suffix, text, line", [
    (".txt", "1 1 2 3\n2 4 99999999999999999999 5\n", 2),
    (".inter", "user_id:token\titem_id:token\n1\t2\n1\t99999999999999999999\n1\t3\n", 3),
])
def test_item_id_beyond_int64_names_file_and_line(tmp_path, suffix, text, line):
    """An id above int64 is an error with file and line, not a bare OverflowError."""
    path = tmp_path / f"big{suffix}"
    path.write_text(text)
    reader = read_sequence_file if suffix == ".txt" else read_inter_file
    with pytest.raises(ValueError, match=re.escape(f"{path}:{line}:") + ".*64-bit"):
        reader(path)


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_non_finite_timestamp_names_file_and_line(tmp_path, value):
    """A NaN timestamp would leave that user's items in file order."""
    path = tmp_path / "t.inter"
    path.write_text(f"user_id:token\titem_id:token\ttimestamp:float\n1\t1\t3\n1\t2\t{value}\n1\t3\t1\n")
    with pytest.raises(ValueError, match=re.escape(f"{path}:3:") + ".*not finite"):
        read_inter_file(path)


def test_checkpoint_is_scored_on_its_own_dataset(checkpoint, capsys, tmp_path):
    """Without --data the checkpoint's dataset is used, and the output names it."""
    got = main(["test", "--ckpt_path", str(checkpoint), "--runs_root", str(tmp_path)])
    out = capsys.readouterr().out
    assert "trained on synthetic" in out and "scored on synthetic {'num_users': 150" in out
    assert 0.0 <= got["test/HR@20"] <= 1.0
    saved = json.loads((checkpoint.parents[1] / "metrics.json").read_text())
    assert saved["dataset"] == "synthetic" and got["test/HR@20"] == pytest.approx(saved["test/HR@20"], abs=1e-6)
    scored = json.loads((tmp_path / "seqrec" / "f_test" / "version_0" / "metrics.json").read_text())
    assert "scored on synthetic" in scored["scored"] and scored["test/HR@20"] == pytest.approx(got["test/HR@20"])


def test_checkpoint_on_other_data_needs_the_flag(checkpoint, tmp_path):
    """Other data than the checkpoint's is an error unless asked for (and leaves no run)."""
    root = ["--runs_root", str(tmp_path)]
    other = json.dumps({"dataset": "synthetic", "batch_size": 64, "synthetic": {**SYNTH, "seed": 1}})
    with pytest.raises(ValueError, match="trained on synthetic .* --other_data"):
        main(["test", "--ckpt_path", str(checkpoint), "--data", other, *root])
    wider = json.dumps({"dataset": "synthetic", "synthetic": {**SYNTH, "num_items": 50}})
    with pytest.raises(ValueError, match="scores 40 items but .* has 50"):
        main(["test", "--ckpt_path", str(checkpoint), "--data", wider, "--other_data", "true", *root])
    assert not (tmp_path / "seqrec").exists()
    got = main(["evaluate", "--ckpt_path", str(checkpoint), "--data", other, "--other_data", "true", *root])
    assert 0.0 <= got["test/HR@20"] <= 1.0
    assert (tmp_path / "seqrec" / "f_evaluate" / "version_0" / "metrics.json").is_file()


def test_reader_filters_are_logged_and_recorded(tmp_path, caplog):
    """The ReadReport counts are shown (logger seqrec) and stored in metrics.json."""
    path = tmp_path / "s.txt"
    path.write_text("1 1 2 3\n\n2 4 5\n   \n3 2 3 4 5\n4 1 5 2\n")
    caplog.set_level(logging.INFO, logger="seqrec")
    run_dir, _ = fit_run(DataConfig(dataset=str(path)), ModelConfig(method="popularity"),
                         TrainConfig(), runs_root=str(tmp_path / "runs"), name="s", progress=False)
    lines = [r.getMessage() for r in caplog.records if r.name == "seqrec"]
    assert lines == [f"read {path}: 3 users, 5 items; 2 blank lines skipped, 1 users too short dropped"]
    saved = json.loads((run_dir / "metrics.json").read_text())
    assert (saved["read/blank_lines"], saved["read/short_users"], saved["read/users"]) == (2, 1, 3)


def test_fresh_loader_replays_the_epoch_it_is_set_to():
    """Epoch k's order does not depend on how many epochs the loader has served."""
    def rows(loader):
        return torch.cat([b["input"][:, 0] for b in loader]).tolist()

    continuing = SeqRecDataModule("synthetic", batch_size=16, synthetic=SYNTH, seed=3).train_dataloader()
    orders = []
    for epoch in range(3):
        continuing.sampler.set_epoch(epoch)
        orders.append(rows(continuing))
    assert orders[0] != orders[2]
    fresh = SeqRecDataModule("synthetic", batch_size=16, synthetic=SYNTH, seed=3).train_dataloader()
    fresh.sampler.set_epoch(2)
    assert rows(fresh) == orders[2]


def _fit_cli(root, name: str, epochs: int, *resume: str) -> dict[str, float]:
    data = json.dumps({"dataset": "synthetic", "batch_size": 64, "synthetic": SYNTH})
    return main(["fit", "--data", data, "--model.method", "sasrec", "--model.hidden", "16", "--model.inner", "32",
                 "--max_epochs", str(epochs), "--train.patience", "50", "--runs_root", str(root),
                 "--name", name, "--progress", "false", "--threads", "1", *resume])


@pytest.mark.slow
def test_killed_and_resumed_fit_ends_like_an_uninterrupted_one(tmp_path):
    """`seqrec fit` stopped after epoch 1's checkpoint (the kill, simulated by
    max_epochs 1) and continued with the same command plus --resume to 2 epochs ends with the test
    metrics of 2 epochs in one go, in the same run directory."""
    whole = _fit_cli(tmp_path, "whole", 2)
    _fit_cli(tmp_path, "parts", 1)
    resumed = _fit_cli(tmp_path, "parts", 2, "--resume")
    assert not (tmp_path / "seqrec" / "parts" / "version_1").exists()
    saved = json.loads((tmp_path / "seqrec" / "parts" / "version_0" / "metrics.json").read_text())
    assert saved["epochs_run"] == 2
    for k in ("test/HR@5", "test/HR@20", "test/NDCG@10", "test/NDCG@20"):
        assert resumed[k] == whole[k], k


def _demo(root, epochs: int, *resume: str) -> dict[str, float]:
    return main(["demo", "--runs_root", str(root), "--max_epochs", str(epochs), "--num_users", "150", "--num_items", "40",
                 "--methods", "[popularity, sasrec]", "--progress", "false", "--threads", "1", *resume])


@pytest.mark.slow
def test_killed_and_resumed_demo_ends_like_an_uninterrupted_one(tmp_path, capsys):
    """`seqrec demo --resume` finds the checkpoint of
    its interrupted method inside the demo's run (stopped after epoch 1, simulated by --max_epochs 1) and
    ends with the test metrics of an uninterrupted demo, in the same run directory; it says which
    part continues and from which epoch (it used to name only the file)."""
    whole = _demo(tmp_path / "whole", 2)
    _demo(tmp_path / "parts", 1)
    capsys.readouterr()
    resumed = _demo(tmp_path / "parts", 2, "--resume")
    demo = tmp_path / "parts" / "seqrec" / "demo"
    part = demo / "version_0" / "sasrec" / "checkpoints" / "last.ckpt"
    assert f"sasrec: continuing from {part} (saved in epoch 1 at step" in capsys.readouterr().out
    assert sorted(p.name for p in demo.iterdir()) == ["version_0"]
    assert json.loads((demo / "version_0" / "sasrec" / "metrics.json").read_text())["epochs_run"] == 2
    assert resumed == whole


def _popularity_fit(root, *data_flags: str) -> dict[str, float]:
    return main(["fit", "--data.dataset", "synthetic", *data_flags, "--model.method", "popularity",
                 "--runs_root", str(root), "--progress", "false"])


def test_a_synthetic_setting_given_as_a_flag_is_a_number(tmp_path):
    """`--data.synthetic.num_topics 4` reached the generator as the string '4' (a TypeError deep in
    it); each flag is now read as a number and used."""
    got = _popularity_fit(tmp_path, "--data.synthetic.num_users", "150", "--data.synthetic.num_items", "40",
                          "--data.synthetic.num_topics", "4", "--data.synthetic.p_follow", "0.5")
    assert 0.0 <= got["test/HR@20"] <= 1.0
    saved = json.loads((tmp_path / "seqrec" / "synthetic" / "version_0" / "metrics.json").read_text())
    assert saved["read/users"] == 150 and saved["read/items"] == 40


@pytest.mark.parametrize("flags, message", [
    (["--data.synthetic.num_topic", "4"], (r"data\.synthetic\.num_topic: not a setting of the synthetic data "
                                          r"\(known: .*num_topics")),
    (["--data.synthetic.num_topics", "2.5"], r"data\.synthetic\.num_topics: expected a whole number, got 2\.5"),
    (["--data.synthetic.num_items", "40", "--data.synthetic.num_topics", "50"],
     r"data\.synthetic\.num_topics \(50\) must be between 1 and data\.synthetic\.num_items \(40\)"),
])
def test_a_bad_synthetic_setting_is_named(tmp_path, flags, message):
    """An unknown, fractional or inconsistent synthetic setting is one error naming the field,
    before any run exists."""
    with pytest.raises(ValueError, match=message):
        _popularity_fit(tmp_path, *flags)
    assert not (tmp_path / "seqrec").exists()


@pytest.fixture(scope="module")
def exported(checkpoint, tmp_path_factory):
    """An encoder written by `seqrec export` from the module's checkpoint."""
    return Path(main(["export", "--ckpt_path", str(checkpoint), "--runs_root", str(tmp_path_factory.mktemp("export"))]))


def _damaged(exported: Path, folder: Path, state_edit=None, config_edit=None) -> Path:
    """A copy of ``exported`` in ``folder`` with its tensors and/or constructor arguments edited."""
    from safetensors.torch import load_file, save_file

    state, meta = load_file(exported), json.loads(exported.with_suffix(".json").read_text())
    (state_edit or (lambda s: None))(state)
    (config_edit or (lambda c: None))(meta["config"])
    out = folder / "encoder.safetensors"
    save_file(state, out)
    out.with_suffix(".json").write_text(json.dumps(meta))
    shutil.copy(exported.with_suffix(".seqrec.json"), out.with_suffix(".seqrec.json"))
    return out


def _nan_items(state):
    state["item_emb.weight"][3] = float("nan")


@pytest.mark.parametrize("command", [["recommend", "--k", "5"], ["embed"], ["embed", "--users", "true"]])
def test_nan_item_embeddings_of_an_export_are_refused_before_any_output(exported, tmp_path, command):
    """A damaged export of the right shape (NaN item rows) gave a header-only recommendations.csv or
    an all-NaN embeddings file with exit 0; it is now refused naming the file, and no run is written."""
    bad = _damaged(exported, tmp_path, _nan_items)
    with pytest.raises(ValueError, match=re.escape(str(bad)) + r": non-finite .*item_emb\.weight"):
        main([*command[:1], "--ckpt_path", str(bad), *command[1:], "--runs_root", str(tmp_path / "runs")])
    assert not (tmp_path / "runs" / "seqrec").exists()


def test_nan_weights_of_a_checkpoint_are_refused(checkpoint, tmp_path):
    """The same damage in a fit checkpoint: refused naming the file, by every command that loads it."""
    ckpt = torch.load(checkpoint, weights_only=True)
    ckpt["state_dict"]["encoder.item_emb.weight"][2] = float("nan")
    bad = tmp_path / "version_0" / "checkpoints" / "nan.ckpt"
    bad.parent.mkdir(parents=True)
    torch.save(ckpt, bad)
    shutil.copy(checkpoint.parents[1] / "item_ids.json", bad.parents[1] / "item_ids.json")
    for command in ("test", "recommend", "embed", "export"):
        with pytest.raises(ValueError, match=re.escape(str(bad)) + r": non-finite .*encoder\.item_emb\.weight"):
            main([command, "--ckpt_path", str(bad), "--runs_root", str(tmp_path / "runs")])
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("command", [["recommend", "--k", "5"], ["embed", "--users", "true"]])
def test_finite_weights_whose_outputs_overflow_are_refused_before_any_output(exported, tmp_path, command):
    """Finite but huge item rows (3e38: their sum with the position embedding overflows float32)
    give NaN representations; that is an error naming the file, not a header-only CSV."""
    def huge(state):
        state["item_emb.weight"][1:] = 3e38

    bad = _damaged(exported, tmp_path, huge)
    with pytest.raises(ValueError, match=re.escape(str(bad)) + r": .*non-finite"):
        main([*command[:1], "--ckpt_path", str(bad), *command[1:], "--runs_root", str(tmp_path / "runs")])
    assert not (tmp_path / "runs" / "seqrec").exists()


def _drop_pos(state):
    del state["pos_emb.weight"]


def _add_tensor(state):
    state["head.weight"] = torch.zeros(3, 3)


def _wide_items(state):
    state["item_emb.weight"] = torch.zeros(50, state["item_emb.weight"].shape[1])


def _unknown_argument(config):
    config["colour"] = "red"


@pytest.mark.parametrize("state_edit, config_edit, message", [
    (_drop_pos, None, r"missing tensors: pos_emb\.weight"),
    (_add_tensor, None, r"unexpected tensors: head\.weight"),
    (_wide_items, None, r"item_emb\.weight: \(50, 16\) where the model has \(41, 16\)"),
    (None, _unknown_argument, r"SASRecEncoder takes no argument\(s\) colour"),
])
def test_a_damaged_export_is_one_error_naming_the_file(exported, tmp_path, state_edit, config_edit, message):
    """Missing, extra or mis-shaped tensors and unknown constructor arguments of an export."""
    bad = _damaged(exported, tmp_path, state_edit, config_edit)
    with pytest.raises(ValueError, match=re.escape(str(bad)) + ".*" + message):
        main(["recommend", "--ckpt_path", str(bad), "--runs_root", str(tmp_path / "runs")])
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("records_class", [True, False])
def test_another_apps_checkpoint_is_named_as_such(tmp_path, records_class):
    """A medts (COMET) checkpoint given to seqrec: one error naming the file and what it holds (the
    class checkpoints record, or the hyper-parameters of one written before classes were recorded)."""
    from contrastkit.train.checkpoint import CLASS_KEY
    from medts.method import COMET

    comet = COMET(input_dims=4, output_dims=8, hidden_dims=8, depth=1)
    path = tmp_path / "comet.ckpt"
    ckpt = {"state_dict": comet.state_dict(), "hyper_parameters": dict(comet.hparams)}
    if records_class:
        ckpt[CLASS_KEY] = {"module": "medts.method:COMET", "datamodule": None}
    torch.save(ckpt, path)
    held = (r"not a seqrec checkpoint: it holds a medts\.method:COMET, a model of another app" if records_class else
            r"records no model class \(another program's checkpoint, or one written before checkpoints recorded their "
            r"class\); its hyper-parameters: \(input_dims, output_dims, .*\)")
    for command in ("test", "recommend", "embed", "export"):
        with pytest.raises(ValueError, match=re.escape(str(path)) + ": " + held):
            main([command, "--ckpt_path", str(path), "--runs_root", str(tmp_path / "runs")])
    assert not (tmp_path / "runs").exists()


def test_a_checkpoint_whose_settings_do_not_fit_its_weights_lists_them(checkpoint, tmp_path):
    """Hyper-parameters edited (hidden 32 for weights of 16): the mis-shaped tensors, named with the file."""
    ckpt = torch.load(checkpoint, weights_only=True)
    ckpt["hyper_parameters"]["hidden"] = 32
    bad = tmp_path / "edited.ckpt"
    torch.save(ckpt, bad)
    with pytest.raises(ValueError, match=re.escape(str(bad)) + r": the weights do not fit SASRec.*"
                       r"encoder\.blocks\.0\.ff1\.weight: \(32, 16\) where the model has \(32, 32\)"):
        main(["test", "--ckpt_path", str(bad), "--runs_root", str(tmp_path / "runs")])


def _trained_epochs(run_dir: Path) -> list[int]:
    """The epochs with training steps in the newest CSV log of ``run_dir`` (one per fit or resume)."""
    newest = max((run_dir / "logs").glob("csv*/metrics.csv"), key=lambda p: p.stat().st_mtime)
    with newest.open() as f:
        return sorted({int(r["epoch"]) for r in csv.DictReader(f) if r.get("train/loss_step")})


def test_resume_after_the_damaged_last_checkpoint_is_deleted_continues_from_best(tmp_path, capsys):
    """A truncated last.ckpt stops --resume with "delete it and resume from an earlier checkpoint";
    after deleting it, --resume said it resumed from best.ckpt and then trained from epoch 0. It now
    continues after best.ckpt's epoch (its weights, optimizer and trainer state), as announced."""
    _fit_cli(tmp_path, "r", 2)
    run = tmp_path / "seqrec" / "r" / "version_0"
    best_epoch = int(torch.load(run / "checkpoints" / "best.ckpt", weights_only=True)["epoch"])
    last = run / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:1000])
    with pytest.raises(ValueError, match=re.escape(str(last)) + r": not a readable checkpoint .*delete it and resume"):
        _fit_cli(tmp_path, "r", 3, "--resume")
    last.unlink()
    capsys.readouterr()
    _fit_cli(tmp_path, "r", 3, "--resume")
    out = capsys.readouterr().out
    assert f"resuming {run} from checkpoints/best.ckpt (saved in epoch {best_epoch + 1} at step" in out
    assert _trained_epochs(run) == list(range(best_epoch + 1, 3))
    assert json.loads((run / "metrics.json").read_text())["epochs_run"] == 3
