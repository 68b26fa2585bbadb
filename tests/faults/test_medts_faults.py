"""Fault probes of the medts app : each corrupt input is made here, in tmp_path."""

import gzip
import re
import warnings

import numpy as np
import pytest
from contrastkit.paths import data_root
from medts.data import Construction, DataError, Recording, Source, build_set, split_set
from medts.data.datamodule import MedTSDataModule, loader
from medts.data.eeg_mne import read_mne
from medts.data.sampler import HierarchyBatchSampler
from medts.data.uci_eeg import read_uci_trial
from medts.data.windows import standardize

EDF = "eeg_arithmetic/Subject00_2.edf"
UCI = "eeg_smni/SMNI_CMI_TRAIN/co2a0000364/co2a0000364.rd.000.gz"


@pytest.fixture(scope="module")
def real_data():
    root = data_root()
    if not (root / "eeg_smni").exists():
        pytest.fail(f"real data not found at {root}; set CONTRASTKIT_DATA to the shared data folder")
    return root


SYN = {"kind": "synthetic", "synthetic_patients_per_class": 3, "synthetic_seconds": 10.0}


def _uci_with(real_data, tmp_path, edit) -> object:
    with gzip.open(real_data / UCI, "rt") as fh:
        text = edit(fh.read())
    bad = tmp_path / "co2a0000364.rd.000.gz"
    with gzip.open(bad, "wt") as fh:
        fh.write(text)
    return bad


def test_stale_cache_names_the_differing_fields(tmp_path):
    """A cache built from another config is an error naming the fields."""
    cache = str(tmp_path / "cache")
    MedTSDataModule(Source(**SYN), cache_dir=cache).setup()
    other = Source(**{**SYN, "synthetic_fs": 128.0})
    with pytest.raises(DataError, match=r"source.synthetic_fs: 64.0 -> 128.0.*rebuild_cache=True"):
        MedTSDataModule(other, cache_dir=cache).setup()
    dm = MedTSDataModule(other, cache_dir=cache, rebuild_cache=True)
    dm.setup()
    assert dm.parts["train"].fs == 128.0


def test_default_cache_is_under_the_runs_root_per_config(tmp_path):
    """Derived data go to <runs_root>/medts/cache/<hash of config>."""
    a = MedTSDataModule(Source(kind="uci_eeg", data_root="x"), runs_root=str(tmp_path))
    b = MedTSDataModule(Source(kind="uci_eeg", data_root="y"), runs_root=str(tmp_path))
    assert a.cache_dir.startswith(str(tmp_path / "medts" / "cache")) and a.cache_dir != b.cache_dir


def test_the_default_cache_follows_the_commands_runs_root(tmp_path):
    """`medts study --runs_root R`: the data cache goes to R/medts/cache/, unless the data name their own."""
    from medts.data.datamodule import with_runs_root

    moved = with_runs_root(MedTSDataModule(Source(kind="uci_eeg", data_root="x")), str(tmp_path))
    assert moved.cache_dir.startswith(str(tmp_path / "medts" / "cache")) and moved.hparams["runs_root"] == str(tmp_path)
    assert moved.source == Source(kind="uci_eeg", data_root="x")
    own = MedTSDataModule(Source(kind="uci_eeg", data_root="x"), cache_dir=str(tmp_path / "mine"))
    assert with_runs_root(own, str(tmp_path / "other")).cache_dir == str(tmp_path / "mine")


def test_truncated_edf_is_an_error(real_data, tmp_path):
    """A truncated EDF no longer loads with half its samples."""
    bad = tmp_path / "Subject00_2.edf"
    raw = (real_data / EDF).read_bytes()
    bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match=r"Subject00_2.edf: truncated file: the header declares 62 records"):
        read_mne(bad, "Subject00", "0")


def test_edf_channel_with_digital_min_equal_max_is_an_error(real_data, tmp_path):
    """Undefined scaling (digital min = max) names the file and channel."""
    raw = bytearray((real_data / EDF).read_bytes())
    ns = int(raw[252:256])
    dmin = 256 + ns * (16 + 80 + 8 + 8 + 8)
    raw[dmin + ns * 8:dmin + ns * 8 + 8] = raw[dmin:dmin + 8]  # channel 0: digital max := digital min
    bad = tmp_path / "Subject00_2.edf"
    bad.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=r"Subject00_2.edf: channel 'EEG Fp1': digital min -32768 >= digital max"):
        read_mne(bad, "Subject00", "0")


def _rec(signal, fs=64.0, pid="p1", label="a"):
    return Recording(signal.astype(np.float32), fs, pid, label, [f"c{i}" for i in range(signal.shape[1])], f"{pid}.edf")


def test_flat_channel_is_zero_not_noise_after_resampling():
    """A constant channel stays 0 through resampling and z-scoring (and warns)."""
    x = np.random.default_rng(0).normal(size=(640, 2))
    x[:, 1] = 1000.1
    with pytest.warns(UserWarning, match=r"p1.edf: flat channel\(s\) \['c1'\] set to 0"):
        ds = build_set([_rec(x)], Construction(trial_seconds=5, resample_hz=128))
    assert np.all(ds.trials[:, :, 1] == 0) and ds.trials[:, :, 0].std() > 0.5
    with pytest.raises(DataError, match=r"p1.edf: flat channel\(s\) \['c1'\]"):
        build_set([_rec(x)], Construction(trial_seconds=5, flat="error"))


def test_standardize_of_a_float32_constant_is_zero():
    """The documented 0, not -1."""
    assert np.all(standardize(np.full((256, 3), 1000.1, dtype=np.float32)) == 0)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: re.sub(r"^0 FP1 3 (\S+)$", r"0 FP1 300 \1", t, count=1, flags=re.MULTILINE),
     r"line \d+: sample index 300 of channel FP1 is outside 0..255"),
    (lambda t: re.sub(r"^0 FP1 3 (\S+)$", r"0 FP1 -3 \1", t, count=1, flags=re.MULTILINE),
     r"line \d+: sample index -3 of channel FP1 is outside"),
    (lambda t: re.sub(r"^0 FP1 3 (\S+)$", r"0 FP1 2 \1", t, count=1, flags=re.MULTILINE),
     r"line \d+: sample 2 of channel FP1 is given twice \(first on line \d+\)"),
    (lambda t: re.sub(r"^0 FP1 3 (\S+)$", r"0 FP1 3 \1 7", t, count=1, flags=re.MULTILINE),
     r"line \d+: 5 fields; expected 4"),
    (lambda t: re.sub(r"^0 FP1 3 (\S+)$", r"0 FP1 3 x", t, count=1, flags=re.MULTILINE),
     r"line \d+: value 'x' is not a number"),
])
def test_uci_bad_lines_name_file_and_line(real_data, tmp_path, edit, message):
    """Bad sample indices and malformed lines name the file and line."""
    bad = _uci_with(real_data, tmp_path, edit)
    with pytest.raises(DataError, match="co2a0000364.rd.000.gz: " + message):
        read_uci_trial(bad)


def test_uci_line_number_is_the_file_line(real_data, tmp_path):
    """The line number counts header lines too."""
    bad = _uci_with(real_data, tmp_path, lambda t: re.sub(r"^0 FP1 3 (\S+)$", r"0 FP1 3 \1 7", t, count=1, flags=re.MULTILINE))
    with gzip.open(bad, "rt") as fh:
        lines = fh.read().splitlines()
    n = next(i + 1 for i, ln in enumerate(lines) if ln.startswith("0 FP1 3 "))
    with pytest.raises(DataError, match=rf"line {n}: "):
        read_uci_trial(bad)


def test_identical_trials_under_two_ids_across_splits_warn():
    """The same data under two subject ids in two splits is reported."""
    rng = np.random.default_rng(0)
    recs = [_rec(rng.normal(size=(640, 2)), pid=f"p{i}", label="ab"[i % 2]) for i in range(10)]
    recs.append(_rec(recs[0].signal.copy(), pid="copy_of_p0", label="a"))
    ds = build_set(recs, Construction(trial_seconds=5))
    apart_seen = False
    for seed in range(10):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            parts = split_set(ds, seed=seed)
        where = {ds.patient_names[p]: k for k, v in parts.items() for p in np.unique(v.sample_patient)}
        apart = where["p0"] != where["copy_of_p0"]
        text = " ".join(str(w.message) for w in caught if "identical trial" in str(w.message))
        assert bool(text) == apart and (not apart or ("'p0'" in text and "'copy_of_p0'" in text))
        apart_seen |= apart
    assert apart_seen


def test_hierarchy_sampler_set_epoch_replays_a_continuing_run():
    """Epoch k after set_epoch(k) on a fresh sampler = the k-th epoch of a continuing one."""
    trial = np.repeat(np.arange(12), 3)
    patient = trial // 3
    going = HierarchyBatchSampler(trial, patient, 8, 2, seed=5)
    epochs = [list(going) for _ in range(4)]
    for k in range(4):
        fresh = HierarchyBatchSampler(trial, patient, 8, 2, seed=5)
        fresh.set_epoch(k)
        assert list(fresh) == epochs[k]
    assert epochs[0] != epochs[3]


def test_shuffled_loader_order_depends_on_epoch_not_on_calls():
    """A new fine-tuning loader at epoch k replays epoch k, not epoch 0."""
    ds = build_set([_rec(np.random.default_rng(i).normal(size=(640, 2)), pid=f"p{i}") for i in range(2)],
                   Construction(trial_seconds=5))
    first = loader(ds, 8, shuffle=True, seed=3)
    orders = []
    for e in range(3):
        first.sampler.set_epoch(e)
        orders.append(np.concatenate([b["index"].numpy() for b in first]))
    again = loader(ds, 8, shuffle=True, seed=3)
    again.sampler.set_epoch(2)
    assert np.array_equal(np.concatenate([b["index"].numpy() for b in again]), orders[2])
    assert not np.array_equal(orders[0], orders[2])


def test_config_type_error_names_the_field(tmp_path, capsys):
    """A wrong type in a medts config fails naming the field."""
    from medts.cli import main

    with pytest.raises(SystemExit):
        main(["study", "--comet.depth", "ten", "--protocol.seeds", "[0]"])
    err = capsys.readouterr().err
    assert "depth" in err and "ten" in err


class _Payload:
    """A pickle that creates a marker file when it is unpickled."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_malicious_checkpoint_refused_by_every_medts_command(tmp_path):
    """Embed, predict, export, figures, fit/validate/test --ckpt_path refuse a crafted
    pickle, naming the file; no code runs (an unrestricted load of the same file does run it)."""
    import torch
    from contrastkit.train import CheckpointError
    from medts.cli import main

    marker = tmp_path / "pwned"
    pretrain = tmp_path / "pretrain"
    (pretrain / "checkpoints").mkdir(parents=True)
    evil = pretrain / "checkpoints" / "last.ckpt"  # where `medts figures` looks
    torch.save({"state_dict": {}, "hyper_parameters": {"input_dims": 4}, "payload": _Payload(marker)}, evil)
    data = ["--data.source.kind", "synthetic"]
    lightning = ["--model.input_dims", "4", "--data.source.synthetic_patients_per_class", "3",
                 "--trainer.enable_progress_bar", "false", "--runs_root", str(tmp_path / "runs")]
    calls = {
        "embed": ["embed", "--ckpt_path", str(evil), "--runs_root", str(tmp_path / "runs")],
        "embed --data": ["embed", "--ckpt_path", str(evil), *data, "--runs_root", str(tmp_path / "runs")],
        "predict": ["predict", "--ckpt_path", str(evil), *data, "--runs_root", str(tmp_path / "runs")],
        "export": ["export", "--ckpt_path", str(evil), "--runs_root", str(tmp_path / "runs")],
        "figures": ["figures", str(pretrain), "--runs_root", str(tmp_path / "runs")],
        "validate": ["validate", "--ckpt_path", str(evil), *lightning],
        "test": ["test", "--ckpt_path", str(evil), *lightning],
        "fit": ["fit", "--ckpt_path", str(evil), *lightning, "--trainer.max_epochs", "1"],
    }
    for name, argv in calls.items():
        with pytest.raises(CheckpointError, match=rf"{re.escape(str(evil))}: refused: .*run code") as err:
            main(argv)
        assert "_Payload" in str(err.value) or "open" in str(err.value), name
        assert not marker.exists(), name
    torch.load(evil, weights_only=False)
    assert marker.exists()  # the probe is real


def _write_same_cache(cache: str, barrier) -> dict:
    from medts.data.sources import open_dataset

    barrier.wait()
    ds = open_dataset(Source(**SYN), Construction(trial_seconds=5.0), cache)
    return ds.summary()


def test_two_processes_writing_one_cache_at_once_both_read_a_valid_cache(tmp_path):
    """Two writers of the same medts cache at once (two runs, two DDP ranks) both
    end with the complete cache, no FileNotFoundError."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from medts.data.cache import read_cache

    cache = str(tmp_path / "cache")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ProcessPoolExecutor(2, mp_context=ctx) as pool:
        barrier = manager.Barrier(2)
        summaries = [f.result(timeout=240) for f in [pool.submit(_write_same_cache, cache, barrier) for _ in range(2)]]
    assert summaries[0] == summaries[1] == read_cache(cache).summary()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]  # no temporary folder left behind


def test_cache_is_never_half_written_at_its_path(tmp_path, monkeypatch):
    """While a cache is written, its folder holds nothing (a first write) or the
    old complete cache (a rebuild): the new one is renamed into place when complete."""
    import json as json_module

    from medts.data.cache import read_cache, write_cache
    from medts.data.sources import build_from_source

    ds = build_from_source(Source(**SYN), Construction(trial_seconds=5.0))
    out = tmp_path / "cache"
    seen = []
    dumps = json_module.dumps

    def watching_dumps(obj, **kw):  # called once the arrays are written, before the manifest
        seen.append(sorted(p.name for p in out.iterdir()) if out.exists() else [])
        return dumps(obj, **kw)

    monkeypatch.setattr(json_module, "dumps", watching_dumps)
    write_cache(ds, out, {"k": 1})
    old = read_cache(out).summary()
    write_cache(ds, out, {"k": 2}, overwrite=True)
    monkeypatch.undo()
    assert seen[0] == []  # the first write: nothing at the path yet
    assert seen[1] == ["manifest.json", "patient_label.npy", "sample_index.npy", "trial_patient.npy", "trials.npy"]
    assert read_cache(out).summary() == old and json_module.loads((out / "manifest.json").read_text())["config"] == {"k": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


SYN_FLAGS = ["--data.source.kind", "synthetic", "--data.source.synthetic_patients_per_class", "3",
             "--data.source.synthetic_seconds", "10"]
ENCODER = {"input_dims": 4, "output_dims": 8, "hidden_dims": 4, "depth": 1}


def _export(folder, edit_state=None, edit_config=None):
    """A TSEncoder exported as `medts export` writes it, its tensors and/or arguments edited."""
    import json

    import torch
    from contrastkit.train import export_encoder
    from medts.models.encoder import TSEncoder
    from medts.use import ENCODER_CLASS
    from safetensors.torch import load_file, save_file

    torch.manual_seed(0)
    path = export_encoder(TSEncoder(**ENCODER), folder / "encoder", dict(ENCODER), ENCODER_CLASS)
    state, meta = load_file(path), json.loads(path.with_suffix(".json").read_text())
    (edit_state or (lambda s: None))(state)
    (edit_config or (lambda c: None))(meta["config"])
    save_file(state, path)
    path.with_suffix(".json").write_text(json.dumps(meta))
    return path


def _seqrec_checkpoint(path, records_class=False):
    """What `seqrec fit` writes (a SASRec module's hyper-parameters and weights; the class it records
    since checkpoints record their class)."""
    import torch
    from contrastkit.train.checkpoint import CLASS_KEY
    from seqrec.baselines import SASRec

    m = SASRec(num_items=20, hidden=8, inner=16)
    ckpt = {"state_dict": m.state_dict(), "hyper_parameters": dict(m.hparams), "epoch": 0, "global_step": 0,
            "pytorch-lightning_version": "2.5.0"}
    if records_class:
        ckpt[CLASS_KEY] = {"module": "seqrec.baselines:SASRec", "datamodule": None}
    torch.save(ckpt, path)
    return path


@pytest.mark.parametrize("records_class", [True, False])
def test_another_apps_checkpoint_is_refused_by_what_it_is_not_by_missing_data(tmp_path, records_class):
    """A seqrec checkpoint given to medts embed / predict / export / figures: one error naming the file and
    what it holds (its class, or its hyper-parameters), not "give the data with --data.*", and no
    run folder."""
    from contrastkit.train import CheckpointError
    from medts.cli import main

    path = _seqrec_checkpoint(tmp_path / "seqrec.ckpt", records_class)
    held = (r"it holds a seqrec\.baselines:SASRec, a model of another app" if records_class
            else r"its hyper-parameters \(num_items, max_len, hidden, .*\)")
    runs = ["--runs_root", str(tmp_path / "runs")]
    for argv in (["embed", *runs], ["embed", *SYN_FLAGS, *runs], ["predict", *runs], ["predict", *SYN_FLAGS, *runs],
                 ["export", *runs]):
        with pytest.raises(CheckpointError, match=re.escape(str(path)) + r": not a medts checkpoint: " + held):
            main([argv[0], "--ckpt_path", str(path), *argv[1:]])
    pretrain = tmp_path / "pretrain"  # `medts figures` reads <pretrain>/checkpoints/last.ckpt
    (pretrain / "checkpoints").mkdir(parents=True)
    last = _seqrec_checkpoint(pretrain / "checkpoints" / "last.ckpt", records_class)
    with pytest.raises(CheckpointError, match=re.escape(str(last)) + r": not a medts checkpoint: " + held):
        main(["figures", str(pretrain), *runs])
    assert not (tmp_path / "runs").exists()


def test_another_apps_checkpoint_given_to_validate_lists_the_tensors(tmp_path):
    """`medts validate --ckpt_path <a seqrec checkpoint>`: today a bare state-dict RuntimeError from
    inside Lightning; now one error naming the file with load_state_checked's list."""
    from contrastkit.train import CheckpointError
    from medts.cli import main

    path = _seqrec_checkpoint(tmp_path / "seqrec.ckpt")
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + r": the weights do not fit COMET .*"
                       r"missing tensors: encoder\..*unexpected tensors: encoder\.blocks\.0\.ff1\.bias"):
        main(["validate", "--ckpt_path", str(path), "--model.input_dims", "4", *SYN_FLAGS,
              "--trainer.enable_progress_bar", "false", "--runs_root", str(tmp_path / "runs")])


def test_a_finetuned_checkpoint_written_before_classes_were_recorded_predicts_as_a_finetuner(tmp_path):
    """No recorded class: rebuilt as the FineTuner its hyper-parameters describe, the same outputs;
    hyper-parameters a FineTuner does not take are named with the file."""
    import torch
    from contrastkit.train import CheckpointError
    from medts.finetune import FineTuner
    from medts.use import load_finetuned

    torch.manual_seed(0)
    model = FineTuner(n_classes=3, encoder_kwargs=dict(ENCODER), class_names=["a", "b", "c"]).eval()
    path = tmp_path / "best.ckpt"
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams), "epoch": 0}, path)
    again = load_finetuned(path)
    assert type(again) is FineTuner and again.hparams.class_names == ["a", "b", "c"]
    x = np.random.default_rng(0).standard_normal((5, 32, 4)).astype(np.float32)
    np.testing.assert_array_equal(again.predict_proba(x), model.predict_proba(x))
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": {**dict(model.hparams), "colour": 1}}, path)
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + r": not a medts checkpoint: its hyper-parameters "
                                              r"\(n_classes, .*\) are not a FineTuner's: it takes no argument\(s\) colour"):
        load_finetuned(path)


def _nan_input_layer(state):
    state["input_fc.weight"][0, 0] = float("nan")


def _huge_input_layer(state):
    state["input_fc.weight"][:] = 3e38


def test_nan_weights_of_an_export_are_refused_before_any_output(tmp_path):
    """A damaged export of the right shape (NaN weights): `medts embed` failed only inside PCA and
    left an all-NaN embeddings.npy; now it is refused naming the file, before any run exists."""
    from medts.cli import main

    bad = _export(tmp_path, _nan_input_layer)
    with pytest.raises(ValueError, match=re.escape(str(bad)) + r": non-finite .*input_fc\.weight"):
        main(["embed", "--ckpt_path", str(bad), *SYN_FLAGS, "--runs_root", str(tmp_path / "runs")])
    assert not (tmp_path / "runs" / "medts" / "embed").exists()


def test_finite_weights_whose_embeddings_overflow_are_refused_before_any_output(tmp_path):
    """Finite but huge weights (3e38) overflow float32 inside the encoder: an error naming the
    file, and no embeddings.npy."""
    from medts.cli import main

    bad = _export(tmp_path, _huge_input_layer)
    with pytest.raises(ValueError, match=re.escape(str(bad)) + r": non-finite \(NaN or infinite\) embeddings"):
        main(["embed", "--ckpt_path", str(bad), *SYN_FLAGS, "--runs_root", str(tmp_path / "runs")])
    assert not (tmp_path / "runs" / "medts" / "embed").exists()


def test_nan_weights_of_a_finetuned_checkpoint_are_refused_by_predict(tmp_path):
    """`medts predict` with a fine-tuned checkpoint whose weights hold NaN: refused naming the file."""
    import torch
    from medts.cli import main
    from medts.finetune import FineTuner

    m = FineTuner(2, encoder_kwargs=ENCODER)
    state = m.state_dict()
    state["head.net.0.weight"][0] = float("nan")
    path = tmp_path / "best.ckpt"
    torch.save({"state_dict": state, "hyper_parameters": dict(m.hparams)}, path)
    with pytest.raises(ValueError, match=re.escape(str(path)) + r": non-finite .*head\."):
        main(["predict", "--ckpt_path", str(path), *SYN_FLAGS, "--runs_root", str(tmp_path / "runs")])
    assert not (tmp_path / "runs").exists()


def _drop_input_bias(state):
    del state["input_fc.bias"]


def _add_tensor(state):
    import torch

    state["head.weight"] = torch.zeros(2, 2)


def _narrow_input(state):
    import torch

    state["input_fc.weight"] = torch.zeros(4, 3)


def _unknown_argument(config):
    config["colour"] = "red"


@pytest.mark.parametrize("state_edit, config_edit, message", [
    (_drop_input_bias, None, r"missing tensors: input_fc\.bias"),
    (_add_tensor, None, r"unexpected tensors: head\.weight"),
    (_narrow_input, None, r"input_fc\.weight: \(4, 3\) where the model has \(4, 4\)"),
    (None, _unknown_argument, r"TSEncoder takes no argument\(s\) colour"),
])
def test_a_damaged_export_is_one_error_naming_the_file(tmp_path, state_edit, config_edit, message):
    """Missing, extra or mis-shaped tensors and unknown constructor arguments of an exported encoder."""
    from contrastkit.train import CheckpointError
    from medts.cli import main

    bad = _export(tmp_path, state_edit, config_edit)
    with pytest.raises(CheckpointError, match=re.escape(str(bad)) + ".*" + message):
        main(["embed", "--ckpt_path", str(bad), *SYN_FLAGS, "--runs_root", str(tmp_path / "runs")])
    assert not (tmp_path / "runs" / "medts" / "embed").exists()


TINY_DEMO = ["--patients_per_class", "3", "--seconds", "10", "--max_epochs_pretrain", "2", "--output_dims", "8",
             "--hidden_dims", "4", "--depth", "1", "--batch_size", "16", "--threads", "1", "--progress", "false",
             "--finetune_fraction", "1"]


def _trained_epochs(part) -> list[int]:
    """The epochs with training steps in the newest CSV log of a sub-run (one log per fit or resume)."""
    import csv

    newest = max((part / "logs").glob("csv*/metrics.csv"), key=lambda p: p.stat().st_mtime)
    with newest.open() as f:
        return sorted({int(r["epoch"]) for r in csv.DictReader(f) if r.get("train/loss_step")})


def test_demo_resume_after_the_damaged_finetune_checkpoint_is_deleted_continues_from_best(tmp_path, capsys):
    """The fine-tuning's last.ckpt truncated, then deleted as its error advises: --resume announced
    finetune/checkpoints/best.ckpt and then fine-tuned from epoch 0. It now continues after best.ckpt's
    epoch, and says which part continues from which epoch; the finished pretraining is not redone."""
    import yaml
    from medts.cli import main

    # as if killed after the first of two fine-tuning epochs (config then set to the uninterrupted run's)
    main(["demo", "--runs_root", str(tmp_path), *TINY_DEMO, "--max_epochs_finetune", "1"])
    run = tmp_path / "medts/demo/version_0"
    config = yaml.safe_load((run / "config.yaml").read_text())
    (run / "config.yaml").write_text(yaml.safe_dump({**config, "max_epochs_finetune": 2}))
    (run / "metrics.json").unlink()
    last = run / "finetune/checkpoints/last.ckpt"
    last.write_bytes(last.read_bytes()[:1000])
    with pytest.raises(ValueError, match=re.escape(str(last)) + r": not a readable checkpoint .*delete it and resume"):
        main(["demo", "--runs_root", str(tmp_path), *TINY_DEMO, "--max_epochs_finetune", "2", "--resume"])
    last.unlink()
    pretrained = (run / "pretrain/checkpoints/last.ckpt").stat().st_mtime_ns
    capsys.readouterr()
    main(["demo", "--runs_root", str(tmp_path), *TINY_DEMO, "--max_epochs_finetune", "2", "--resume"])
    out = capsys.readouterr().out
    best = run / "finetune/checkpoints/best.ckpt"
    assert f"resuming {run} from finetune/checkpoints/best.ckpt (saved in epoch 1 at step" in out
    assert f"continuing from {best} (saved in epoch 1 at step" in out
    assert f"continuing from {run / 'pretrain/checkpoints/last.ckpt'} (saved in epoch 2 at step" in out
    assert _trained_epochs(run / "finetune") == [1]
    assert (run / "pretrain/checkpoints/last.ckpt").stat().st_mtime_ns == pretrained
