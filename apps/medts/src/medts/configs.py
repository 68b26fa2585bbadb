"""Read an experiment YAML (sections ``data``, ``model``, ``protocol``) into the dataclasses,
with dotted overrides; plain PyYAML, so that it also runs where jsonargparse is absent."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from medts.data.build import Construction
from medts.data.sources import Source
from medts.experiment import DataConfig, ModelConfig, ProtocolConfig

_NESTED = {"source": Source, "construction": Construction}


def _build(cls, values: dict[str, Any], where: str):
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}; expected some of {sorted(names)}")
    kw = {k: _build(_NESTED[k], v, f"{where}.{k}") if k in _NESTED and isinstance(v, dict) else v
          for k, v in values.items()}
    if "split" in kw:
        kw["split"] = tuple(kw["split"])
    return cls(**kw)


def _set(tree: dict, dotted: str, value: Any) -> None:
    *path, last = dotted.split(".")
    for key in path:
        tree = tree.setdefault(key, {})
    tree[last] = value


def load_experiment(path: str | Path, overrides: list[str] = ()) -> tuple[DataConfig, ModelConfig, ProtocolConfig]:
    """``(data, model, protocol)`` from a YAML file; overrides are ``a.b.c=<yaml value>``."""
    tree = yaml.safe_load(Path(path).read_text()) or {}
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"override {item!r} must look like section.field=value")
        key, value = item.split("=", 1)
        _set(tree, key, yaml.safe_load(value))
    unknown = set(tree) - {"data", "model", "protocol"}
    if unknown:
        raise ValueError(f"{path}: unknown section(s) {sorted(unknown)}; expected data, model, protocol")
    return (_build(DataConfig, tree.get("data", {}), f"{path}:data"),
            _build(ModelConfig, tree.get("model", {}), f"{path}:model"),
            _build(ProtocolConfig, tree.get("protocol", {}), f"{path}:protocol"))
