"""One experiment = pretrain each method per seed, then the paper's protocol; writes metrics.json.

Methods: ``comet`` (four levels), ``ts2vec`` (sample + observation levels), ``simclr`` (instance
contrast of jittered/scaled views), ``supervised`` (no pretraining: fine-tuning from scratch).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from contrastkit.train import fit_resumable, make_trainer, new_run_dir, save_config, write_metrics

from medts.data.build import Construction
from medts.data.datamodule import MedTSDataModule
from medts.data.sources import Source
from medts.evaluate import mean_std, run_finetune, run_linear_probe
from medts.method import COMET

METHODS = ("comet", "ts2vec", "simclr", "supervised")


@dataclass
class DataConfig:
    """What to read, how to cut it, the patient split and the pretraining batches."""

    source: Source = field(default_factory=Source)
    construction: Construction = field(default_factory=Construction)
    cache_dir: str | None = None
    split: tuple[float, float, float] = (0.6, 0.2, 0.2)
    split_seed: int = 0
    batch_size: int = 128
    trials_per_packet: int = 2


@dataclass
class ModelConfig:
    """The encoder (TS2Vec: 320 / 64 / 10) and COMET's loss settings (see :class:`medts.method.COMET`)."""

    output_dims: int = 320
    hidden_dims: int = 64
    depth: int = 10
    lambda_patient: float = 0.25
    lambda_trial: float = 0.25
    lambda_sample: float = 0.25
    lambda_observation: float = 0.25
    id_pairing: str = "official"
    share_views: bool = True
    official_weighting: bool = False
    swa: bool = True
    lr: float = 1e-3


@dataclass
class ProtocolConfig:
    """Which methods, seeds and label fractions; epochs of pretraining and fine-tuning."""

    methods: list[str] = field(default_factory=lambda: list(METHODS))
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    fractions: list[float] = field(default_factory=lambda: [1.0, 0.1, 0.01])
    label_by: str = "sample"
    linear_probe: bool = True
    pretrain_epochs: int = 20
    pretrain_max_minutes: float | None = None
    val_every: int = 1
    finetune_epochs: int = 20
    finetune_lr: float = 1e-4
    finetune_batch_size: int = 128
    progress: bool = True


def data_module(data: DataConfig, seed: int = 0) -> MedTSDataModule:
    """The set-up data module of ``data``; ``seed`` draws the pretraining batches."""
    dm = MedTSDataModule(data.source, data.construction, data.cache_dir, data.split, data.split_seed,
                         data.batch_size, data.trials_per_packet, seed)
    dm.setup()
    return dm


def device() -> torch.device:
    """Where embedding and prediction run after a fit (Lightning hands modules back on the CPU)."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def pretrain(dm: MedTSDataModule, model: ModelConfig, method: str, seed: int, run_dir: Path, epochs: int,
             progress: bool = True, max_minutes: float | None = None, val_every: int = 1) -> COMET:
    """Pretrain one method (resumes from ``run_dir/checkpoints/last.ckpt``); ``max_minutes`` caps
    the wall time (Lightning's ``max_time``)."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    kw = asdict(model)
    module = COMET(dm.n_channels, objective=method, **kw)
    limit = {"max_time": {"minutes": max_minutes}} if max_minutes else {}
    trainer = make_trainer(run_dir, epochs, progress=progress, num_sanity_val_steps=0,
                           check_val_every_n_epoch=val_every, **limit)
    t0 = time.time()
    fit_resumable(trainer, module, dm, run_dir=run_dir)
    module.pretrain_stats = {"epochs": float(trainer.current_epoch), "steps": float(trainer.global_step),
                             "seconds": time.time() - t0}
    return module.to(device())


def _embedder(module: COMET):
    return lambda x: module.embed(torch.from_numpy(x))


def run_method(dm: MedTSDataModule, model: ModelConfig, proto: ProtocolConfig, method: str, seed: int,
               run_dir: Path, on_result=None) -> dict[str, dict[str, float]]:
    """Pretrain (unless supervised), probe, fine-tune; ``{setting: metrics}`` for one seed.
    ``on_result(partial)`` is called after each setting (so an interrupted job keeps what it did)."""
    on_result = on_result or (lambda partial: None)
    if method not in METHODS:
        raise ValueError(f"methods: unknown method {method!r}; expected {METHODS}")
    parts = dm.parts
    out: dict[str, dict[str, float]] = {}
    encoder = None
    if method != "supervised":
        module = pretrain(dm, model, method, seed, run_dir / "pretrain", proto.pretrain_epochs, proto.progress,
                          proto.pretrain_max_minutes, proto.val_every)
        out["pretrain"] = module.pretrain_stats
        on_result(out)
        if proto.linear_probe:
            out["linear"] = run_linear_probe(_embedder(module), parts, seed)
            on_result(out)
        encoder = module
    enc_kw = {"input_dims": dm.n_channels, "output_dims": model.output_dims, "hidden_dims": model.hidden_dims,
                  "depth": model.depth}
    for frac in proto.fractions:
        enc = encoder.export_encoder() if encoder is not None else None
        out[f"finetune_{frac:g}"] = run_finetune(
            enc, parts, run_dir / f"finetune_{frac:g}", frac, proto.label_by, seed, proto.finetune_epochs,
            proto.finetune_lr, proto.finetune_batch_size, enc_kw, proto.progress)
        on_result(out)
    return out


def summarize(results: dict) -> dict:
    """``{method: {setting: {metric: [mean, std]}}}`` over the seeds in ``results[method][seed]``."""
    summary: dict = {}
    for method, per_seed in results.items():
        settings = dict.fromkeys(s for r in per_seed.values() for s in r)
        summary[method] = {}
        for s in settings:
            runs = [r[s] for r in per_seed.values() if s in r]
            summary[method][s] = {k: list(v) for k, v in mean_std(runs).items()}
            summary[method][s]["n_seeds"] = [len(runs), 0.0]
    return summary


def format_table(summary: dict, metrics=("sample/accuracy", "sample/f1", "sample/auroc", "patient/accuracy",
                                         "patient/f1")) -> str:
    """A Markdown table: one row per method and setting, mean ± std per metric (in %)."""
    head = "| method | setting | seeds | " + " | ".join(metrics) + " |"
    lines = [head, "|" + " --- |" * (len(metrics) + 3)]
    for method, settings in summary.items():
        for setting, m in settings.items():
            if metrics[0] not in m:
                continue
            cells = [f"{100 * m[k][0]:.1f} ± {100 * m[k][1]:.1f}" if k in m else "" for k in metrics]
            n = int(m["n_seeds"][0]) if "n_seeds" in m else ""
            lines.append(f"| {method} | {setting} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_experiment(data: DataConfig, model: ModelConfig, protocol: ProtocolConfig, name: str = "evaluate",
                   runs_root: str = "runs", resume: bool = False) -> tuple[Path, dict]:
    """Run every method x seed, write ``metrics.json`` (per seed and mean ± std) and ``table.md``."""
    run_dir = new_run_dir(runs_root, "medts", name, resume=resume)
    save_config(run_dir, {"data": asdict(data), "model": asdict(model), "protocol": asdict(protocol)})
    dm = data_module(data)
    write_metrics(run_dir, {"data": {k: v.summary() for k, v in dm.parts.items()}})
    done_file = run_dir / "per_seed.json"
    results: dict = json.loads(done_file.read_text()) if done_file.exists() else {}
    for method in protocol.methods:
        for seed in protocol.seeds:
            if str(seed) in results.get(method, {}):
                continue  # finished before an interruption
            t0 = time.time()
            res = run_method(dm, model, protocol, method, seed, run_dir / method / f"seed{seed}")
            res["seconds"] = {"wall": time.time() - t0}
            results.setdefault(method, {})[str(seed)] = res
            done_file.write_text(json.dumps(results, indent=1))
            print(f"[medts] {method} seed {seed}: " + ", ".join(
                f"{s} f1={m['sample/f1']:.3f}" for s, m in res.items() if "sample/f1" in m), flush=True)
    clean = {m: {s: {k: v for k, v in r.items() if k != "seconds"} for s, r in per.items()} for m, per in results.items()}
    summary = summarize(clean)
    write_metrics(run_dir, {"per_seed": results, "summary": summary})
    (run_dir / "table.md").write_text(format_table(summary) + "\n")
    return run_dir, summary
