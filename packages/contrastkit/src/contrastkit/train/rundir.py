"""Run directories ``runs/<app>/<name>/version_K/``: never overwritten, resumable."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import yaml

_VERSION = re.compile(r"^version_(\d+)$")


def _versions(parent: Path) -> list[int]:
    if not parent.is_dir():
        return []
    return sorted(int(m.group(1)) for p in parent.iterdir() if p.is_dir() and (m := _VERSION.match(p.name)))


def new_run_dir(root: str | Path, app: str, name: str, resume: bool = False) -> Path:
    """Return ``root/app/name/version_K`` and create it.

    A fresh ``K`` (one past the highest existing) unless ``resume`` is True and a version exists,
    in which case the latest one is returned so that training can continue from its checkpoint.
    """
    for field, value in (("app", app), ("name", name)):
        if not value or "/" in value or value in (".", ".."):
            raise ValueError(f"run directory {field} must be a plain non-empty name; got {value!r}")
    parent = Path(root) / app / name
    versions = _versions(parent)
    if resume and versions:
        return parent / f"version_{versions[-1]}"
    k = versions[-1] + 1 if versions else 0
    while True:  # another process may create the same version concurrently
        path = parent / f"version_{k}"
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            k += 1


def latest_run_dir(root: str | Path, app: str, name: str) -> Path | None:
    """The highest ``version_K`` under ``root/app/name``, or None."""
    versions = _versions(Path(root) / app / name)
    return Path(root) / app / name / f"version_{versions[-1]}" if versions else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_metrics(run_dir: str | Path, metrics: dict[str, Any]) -> Path:
    """Merge ``metrics`` into ``run_dir/metrics.json`` (tensors and numpy scalars become numbers)."""
    path = Path(run_dir) / "metrics.json"
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update(_jsonable(metrics))
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(current, indent=2, sort_keys=True))
    tmp.replace(path)  # atomic: an interrupted write never leaves a half file
    return path


def save_config(run_dir: str | Path, config: dict[str, Any]) -> Path:
    """Write the resolved configuration to ``run_dir/config.yaml``."""
    path = Path(run_dir) / "config.yaml"
    path.write_text(yaml.safe_dump(_jsonable(config), sort_keys=False))
    return path
