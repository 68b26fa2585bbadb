"""The compact cache written by ``medts study --prepare_only true``: ``.npy`` arrays opened memory-mapped, plus a
JSON manifest, so training never re-parses raw files.

The manifest records the config the cache was built from; :func:`check_cache_config` compares it
with the config asked for, so a cache built from another root, rate or window is never used
silently.

A cache is written into a fresh temporary folder beside its target and renamed into place, so a
reader (another run, another DDP rank) sees no cache or a complete one, never a half-written one;
of two processes writing the same cache at once, one's folder stands and both read it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from medts.data.errors import DataError
from medts.data.hierarchy import HierarchicalSet

_ARRAYS = ("trials", "trial_patient", "sample_index", "patient_label")
MANIFEST = "manifest.json"


def write_cache(ds: HierarchicalSet, out_dir: str | Path, config: dict | None = None, overwrite: bool = False) -> Path:
    """Write ``ds`` under ``out_dir`` atomically (refuses to overwrite an existing cache unless asked).

    The arrays and ``manifest.json`` go to a temporary folder beside ``out_dir``, which is then
    renamed into place (:func:`_move_into_place`)."""
    out = Path(out_dir)
    if (out / MANIFEST).exists() and not overwrite:
        raise FileExistsError(f"{out}: a cache already exists (pass overwrite=True to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        for name in _ARRAYS:
            arr = np.ascontiguousarray(getattr(ds, name))
            mm = np.lib.format.open_memmap(tmp / f"{name}.npy", mode="w+", dtype=arr.dtype, shape=arr.shape)
            mm[...] = arr
            mm.flush()
            del mm
        manifest = {
            "format": "medts-cache/1",
            "sample_length": ds.sample_length, "fs": ds.fs, "channels": ds.channels,
            "patient_names": ds.patient_names, "class_names": ds.class_names,
            "shapes": {n: list(getattr(ds, n).shape) for n in _ARRAYS},
            "summary": ds.summary(), "config": config or {}, "meta": ds.meta,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
        _move_into_place(tmp, out, overwrite)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone after a successful move
    return out


def _move_into_place(tmp: Path, out: Path, overwrite: bool, attempts: int = 10) -> None:
    """Rename the finished folder ``tmp`` to ``out`` (atomic; it replaces an empty folder).

    When ``out`` holds files: a cache another process finished meanwhile stands unless
    ``overwrite`` (the same data: both writers read it); otherwise ``out`` is renamed aside and
    deleted, and the rename retried (a concurrent writer may move in between)."""
    for _ in range(attempts):
        try:
            os.rename(tmp, out)
            return
        except OSError:  # ENOTEMPTY / EEXIST: out is a folder with files in it
            pass
        if (out / MANIFEST).exists() and not overwrite:
            return
        aside = out.with_name(f".{out.name}.old-{uuid.uuid4().hex}")
        try:
            os.rename(out, aside)
        except FileNotFoundError:
            continue  # another writer moved it aside first
        shutil.rmtree(aside, ignore_errors=True)
    raise OSError(f"{out}: could not move the new cache into place after {attempts} attempts (concurrent writers?)")


def read_cache(cache_dir: str | Path) -> HierarchicalSet:
    """Open a cache (arrays memory-mapped read-only); checks shapes against the manifest."""
    d = Path(cache_dir)
    if not (d / MANIFEST).exists():
        raise DataError(d, f"no {MANIFEST}: run `medts study --prepare_only true` first")
    man = json.loads((d / MANIFEST).read_text())
    arrays = {}
    for name in _ARRAYS:
        f = d / f"{name}.npy"
        try:
            arrays[name] = np.load(f, mmap_mode="r")
        except (OSError, ValueError) as err:
            raise DataError(f, f"unreadable cache array ({err})") from err
        if list(arrays[name].shape) != man["shapes"][name]:
            raise DataError(f, f"shape {arrays[name].shape} differs from the manifest's {man['shapes'][name]}")
    return HierarchicalSet(
        arrays["trials"], np.asarray(arrays["trial_patient"]), np.asarray(arrays["sample_index"]),
        int(man["sample_length"]), man["patient_names"], np.asarray(arrays["patient_label"]),
        man["class_names"], float(man["fs"]), man["channels"], man.get("meta", {}),
    )


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for k, v in tree.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: tree}


def _plain(config: dict) -> dict:
    """``config`` as the manifest stores it (JSON: tuples become lists)."""
    return json.loads(json.dumps(config))


def config_hash(config: dict) -> str:
    """A short, stable hash of a cache config (names the default cache folder)."""
    return hashlib.sha256(json.dumps(_plain(config), sort_keys=True).encode()).hexdigest()[:12]


def check_cache_config(cache_dir: str | Path, config: dict) -> None:
    """Raise :class:`DataError` when the cache under ``cache_dir`` was built from another config,
    naming every differing field as ``field: old -> new``."""
    man = json.loads((Path(cache_dir) / MANIFEST).read_text())
    old, new = _flatten(man.get("config", {})), _flatten(_plain(config))
    diff = [f"{k}: {old.get(k, '<absent>')!r} -> {new.get(k, '<absent>')!r}"
            for k in sorted(set(old) | set(new)) if old.get(k, "<absent>") != new.get(k, "<absent>")]
    if diff:
        raise DataError(Path(cache_dir) / MANIFEST, "the cache was built from another config ("
                        + "; ".join(diff) + "); rebuild it with rebuild_cache=True (`--data.rebuild_cache true`) "
                        "or point cache_dir elsewhere")
