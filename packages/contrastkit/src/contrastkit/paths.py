"""Where the real data subsets live, found without depending on where this package is installed.

The data root is, in this order (the first that applies):

1. a path given by the caller (a config's ``data_root``), which must exist;
2. the ``CONTRASTKIT_DATA`` environment variable, which must exist;
3. the first ``shared/data`` folder found in the working directory or one of its parents, so a
   checkout at ``<x>/main`` run from its root finds ``<x>/shared/data`` beside it (its
   ``../shared/data``), as in CI's clean clone; returned with symbolic links resolved.

:func:`find_data_root` says which one it used; when none exists it raises a
``FileNotFoundError`` listing every place it tried.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

ENV_VAR = "CONTRASTKIT_DATA"


class DataRoot(NamedTuple):
    """The data root and how it was found: ``"argument"``, ``"environment"`` or ``"working directory"``."""

    path: Path
    source: str


def find_data_root(path: str | Path | None = None, *, cwd: str | Path | None = None) -> DataRoot:
    """The real-data root (module docstring) and where it came from.

    Args:
        path: a root given by the caller; used when not None (and then it must exist).
        cwd: the directory to search from in step 3 (default: the working directory).

    Raises:
        FileNotFoundError: the given path, or the environment's, does not exist; or none of the
            three steps found a folder (the message lists what was tried).
    """
    if path is not None:
        root = Path(path).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"data root {root} (given by the caller) is not a folder")
        return DataRoot(root, "argument")
    env = os.environ.get(ENV_VAR)
    if env:
        root = Path(env).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"data root {root} (from ${ENV_VAR}) is not a folder")
        return DataRoot(root, "environment")
    start = Path(cwd or Path.cwd()).resolve()
    tried = [d / "shared" / "data" for d in (start, *start.parents)]
    for candidate in tried:
        if candidate.is_dir():  # resolved: ../shared may be a symbolic link
            return DataRoot(candidate.resolve(), "working directory")
    raise FileNotFoundError(
        "no real-data root found: no path was given, $" + ENV_VAR + " is not set, and none of "
        + ", ".join(str(t) for t in tried) + " exists; set " + ENV_VAR + " to the shared data folder"
    )


def data_root(path: str | Path | None = None) -> Path:
    """The path of :func:`find_data_root` (the real data subsets, see ``shared/data/README.md``)."""
    return find_data_root(path).path


def resolve(path: str | Path) -> Path:
    """Expand ``$CONTRASTKIT_DATA`` / ``${CONTRASTKIT_DATA}`` (to :func:`data_root`) and ``~`` in a
    configured path; the data root is only looked up when the path names it."""
    text = str(path)
    if "$" + ENV_VAR in text or "${" + ENV_VAR + "}" in text:
        root = str(data_root())
        text = text.replace("${" + ENV_VAR + "}", root).replace("$" + ENV_VAR, root)
    return Path(os.path.expanduser(text))
