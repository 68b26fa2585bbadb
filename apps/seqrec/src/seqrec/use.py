"""A trained model in use: ``seqrec recommend``, ``seqrec embed`` and ``seqrec export``.

Each takes ``--ckpt_path``: a ``.ckpt`` written by ``seqrec fit`` (read with
:func:`contrastkit.train.load_module`, weights only), or an encoder written by ``seqrec export``
(``encoder.safetensors`` with ``encoder.json`` and ``encoder.seqrec.json`` beside it, read with
:func:`contrastkit.train.load_encoder`, no Lightning checkpoint or pickle involved). Item ids in and
out are the data's own: the model's item ``k`` is ``item_ids[k - 1]`` of the run's
``item_ids.json`` (written by ``seqrec fit``) or of the export's ``encoder.seqrec.json``.

Every command writes a run ``<runs_root>/seqrec/<name>/version_K/`` and ends by printing where it is.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from contrastkit.train import (
    CheckpointError,
    announce_run,
    build_checked,
    export_encoder,
    failure_marked,
    load_encoder,
    load_state_checked,
    open_run,
    write_embeddings,
    write_metrics,
)

from seqrec.config import DataConfig, build_datamodule
from seqrec.data.split import pad_right
from seqrec.evaluate import mask_history_
from seqrec.models import SASRecEncoder
from seqrec.runner import describe_data, load_module

ENCODER_ARGS = ("num_items", "max_len", "hidden", "n_layers", "heads", "inner", "dropout", "attn_dropout")


@dataclass
class Trained:
    """A trained encoder with what it needs to be used: the data's item ids (``item_ids[k - 1]`` is
    the id of model item ``k``) and the data it was trained on (None when not recorded)."""

    encoder: SASRecEncoder
    config: dict[str, Any]  # the encoder's constructor arguments
    item_ids: list[Any]
    data: DataConfig | None
    source: str


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing ({what})")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None


def load_trained(ckpt_path: str | Path, device: str = "cpu") -> Trained:
    """The encoder of a ``seqrec fit`` checkpoint or a ``seqrec export`` encoder (module docstring)."""
    if not ckpt_path:
        raise ValueError("--ckpt_path is required: a .ckpt written by seqrec fit or an encoder.safetensors "
                         "written by seqrec export")
    path = Path(ckpt_path)
    if path.suffix in (".safetensors", ".json"):
        state, class_name, config = load_encoder(path)
        if class_name != "SASRecEncoder":
            raise CheckpointError(f"{path}: an exported {class_name}, not a seqrec SASRecEncoder")
        encoder = load_state_checked(build_checked(SASRecEncoder, config, path), state, path)
        meta = _read_json(path.with_suffix(".seqrec.json"), "item ids and data of an exported seqrec encoder")
        item_ids, data = meta["item_ids"], DataConfig(**meta["data"]) if meta.get("data") else None
    else:
        module, data = load_module(path)
        encoder, config = module.encoder, {k: module.hparams[k] for k in ENCODER_ARGS}
        ids_path = path.resolve().parents[1] / "item_ids.json"  # <run>/checkpoints/x.ckpt -> <run>/item_ids.json
        item_ids = _read_json(ids_path, "the data's item ids, written by seqrec fit beside checkpoints/")
    if len(item_ids) != encoder.num_items:
        raise ValueError(f"{path}: the model scores {encoder.num_items} items but its item ids list {len(item_ids)}")
    return Trained(encoder.to(device).eval(), config, item_ids, data, str(path))


def _user_sequences(trained: Trained, data: DataConfig | None) -> tuple[list[str], list[np.ndarray], str]:
    """``(user ids, dense item sequences, description)`` of every user of ``data`` (default: the
    data the model was trained on); each sequence is the user's whole history."""
    data = data or trained.data
    if data is None:
        raise ValueError(f"{trained.source} records no dataset: pass --data.dataset")
    dm = build_datamodule(data)
    dm.prepare_split()
    if dm.num_items != trained.encoder.num_items:
        raise ValueError(f"{trained.source}: the model scores {trained.encoder.num_items} items but "
                         f"{describe_data(data)} has {dm.num_items}")
    return [str(u) for u in dm.data.user_ids], list(dm.data.sequences), describe_data(data)


def read_histories(path: str | Path, item_ids: list[Any]) -> tuple[list[str], list[np.ndarray]]:
    """Histories from a text file, one per line ``user item item ...`` (the data's item ids, oldest
    first; blank lines skipped); an unknown item id is an error naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such history file")
    index = {str(i): k + 1 for k, i in enumerate(item_ids)}
    users, seqs = [], []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 2:
            raise ValueError(f"{path}:{n}: expected 'user item item ...', got {line.strip()!r}")
        seqs.append(_dense(fields[1:], index, f"{path}:{n}"))
        users.append(fields[0])
    if not seqs:
        raise ValueError(f"{path}: no history in the file")
    return users, seqs


def _dense(ids: list[Any], index: dict[str, int], where: str) -> np.ndarray:
    unknown = [str(i) for i in ids if str(i) not in index]
    if unknown:
        raise ValueError(f"{where}: item id(s) {', '.join(unknown[:5])} not among the model's {len(index)} items")
    return np.array([index[str(i)] for i in ids], dtype=np.int64)


def check_finite(values: torch.Tensor, what: str, source: str) -> torch.Tensor:
    """``values`` ``(R, ...)``, or a ``ValueError`` naming ``source`` when a row holds NaN or an
    infinity (finite weights can still overflow float32): never a silent NaN output."""
    bad = ~torch.isfinite(values.reshape(len(values), -1)).all(1)
    if bool(bad.any()):
        raise ValueError(f"{source}: non-finite (NaN or infinite) {what} in {int(bad.sum())} of {len(bad)} rows "
                         "(the weights overflow float32: a damaged file?); nothing was written")
    return values


@torch.no_grad()
def represent(encoder: SASRecEncoder, seqs: list[np.ndarray], batch_size: int = 1024,
              source: str = "the model") -> torch.Tensor:
    """Sequence representations ``(U, D)`` (the last ``max_len`` items of each sequence); a
    non-finite one is an error naming ``source``."""
    device = next(encoder.parameters()).device
    out = []
    for start in range(0, len(seqs), batch_size):
        x, n = pad_right(seqs[start:start + batch_size], encoder.max_len)
        out.append(encoder.represent(x[:, : int(n.max())].to(device), n.to(device)).float().cpu())
    return check_finite(torch.cat(out), "user representations", source)


@torch.no_grad()
def top_items(encoder: SASRecEncoder, seqs: list[np.ndarray], k: int,
              batch_size: int = 1024, source: str = "the model") -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` best items ``(U, k)`` (model ids ``1..N``, 0 where fewer remain) and their scores
    ``<h_u, e_i>`` (``-inf`` there), excluding every item of each user's history; a non-finite
    score is an error naming ``source``."""
    items = check_finite(encoder.item_table().float(), "item embeddings", source)
    k = min(k, items.shape[0])
    ids, scores = [], []
    for start in range(0, len(seqs), batch_size):
        part = seqs[start:start + batch_size]
        s = represent(encoder, part, batch_size, source).to(items.device) @ items.T
        check_finite(s, "scores", source)
        history, _ = pad_right(part, max(len(q) for q in part))
        mask_history_(s, history.to(s.device))
        best = s.topk(k, dim=1)
        ids.append(torch.where(torch.isfinite(best.values), best.indices + 1, 0).cpu())
        scores.append(best.values.cpu())
    return torch.cat(ids), torch.cat(scores)


def recommend(ckpt_path: str = "", k: int = 10, users: list[str] | None = None,
              history: list[int | str] | None = None, history_file: str | None = None,
              data: DataConfig | None = None, runs_root: str = "runs", name: str = "recommend", show: int = 3,
              device: str = "cpu") -> str:
    """Top-k items for users of the data, or for histories given on the command line or in a file.

    Writes ``recommendations.csv`` (``user,rank,item,score``, the data's item ids) in the run
    directory and prints the first ``show`` users'. Items of a user's history are never recommended.

    Args:
        ckpt_path: a .ckpt written by seqrec fit, or an encoder.safetensors written by seqrec export.
        k: items per user.
        users: only these users of the data (default: all of them).
        history: one history of item ids, oldest first (written as user "history").
        history_file: histories, one per line "user item item ..." (item ids, oldest first).
        data: the users' data (default: the data the model was trained on).
        runs_root: the runs folder.
        name: the run name: the run is <runs_root>/seqrec/<name>/version_K.
        show: users printed.
        device: torch device.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1; got {k}")
    if history is not None and history_file:
        raise ValueError("give --history or --history_file, not both")
    trained = load_trained(ckpt_path, device)
    if history is not None:
        if not history:
            raise ValueError("--history is empty: give at least one item id")
        index = {str(i): j + 1 for j, i in enumerate(trained.item_ids)}
        user_ids, seqs, what = ["history"], [_dense(list(history), index, "--history")], "--history"
    elif history_file:
        (user_ids, seqs), what = read_histories(history_file, trained.item_ids), history_file
    else:
        user_ids, seqs, what = _user_sequences(trained, data)
        if users:
            keep = {str(u) for u in users}
            missing = keep - set(user_ids)
            if missing:
                raise ValueError(f"user(s) {', '.join(sorted(missing)[:5])} not in {what}")
            chosen = [j for j, u in enumerate(user_ids) if u in keep]
            user_ids, seqs = [user_ids[j] for j in chosen], [seqs[j] for j in chosen]
    config = {"command": "recommend", "ckpt_path": str(ckpt_path), "k": k, "users": users, "history": history,
              "history_file": history_file, "data": asdict(data) if data else None}
    ids, scores = top_items(trained.encoder, seqs, k, source=trained.source)  # checked before any run exists
    run_dir = open_run(runs_root, "seqrec", name, config)
    with failure_marked(run_dir):
        out = run_dir / "recommendations.csv"
        with out.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["user", "rank", "item", "score"])
            for user, row_ids, row_scores in zip(user_ids, ids.tolist(), scores.tolist(), strict=True):
                for rank, (item, score) in enumerate(zip(row_ids, row_scores, strict=True), 1):
                    if item:
                        writer.writerow([user, rank, trained.item_ids[item - 1], f"{score:.6g}"])
        write_metrics(run_dir, {"users": len(user_ids), "k": k, "source": trained.source, "histories": what})
    print(f"top {k} items for {len(user_ids):,} users of {what}, from {trained.source}:")
    for user, row_ids in list(zip(user_ids, ids.tolist()))[:show]:
        print(f"  {user}: " + " ".join(str(trained.item_ids[i - 1]) for i in row_ids if i))
    print(f"recommendations: {out}")
    announce_run(run_dir)
    return str(run_dir)


def embed(ckpt_path: str = "", items: bool = True, users: bool = False, data: DataConfig | None = None,
          runs_root: str = "runs", name: str = "embed", device: str = "cpu") -> str:
    """Item embeddings and/or user (sequence) representations of a trained model, as .npy + ids.

    Writes in the run directory, through :func:`contrastkit.train.write_embeddings`,
    ``embeddings.npy`` (N, D), the output layer's row of each item, with ``embeddings.ids.json``
    (the data's item ids, in row order), and with ``--users true`` ``users.npy`` (U, D), the
    representation of each user's whole history, with ``users.ids.json`` (the user ids).

    Args:
        ckpt_path: a .ckpt written by seqrec fit, or an encoder.safetensors written by seqrec export.
        items: write the item embeddings.
        users: write the user representations.
        data: the users' data (default: the data the model was trained on).
        runs_root: the runs folder.
        name: the run name: the run is <runs_root>/seqrec/<name>/version_K.
        device: torch device.
    """
    if not items and not users:
        raise ValueError("embed needs --items true and/or --users true")
    trained = load_trained(ckpt_path, device)
    user_ids, seqs, what = _user_sequences(trained, data) if users else ([], [], "")
    config = {"command": "embed", "ckpt_path": str(ckpt_path), "items": items, "users": users,
              "data": asdict(data) if data else None}
    # computed and checked (finite) before any run exists
    table = check_finite(trained.encoder.item_table().detach().float().cpu(), "item embeddings", trained.source)
    reps = represent(trained.encoder, seqs, source=trained.source) if users else None
    run_dir = open_run(runs_root, "seqrec", name, config)
    with failure_marked(run_dir):
        written = {}
        if items:
            write_embeddings(run_dir, table, trained.item_ids, model=trained.source)
            written["embeddings"] = list(table.shape)
        if users:
            write_embeddings(run_dir, reps, user_ids, name="users", model=trained.source)
            written["users"] = list(reps.shape)
        write_metrics(run_dir, {"source": trained.source, **{f"shape/{k}": v for k, v in written.items()}})
    print(f"embeddings of {trained.source}" + (f" (users of {what})" if users else "") + ": "
          + ", ".join(f"{k}.npy {tuple(v)}" for k, v in written.items()))
    announce_run(run_dir)
    return str(run_dir)


def export(ckpt_path: str = "", runs_root: str = "runs", name: str = "export") -> str:
    """Export a checkpoint's encoder as safetensors + JSON, readable without Lightning or pickles.

    Writes ``encoder.safetensors``, ``encoder.json`` (class and constructor arguments) and
    ``encoder.seqrec.json`` (item ids and data) in the run directory; embed and recommend take
    ``--ckpt_path <run>/encoder.safetensors``.

    Args:
        ckpt_path: a .ckpt written by seqrec fit.
        runs_root: the runs folder.
        name: the run name: the run is <runs_root>/seqrec/<name>/version_K.
    """
    if not str(ckpt_path).endswith(".ckpt"):
        raise ValueError(f"{ckpt_path!r}: export takes a .ckpt written by seqrec fit")
    trained = load_trained(ckpt_path)
    run_dir = open_run(runs_root, "seqrec", name, {"command": "export", "ckpt_path": str(ckpt_path)})
    with failure_marked(run_dir):
        path = export_encoder(trained.encoder, run_dir / "encoder.safetensors", trained.config, "SASRecEncoder")
        meta = {"item_ids": trained.item_ids, "data": asdict(trained.data) if trained.data else None}
        path.with_suffix(".seqrec.json").write_text(json.dumps(meta))
    print(f"exported {trained.source} -> {path}")
    announce_run(run_dir)
    return str(path)
