"""The trained model in use: ``medts embed`` (sample embeddings + ids), ``medts predict`` (labels
and class probabilities per sample and per patient) and ``medts export`` (the encoder as
safetensors + JSON, loadable without Lightning checkpoints). Each writes its own run folder
``<runs_root>/medts/<name>/version_K/``.

Checkpoints are read with :func:`contrastkit.train.load_checkpoint` (``weights_only=True``: a
crafted pickle is refused). ``embed`` takes a pretraining checkpoint (``medts fit``, ``demo``,
``study``), a fine-tuned one, or an exported encoder (``.safetensors``); ``predict`` takes a
fine-tuned checkpoint (``<run>/finetune*/checkpoints/best.ckpt`` of ``medts demo`` / ``study``).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Literal

import numpy as np

from medts.data.datamodule import MedTSDataModule

Part = Literal["all", "train", "val", "test"]
ENCODER_CLASS = "medts.models.encoder.TSEncoder"


def _required(path: str | Path) -> None:
    if not str(path):
        raise ValueError("--ckpt_path is required (a .ckpt of medts fit / demo / study, or an exported .safetensors)")


def _prefixed(state: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def _medts_checkpoint(path: Path) -> dict:
    """The checkpoint at ``path`` (:func:`contrastkit.train.load_checkpoint`, weights only), refused
    naming what it holds when it is not a medts one (the model class recorded in checkpoints written
    since classes are recorded, else its hyper-parameters): a pretraining checkpoint records ``input_dims``,
    a fine-tuned one ``n_classes`` and ``encoder_kwargs`` (another app's would otherwise fail later
    with a misleading message)."""
    from contrastkit.train import CheckpointError, load_checkpoint
    from contrastkit.train.checkpoint import CLASS_KEY

    ckpt = load_checkpoint(path)
    recorded = (ckpt.get(CLASS_KEY) or {}).get("module")
    if isinstance(recorded, str) and recorded.split(".")[0] != "medts":
        raise CheckpointError(f"{path}: not a medts checkpoint: it holds a {recorded}, a model of another app")
    hp = dict(ckpt.get("hyper_parameters") or {})
    if "state_dict" not in ckpt or not ("input_dims" in hp or {"n_classes", "encoder_kwargs"} <= hp.keys()):
        names = [k for k in hp if not k.startswith("_")] or ["none"]
        raise CheckpointError(f"{path}: not a medts checkpoint: its hyper-parameters ({', '.join(names[:6])}"
                              f"{', ...' if len(names) > 6 else ''}) have neither input_dims (pretraining) nor "
                              "n_classes and encoder_kwargs (fine-tuned); another app's checkpoint?")
    return ckpt


def records_class(ckpt: dict) -> bool:
    """Whether a checkpoint records its model class (every checkpoint of a ContrastKit trainer
    does): it is then rebuilt by :func:`contrastkit.train.load_module`; older ones by their
    hyper-parameters."""
    from contrastkit.train.checkpoint import CLASS_KEY

    return isinstance((ckpt.get(CLASS_KEY) or {}).get("module"), str)


def load_encoder_from(path: str | Path):
    """The :class:`~medts.models.encoder.TSEncoder` of a checkpoint or an exported encoder, in eval mode.

    - ``*.safetensors``: written by ``medts export`` (:func:`contrastkit.train.load_encoder`);
    - a fine-tuned checkpoint (a :class:`~medts.finetune.FineTuner`): its ``encoder``;
    - a pretraining checkpoint (COMET, TS2Vec, SimCLR): the weight average when it kept one
      (the encoder used downstream), else its ``encoder``.

    Checkpoints are rebuilt as the class they record (:func:`contrastkit.train.load_module`);
    those written before classes were recorded, from their hyper-parameters.

    Another app's checkpoint, constructor arguments the encoder does not take, and missing, extra,
    mis-shaped or non-finite tensors are a ``CheckpointError`` naming the file.
    """
    from contrastkit.train import (
        CheckpointError,
        build_checked,
        load_encoder,
        load_module,
        load_state_checked,
    )

    from medts.finetune import FineTuner
    from medts.models.encoder import TSEncoder

    _required(path)
    path = Path(path)
    if path.suffix == ".safetensors":
        state, class_name, config = load_encoder(path)
        if class_name != ENCODER_CLASS:
            raise CheckpointError(f"{path}: holds a {class_name}, not a {ENCODER_CLASS}")
    else:
        ckpt = _medts_checkpoint(path)
        if records_class(ckpt):
            module = load_module(path, packages=("medts",))
            return (module.encoder if isinstance(module, FineTuner) else module.averaged_encoder()).eval()
        hp, full = dict(ckpt.get("hyper_parameters") or {}), ckpt["state_dict"]
        if "n_classes" in hp:
            config, state = hp.get("encoder_kwargs") or {}, _prefixed(full, "encoder.")
        else:
            config = {k: hp[k] for k in ("input_dims", "output_dims", "hidden_dims", "depth", "dropout") if k in hp}
            state = _prefixed(full, "swa_encoder.module.") or _prefixed(full, "encoder.")
        if not state:
            raise CheckpointError(f"{path}: no encoder weights (encoder.* or swa_encoder.module.*) in it")
    return load_state_checked(build_checked(TSEncoder, config, path), state, path).eval()


def is_finetuned(path: str | Path) -> bool:
    """Whether ``path`` is a fine-tuned checkpoint (a classifier: ``n_classes`` among its
    hyper-parameters); an exported encoder is not. Foreign or damaged files are named."""
    _required(path)
    if Path(path).suffix == ".safetensors":
        return False
    return "n_classes" in dict(_medts_checkpoint(Path(path)).get("hyper_parameters") or {})


def load_finetuned(path: str | Path):
    """The :class:`~medts.finetune.FineTuner` of a fine-tuned checkpoint, in eval mode (loaded and
    refused as by :func:`load_encoder_from`); one written before classes were recorded is a FineTuner."""
    from contrastkit.train import CheckpointError, load_module

    from medts.finetune import FineTuner

    _required(path)
    if not is_finetuned(path):
        raise CheckpointError(f"{path}: not a fine-tuned checkpoint (no classifier in it); predict needs "
                              "<run>/finetune*/checkpoints/best.ckpt of `medts demo` or `medts study`")
    return load_module(path, packages=("medts",), expected=FineTuner, fallback=FineTuner)


def check_finite(values: np.ndarray, what: str, source: str | Path) -> np.ndarray:
    """``values`` ``(N, ...)``, or a ``ValueError`` naming ``source`` when a row holds NaN or an
    infinity (finite weights can still overflow float32): never a NaN file."""
    bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
    if bad.any():
        raise ValueError(f"{source}: non-finite (NaN or infinite) {what} for {int(bad.sum())} of {len(bad)} samples "
                         "(the weights overflow float32: a damaged file?); nothing was written")
    return values


def run_data_settings(path: str | Path) -> dict:
    """The ``data`` section of the ``config.yaml`` of the run that holds ``path`` (a checkpoint in
    ``<run>/finetune*/checkpoints/`` of ``medts demo``, or deeper in a ``medts study``); ``{}`` when
    no run above it records its data."""
    import yaml

    for folder in list(Path(path).resolve().parents)[:6]:
        config = folder / "config.yaml"
        if config.is_file():
            data = (yaml.safe_load(config.read_text()) or {}).get("data")
            if isinstance(data, dict) and "source" in data:
                return data
    return {}


def data_of(path: str | Path, data: MedTSDataModule | None) -> MedTSDataModule:
    """``data`` when given, else the data module a checkpoint records (``medts fit``, pretraining),
    else the data of the run that holds it (:func:`run_data_settings`)."""
    if data is not None:
        return data
    _required(path)
    from contrastkit.train import load_checkpoint

    from medts.data import Construction, Source

    hp = {} if Path(path).suffix == ".safetensors" else dict(load_checkpoint(path).get("datamodule_hyper_parameters") or {})
    hp = hp or run_data_settings(path)
    if not hp:
        raise ValueError(f"{path} records no data settings: give the data with --data.* (or --data DATA.yaml), "
                         "e.g. --data.source.kind synthetic")
    source = dict(hp["source"])
    if "root" in source:  # recorded before the data folder was named data_root
        source["data_root"] = source.pop("root")
    return MedTSDataModule(**{**hp, "source": Source(**source), "construction": Construction(**hp["construction"])})


def samples_of(data: MedTSDataModule, part: Part):
    """The :class:`~medts.data.hierarchy.HierarchicalSet` of one split part, or of every patient (``all``)."""
    from medts.data.sources import open_dataset

    if part == "all":
        return open_dataset(data.source, data.construction, data.cache_dir, data.rebuild_cache)
    data.setup()
    return data.parts[part]


def sample_ids(ds) -> list[str]:
    """One id per sample, in row order: ``<patient>/trial<k>/start<offset>``."""
    ids = _ids(ds)
    return [f"{p}/trial{t}/start{s}" for p, t, s in zip(ids["patient"], ids["trial"], ids["start"], strict=True)]


def _ids(ds) -> dict[str, np.ndarray]:
    """Per sample: its patient (name), trial id, start offset in the trial, and class (name)."""
    return {"patient": np.asarray(ds.patient_names)[ds.sample_patient], "trial": ds.sample_trial,
            "start": ds.sample_index[:, 1], "label": np.asarray(ds.class_names)[ds.sample_label]}


def _write_csv(path: Path, columns: dict[str, np.ndarray]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        w.writerows(zip(*columns.values(), strict=True))
    return path


def _open(ckpt_path: str, data: MedTSDataModule, part: Part, name: str, runs_root: str) -> Path:
    """A new run directory whose config names the checkpoint, data and part."""
    from contrastkit.train import open_run

    config = {"ckpt_path": str(ckpt_path), "data": dict(data.hparams), "part": part}
    return open_run(runs_root, "medts", name, config)


def embed(ckpt_path: str = "", data: MedTSDataModule | None = None, part: Part = "all", name: str = "embed",
          runs_root: str = "runs") -> str:
    """Encoder embeddings per sample of a checkpoint or exported encoder.

    Writes ``embeddings.npy`` ``(N, D)`` and ``embeddings.ids.json`` (one id per row,
    ``<patient>/trial<k>/start<offset>``: :func:`contrastkit.train.write_embeddings`) and
    ``plots/embeddings.png`` (by class) in ``<runs_root>/medts/<name>/version_K``.

    Args:
        ckpt_path: a pretraining or fine-tuned checkpoint, or an exported ``.safetensors`` encoder.
        data: the data (MedTSDataModule's arguments); default: the data the checkpoint or its run records.
        part: which patients: ``all``, or one part of the data's patient split.
        name / runs_root: the run directory.
    """
    import torch
    from contrastkit.train import (
        announce_run,
        failure_marked,
        plot_embeddings,
        write_embeddings,
        write_metrics,
    )

    from medts.models.encoder import embed_samples

    encoder = load_encoder_from(ckpt_path)  # a foreign or damaged file is named before the data is asked for
    data = data_of(ckpt_path, data)
    ds = samples_of(data, part)
    z = embed_samples(encoder, torch.from_numpy(ds.samples(np.arange(ds.n_samples)))).cpu().numpy()
    check_finite(z, "embeddings", ckpt_path)  # before any run exists
    run_dir = _open(ckpt_path, data, part, name, runs_root)
    with failure_marked(run_dir):
        npy, _ = write_embeddings(run_dir, z, sample_ids(ds), model=str(ckpt_path))
        ids = _ids(ds)
        if len(z) >= 2:
            plot_embeddings(z, ids["label"], run_dir / "plots" / "embeddings.png", f"{part} samples by class", "class")
        write_metrics(run_dir, {"samples": len(z), "dims": int(z.shape[1]), "patients": int(len(set(ids["patient"])))})
    print(f"{len(z)} embeddings of {z.shape[1]} dimensions")
    announce_run(run_dir)
    return str(npy)


def predict(ckpt_path: str = "", data: MedTSDataModule | None = None, part: Part = "all", name: str = "predict",
            runs_root: str = "runs") -> dict[str, float]:
    """Labels and class probabilities per sample and per patient from a fine-tuned checkpoint (CSV).

    Writes ``predictions_samples.csv``, ``predictions_patients.csv`` (a patient's probabilities
    are the mean of its samples') and the metrics against the data's labels (``metrics.json``) in
    ``<runs_root>/medts/<name>/version_K``.

    Args:
        ckpt_path: a fine-tuned checkpoint (``<run>/finetune*/checkpoints/best.ckpt``).
        data: the data (MedTSDataModule's arguments: ``--data.source.*`` or ``--data DATA.yaml``);
            default: the data of the run that holds the checkpoint.
        part: which patients: ``all``, or one part of the data's patient split.
        name / runs_root: the run directory.
    """
    from contrastkit.train import announce_run, failure_marked, write_metrics

    from medts.evaluate import patient_probabilities, score

    model = load_finetuned(ckpt_path)  # a foreign or damaged file is named before the data is asked for
    classes = list(model.hparams.class_names)
    data = data_of(ckpt_path, data)
    ds = samples_of(data, part)
    if list(ds.class_names) != classes:
        raise ValueError(f"{ckpt_path}: the model predicts the classes {classes}, the data has {ds.class_names}")
    probs = check_finite(model.predict_proba(ds.samples(np.arange(ds.n_samples))), "probabilities", ckpt_path)
    run_dir = _open(ckpt_path, data, part, name, runs_root)
    with failure_marked(run_dir):
        p_cols = {f"p_{c}": probs[:, k] for k, c in enumerate(classes)}
        ids = _ids(ds)
        _write_csv(run_dir / "predictions_samples.csv", {
            "row": np.arange(len(probs)), **ids, "predicted": np.asarray(classes)[probs.argmax(1)], **p_cols})
        pid, pp = patient_probabilities(probs, ds.sample_patient)
        _write_csv(run_dir / "predictions_patients.csv", {
            "patient": np.asarray(ds.patient_names)[pid], "samples": np.bincount(ds.sample_patient)[pid],
            "label": np.asarray(classes)[ds.patient_label[pid]], "predicted": np.asarray(classes)[pp.argmax(1)],
            **{f"p_{c}": pp[:, k] for k, c in enumerate(classes)}})
        metrics = score(ds, probs)
        write_metrics(run_dir, {**metrics, "samples": len(probs), "patients": len(pid)})
    print(f"{len(probs)} samples, {len(pid)} patients: sample accuracy {metrics['sample/accuracy']:.3f}, "
          f"patient accuracy {metrics['patient/accuracy']:.3f}")
    announce_run(run_dir)
    return metrics


def export(ckpt_path: str = "", name: str = "export", runs_root: str = "runs") -> str:
    """Export a checkpoint's encoder as safetensors + JSON config, loadable without Lightning.

    Writes ``encoder.safetensors`` and ``encoder.json`` in ``<runs_root>/medts/<name>/version_K``;
    ``medts embed --ckpt_path <run>/encoder.safetensors`` and :func:`load_encoder_from` read it back.

    Args:
        ckpt_path: a pretraining or fine-tuned checkpoint.
        name / runs_root: the run directory.
    """
    from contrastkit.train import announce_run, export_encoder, failure_marked, open_run

    encoder = load_encoder_from(ckpt_path)
    run_dir = open_run(runs_root, "medts", name, {"ckpt_path": str(ckpt_path)})
    with failure_marked(run_dir):
        path = export_encoder(encoder, run_dir / "encoder", encoder.config(), ENCODER_CLASS)
    print(f"wrote {path} and {path.with_suffix('.json')}")
    announce_run(run_dir)
    return str(path)
