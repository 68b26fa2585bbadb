"""The one embedding format of every app's ``embed`` command.

An embedding file is two files side by side in the run directory:

- ``<name>.npy``: float32 ``(N, D)``, row ``i`` the embedding of item ``i``;
- ``<name>.ids.json``: ``{"ids": [...N ids...], "model": <checkpoint>, "dim": D}``, the ids in row
  order (strings: file paths, user or item ids, patient/sample ids).

Both are written atomically, after checking that every value is finite and that there is one id
per row: a damaged model fails here with the ids of the bad rows, before any file is written.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from contrastkit.atomic import write_bytes_atomic, write_text_atomic


def write_embeddings(run_dir: str | Path, embeddings: Any, ids: list, name: str = "embeddings",
                     model: str | None = None) -> tuple[Path, Path]:
    """Write ``embeddings`` ``(N, D)`` and their ``ids`` (module docstring); returns both paths."""
    x = np.asarray(embeddings.detach().cpu() if hasattr(embeddings, "detach") else embeddings, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"embeddings must be (N, D); got shape {x.shape}")
    if len(ids) != len(x):
        raise ValueError(f"{len(ids)} ids for {len(x)} embeddings")
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if bad.size:
        shown = ", ".join(str(ids[i]) for i in bad[:5]) + (" ..." if bad.size > 5 else "")
        raise ValueError(f"{bad.size} of {len(x)} embeddings are not finite (NaN or inf), e.g. for {shown}; "
                         + (f"the model {model} is damaged or diverged" if model else "the model is damaged or diverged")
                         + "; nothing was written")
    run_dir = Path(run_dir)
    buffer = io.BytesIO()
    np.save(buffer, x)
    npy = write_bytes_atomic(run_dir / f"{name}.npy", buffer.getvalue())
    meta = write_text_atomic(run_dir / f"{name}.ids.json",
                             json.dumps({"ids": [str(i) for i in ids], "model": model, "dim": int(x.shape[1])},
                                        indent=1))
    return npy, meta


def read_embeddings(path: str | Path) -> tuple[np.ndarray, list[str]]:
    """``(embeddings (N, D), ids)`` written by :func:`write_embeddings` (``path``: the ``.npy``)."""
    path = Path(path).with_suffix(".npy")
    meta_path = path.with_suffix(".ids.json")
    for p in (path, meta_path):
        if not p.is_file():
            raise FileNotFoundError(f"{p}: missing (embeddings are a .npy and a .ids.json beside it)")
    x = np.load(path, allow_pickle=False)
    try:
        ids = json.loads(meta_path.read_text())["ids"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{meta_path}: not an ids file ({error})") from None
    if len(ids) != len(x):
        raise ValueError(f"{meta_path}: {len(ids)} ids for the {len(x)} rows of {path}")
    return x, ids
