"""Run configuration (the YAML files under ``configs/``) and the method registry.

A config has three sections, ``data``, ``model`` and ``train``, one dataclass each; the CLI
commands take them as ``--data.dataset Beauty --model.method mclrec ...`` or ``--config x.yaml``.
The ``model`` section is not written here: :data:`ModelConfig` is derived from the method
classes' typed, documented ``__init__`` arguments, which own each setting's name and default.
"""

from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass, field, make_dataclass
from typing import Any

from seqrec.baselines import CL4SRec, SASRec
from seqrec.data.datamodule import SeqRecDataModule
from seqrec.method import MCLRec
from seqrec.module import SeqRecModule

METHODS: dict[str, type[SeqRecModule]] = {"sasrec": SASRec, "cl4srec": CL4SRec, "mclrec": MCLRec}
ALL_METHODS = ("popularity", *METHODS)


def _settings(cls: type[SeqRecModule]) -> dict[str, inspect.Parameter]:
    """The configurable ``__init__`` arguments of a method class and of its ``SeqRecModule`` bases
    (not ``num_items`` and ``max_len``, which come from the data)."""
    out: dict[str, inspect.Parameter] = {}
    for klass in reversed(cls.__mro__):
        if issubclass(klass, SeqRecModule) and "__init__" in vars(klass):
            for name, p in inspect.signature(klass.__init__, eval_str=True).parameters.items():
                if name not in ("self", "num_items", "max_len") and p.kind is p.POSITIONAL_OR_KEYWORD:
                    out[name] = p
    return out


def _arg_docs(cls: type) -> dict[str, str]:
    """The descriptions in a class docstring's ``Args:`` section, by argument name."""
    import docstring_parser

    return {p.arg_name: " ".join((p.description or "").split()) for p in docstring_parser.parse(cls.__doc__ or "").params}


def _model_config() -> type:
    """``ModelConfig``: ``method`` plus the union of the method classes' settings, each with the
    type, default and description of the class that owns it (one name, one default)."""
    fields: dict[str, inspect.Parameter] = {}
    docs = {"method": f"one of {ALL_METHODS}", **_arg_docs(SeqRecModule)}
    users: dict[str, list[str]] = {}
    for cls in METHODS.values():
        docs = {**_arg_docs(cls), **docs}
        for name, p in _settings(cls).items():
            if name in fields and (fields[name].default, fields[name].annotation) != (p.default, p.annotation):
                raise TypeError(f"{cls.__name__}.{name} differs from another method's {name} (type or default)")
            fields[name] = p
            if name not in _settings(SeqRecModule):
                users.setdefault(name, []).append(cls.__name__)
    config = make_dataclass("ModelConfig", [("method", str, "mclrec"),
                                            *((n, p.annotation, p.default) for n, p in fields.items())])
    config.__module__ = __name__
    lines = [f"    {n}: {docs.get(n, '')}" + (f" [{', '.join(users[n])}]" if n in users else "")
             for n in ("method", *fields)]
    config.__doc__ = ("The method and its settings, derived from the ``__init__`` arguments of the method\n"
                      "classes (SeqRecModule, CL4SRec, MCLRec), which own each name, default and description;\n"
                      "a setting in brackets applies to those methods only. The paper's per-dataset weights\n"
                      "are in ``configs/<dataset>.yaml``.\n\nArgs:\n" + "\n".join(lines) + "\n")
    return config


ModelConfig = _model_config()


@dataclass
class DataConfig:
    """Which sequences and how they are served (see :class:`seqrec.data.SeqRecDataModule`).

    Args:
        dataset: "synthetic", a seqrec_5core name (Beauty, Sports_and_Outdoors, Toys_and_Games, Yelp) or a .txt/.inter path.
        max_len: maximum input length (paper 50).
        train_form: "shifted" (one row per user) or "prefix" (one row per prefix).
        batch_size: training rows per batch (paper 256).
        eval_batch_size: users per evaluation batch.
        synthetic: keyword arguments of seqrec.data.make_synthetic (dataset synthetic).
    """

    dataset: str = "synthetic"
    max_len: int = 50
    train_form: str = "shifted"
    batch_size: int = 256
    eval_batch_size: int = 1024
    synthetic: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainConfig:
    """Training loop: epochs, early stopping, seed, run directory, device.

    ``max_time`` ("DD:HH:MM:SS") is a wall-clock budget over all resumed parts of the run
    (Lightning's Timer); ``val_check_interval`` validates every fraction of an epoch (float) or
    every n batches (int); ``threads`` sets torch's intra-op threads (CPU).
    """

    max_epochs: int = 50
    patience: int = 10
    monitor: str = "val/NDCG@20"
    seed: int = 2020
    root: str = "runs"
    name: str = "synthetic"
    resume: bool = False
    accelerator: str = "auto"
    precision: str = "32-true"
    threads: int = 1
    limit_train_batches: float = 1.0
    val_check_interval: float | int = 1.0
    max_time: str | None = None
    progress: bool = True


def model_kwargs(cfg: ModelConfig) -> dict[str, Any]:
    """Keyword arguments of ``METHODS[cfg.method]``: the config's values of that class's settings."""
    if cfg.method not in METHODS:
        raise ValueError(f"model.method must be one of {ALL_METHODS}; got {cfg.method!r}")
    return {name: getattr(cfg, name) for name in _settings(METHODS[cfg.method])}


def build_datamodule(cfg: DataConfig, seed: int = 0) -> SeqRecDataModule:
    return SeqRecDataModule(cfg.dataset, cfg.max_len, cfg.train_form, cfg.batch_size, cfg.eval_batch_size,
                            dict(cfg.synthetic), seed)


def build_module(cfg: ModelConfig, num_items: int, max_len: int) -> SeqRecModule:
    return METHODS[cfg.method](num_items, max_len=max_len, **model_kwargs(cfg))


def as_dict(data: DataConfig, model: ModelConfig, train: TrainConfig) -> dict[str, Any]:
    return {"data": asdict(data), "model": asdict(model), "train": asdict(train)}
