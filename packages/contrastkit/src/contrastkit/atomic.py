"""Files that are either the old version or the new one, never half of either.

Every file a run depends on (checkpoints, task states, ``config.yaml``, ``metrics.json``, study
bookkeeping, caches) is written the same way: into a uniquely named temporary file *in the
target's own folder* (so the final rename never crosses a filesystem and is atomic), flushed and
``fsync``-ed, then ``os.replace``-d over the target, and the folder ``fsync``-ed so that the rename
itself survives a power cut. A kill, a full disk or a concurrent writer at any moment leaves the
previous file whole; a failed write removes its temporary file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some filesystems (and Windows) do not open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: str | Path, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(f)`` on a binary file beside ``path``, then atomically put it at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """``data`` to ``path`` atomically (see the module docstring)."""
    return write_atomic(path, lambda f: f.write(data))


def write_text_atomic(path: str | Path, text: str) -> Path:
    """``text`` (UTF-8) to ``path`` atomically (see the module docstring)."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def torch_save_atomic(obj: Any, path: str | Path) -> Path:
    """``torch.save(obj)`` to ``path`` atomically (see the module docstring)."""
    import torch

    return write_atomic(path, lambda f: torch.save(obj, f))
