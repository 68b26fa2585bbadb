"""``medts prepare | fit | validate | test | evaluate | demo | figures``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from contrastkit.train import run_cli

from medts.data.datamodule import MedTSDataModule
from medts.demo import demo
from medts.figures import figures
from medts.method import COMET


def prepare(experiment: str, out: str | None = None, overwrite: bool = False) -> str:
    """Read the raw files of an experiment config once and write the memory-mapped cache.

    Args:
        experiment: an experiment YAML (its ``data.source`` and ``data.construction`` are used).
        out: cache folder (default: the config's ``data.cache_dir``).
        overwrite: replace an existing cache.
    """
    from medts.configs import load_experiment
    from medts.data.cache import read_cache
    from medts.data.sources import prepare as _prepare

    data, _, _ = load_experiment(experiment)
    target = out or data.cache_dir
    if not target:
        raise ValueError(f"{experiment}: give --out or data.cache_dir")
    path = _prepare(data.source, data.construction, target, overwrite)
    print(read_cache(path).summary())
    return str(path)


def evaluate(experiment: str, overrides: list[str] | None = None, name: str | None = None, runs_root: str = "runs",
             resume: bool = False) -> dict:
    """Pretrain every method x seed of an experiment config, then linear probe and fine-tuning.

    Args:
        experiment: experiment YAML (sections data, model, protocol).
        overrides: ``section.field=value`` items, e.g. ``protocol.seeds=[0]``.
        name: run name under ``runs/medts/`` (default: the config's file name).
        resume: continue the latest run of that name.
    """
    from medts.configs import load_experiment
    from medts.experiment import format_table, run_experiment

    data, model, protocol = load_experiment(experiment, overrides or [])
    run_dir, summary = run_experiment(data, model, protocol, name or Path(experiment).stem, runs_root, resume)
    print(format_table(summary))
    print(f"run: {run_dir}")
    return summary


def main(argv: Sequence[str] | None = None):
    """Console entry point."""
    return run_cli("medts", COMET, MedTSDataModule, {"prepare": prepare, "evaluate": evaluate, "demo": demo,
                                                      "figures": figures}, argv)
