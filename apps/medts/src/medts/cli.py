"""``medts study | table | demo | figures | fit | validate | test | predict``.

    medts study --config apps/medts/configs/eeg_smni.yaml          # every method x seed, probe, fine-tune
    medts study --config apps/medts/configs/eeg_smni.yaml --prepare_only true   # only the data cache
    medts table "[runs/medts/eeg_smni/version_0]" --out table.md   # merge study runs
    medts demo                                                     # synthetic cohort, no downloads
    medts fit --model.input_dims 4 --data.batch_size 64            # LightningCLI on COMET
"""

from __future__ import annotations

from collections.abc import Sequence

from contrastkit.train import run_cli

from medts.data.datamodule import MedTSDataModule
from medts.demo import demo
from medts.figures import figures
from medts.method import COMET
from medts.study import study, table


def main(argv: Sequence[str] | None = None):
    """Console entry point."""
    return run_cli("medts", COMET, MedTSDataModule, {"study": study, "table": table, "demo": demo,
                                                      "figures": figures}, argv)
