"""Run configuration (the YAML files under ``configs/``) and the method registry.

A config has three sections, ``data``, ``model`` and ``train``, one dataclass each, beside the
run's own ``max_epochs``, ``seed`` and ``name``; the CLI commands take them as
``--data.dataset Beauty --model.method mclrec --max_epochs 50 ...`` or ``--config x.yaml``.
The ``model`` section is not written here: :data:`ModelConfig` is derived from the method
classes' typed, documented ``__init__`` arguments, which own each setting's name and default.
"""

from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass, make_dataclass
from typing import Any

from contrastkit.train.sections import arg_docs, section, settings

from seqrec.baselines import CL4SRec, SASRec
from seqrec.data.datamodule import SeqRecDataModule
from seqrec.method import MCLRec
from seqrec.module import SeqRecModule

METHODS: dict[str, type[SeqRecModule]] = {"sasrec": SASRec, "cl4srec": CL4SRec, "mclrec": MCLRec}
ALL_METHODS = ("popularity", *METHODS)
MAX_EPOCHS = 50  # the most epochs of a fit (``--max_epochs``); the paper's schedule
SEED = 0  # the seed of a fit (``--seed``), as in every app; the paper configs pin 2020


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


def _model_config() -> type:
    """``ModelConfig``: ``method`` plus the union of the method classes' settings, each with the
    type, default and description of the class that owns it (one name, one default)."""
    fields: dict[str, inspect.Parameter] = {}
    docs = {"method": f"one of {ALL_METHODS}", **arg_docs(SeqRecModule)}
    users: dict[str, list[str]] = {}
    for cls in METHODS.values():
        docs = {**arg_docs(cls), **docs}
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


def _data_config() -> type:
    """``DataConfig``: the ``__init__`` arguments of :class:`SeqRecDataModule` (but ``seed``, which is
    the run's ``--seed``), with its types, defaults and descriptions (one name, one default)."""
    config = section("DataConfig", "Which sequences and how they are served: the arguments of\n"
                     ":class:`seqrec.data.SeqRecDataModule`, which owns each name, default and description.",
                     [(SeqRecDataModule, settings(SeqRecDataModule, skip=("seed",)))])
    config.__module__ = __name__
    return config


DataConfig = _data_config()


@dataclass
class TrainConfig:
    """The training loop's early stopping, validation period and time budget (``--train.*``).

    The run's length, seed, folder and name are the command's own flags, spelled as in every app
    (``--max_epochs``, ``--seed``, ``--runs_root``, ``--name``); where it trains (accelerator,
    devices, nodes, strategy, precision) is ``--trainer.*`` (:class:`contrastkit.train.TrainerOptions`).

    Args:
        patience: validations without a better ``monitor`` before early stopping.
        monitor: the validation metric that picks best.ckpt and stops early.
        limit_train_batches: fraction (float) or number (int) of training batches per epoch.
        val_check_interval: validate every fraction of an epoch (float) or every n batches (int).
        max_time: wall-clock budget "DD:HH:MM:SS" over all resumed parts of the run (Lightning's Timer).
    """

    patience: int = 10
    monitor: str = "val/NDCG@20"
    limit_train_batches: float = 1.0
    val_check_interval: float | int = 1.0
    max_time: str | None = None


def model_kwargs(cfg: ModelConfig) -> dict[str, Any]:
    """Keyword arguments of ``METHODS[cfg.method]``: the config's values of that class's settings."""
    if cfg.method not in METHODS:
        raise ValueError(f"model.method must be one of {ALL_METHODS}; got {cfg.method!r}")
    return {name: getattr(cfg, name) for name in _settings(METHODS[cfg.method])}


def build_datamodule(cfg: DataConfig, seed: int = 0) -> SeqRecDataModule:
    return SeqRecDataModule(**asdict(cfg), seed=seed)


def build_module(cfg: ModelConfig, num_items: int, max_len: int) -> SeqRecModule:
    return METHODS[cfg.method](num_items, max_len=max_len, **model_kwargs(cfg))


def as_dict(data: DataConfig, model: ModelConfig, train: TrainConfig, max_epochs: int, seed: int) -> dict[str, Any]:
    """The settings of one fit, as its run's config.yaml records them."""
    return {"data": asdict(data), "model": asdict(model), "train": asdict(train), "max_epochs": max_epochs,
            "seed": seed}
