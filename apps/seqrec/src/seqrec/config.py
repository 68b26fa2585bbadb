"""Run configuration (the YAML files under ``configs/``) and the method registry.

A config has three sections, ``data``, ``model`` and ``train``, one dataclass each; the CLI
commands take them as ``--data.dataset Beauty --model.method mclrec ...`` or ``--config x.yaml``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from seqrec.baselines import CL4SRec, SASRec
from seqrec.data.datamodule import SeqRecDataModule
from seqrec.method import MCLRec
from seqrec.module import SeqRecModule

METHODS: dict[str, type[SeqRecModule]] = {"sasrec": SASRec, "cl4srec": CL4SRec, "mclrec": MCLRec}
ALL_METHODS = ("popularity", *METHODS)

# Per-dataset MCLRec weights (lam for L_cl1, beta for L_cl2), from the paper's Sec. 4 / README.
PAPER_WEIGHTS = {"Beauty": (0.0, 0.05), "Sports_and_Outdoors": (0.04, 0.4), "Yelp": (0.03, 0.1)}


@dataclass
class DataConfig:
    """Which sequences and how they are served (see :class:`seqrec.data.SeqRecDataModule`)."""

    dataset: str = "synthetic"
    max_len: int = 50
    train_form: str = "shifted"
    batch_size: int = 256
    eval_batch_size: int = 1024
    synthetic: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelConfig:
    """The method and its hyper-parameters (paper defaults; unused ones are ignored per method).

    method: popularity, sasrec, cl4srec or mclrec. lam / beta: ``None`` takes the paper's
    per-dataset MCLRec values (Beauty 0 / 0.05, Sports 0.04 / 0.4, Yelp 0.03 / 0.1), else 0.1 / 0.1
    (CL4SRec uses ``lam`` as its contrastive weight; its paper uses 0.1).
    """

    method: str = "mclrec"
    hidden: int = 64
    n_layers: int = 2
    heads: int = 2
    inner: int = 256
    dropout: float = 0.5
    attn_dropout: float = 0.5
    loss_type: str = "ce"
    lr: float = 1e-3
    weight_decay: float = 0.0
    exclude_history: bool = False
    lam: float | None = None
    beta: float | None = None
    gamma: float = 0.1
    use_reg: bool = True
    tau: float = 1.0
    sim: str = "dot"
    meta_loop: str = "three_step"
    reuse_forward: bool = True
    crop_keep: float = 0.5
    mask_ratio: float = 0.5
    reorder_ratio: float = 0.8


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


def model_kwargs(cfg: ModelConfig, dataset: str) -> dict[str, Any]:
    """Keyword arguments of ``METHODS[cfg.method]`` from the config."""
    if cfg.method not in METHODS:
        raise ValueError(f"model.method must be one of {ALL_METHODS}; got {cfg.method!r}")
    common = {k: getattr(cfg, k) for k in ("hidden", "n_layers", "heads", "inner", "dropout", "attn_dropout",
                                           "loss_type", "lr", "weight_decay", "exclude_history")}
    lam_default, beta_default = PAPER_WEIGHTS.get(dataset, (0.1, 0.1))
    lam = lam_default if cfg.lam is None else cfg.lam
    aug = {"crop_keep": cfg.crop_keep, "mask_ratio": cfg.mask_ratio, "reorder_ratio": cfg.reorder_ratio}
    if cfg.method == "cl4srec":
        return {**common, **aug, "lam": 0.1 if cfg.lam is None else cfg.lam, "tau": cfg.tau, "sim": cfg.sim}
    if cfg.method == "mclrec":
        beta = beta_default if cfg.beta is None else cfg.beta
        return {**common, **aug, "lam": lam, "beta": beta, "gamma": cfg.gamma, "use_reg": cfg.use_reg,
                "tau": cfg.tau, "sim": cfg.sim, "meta_loop": cfg.meta_loop, "reuse_forward": cfg.reuse_forward,
                "augmenter_sizes": (cfg.hidden, 32, 16, cfg.hidden)}
    return common


def build_datamodule(cfg: DataConfig, seed: int = 0) -> SeqRecDataModule:
    return SeqRecDataModule(cfg.dataset, cfg.max_len, cfg.train_form, cfg.batch_size, cfg.eval_batch_size,
                            dict(cfg.synthetic), seed)


def build_module(cfg: ModelConfig, dataset: str, num_items: int, max_len: int) -> SeqRecModule:
    return METHODS[cfg.method](num_items, max_len=max_len, **model_kwargs(cfg, dataset))


def as_dict(data: DataConfig, model: ModelConfig, train: TrainConfig) -> dict[str, Any]:
    return {"data": asdict(data), "model": asdict(model), "train": asdict(train)}
