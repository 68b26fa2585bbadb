"""Runners of the style study: train the paper's methods on the synthetic styles and score them
in distribution and out of distribution (used by ``motionfc demo`` and ``motionfc evaluate``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from contrastkit.train.trainer import TrainerOptions

from motionfc.data.datamodule import StyleDataModule
from motionfc.evaluate import constant_velocity_predict, errors_per_env, module_predict, style_table
from motionfc.method import CausalMotion

# The four methods of the paper's style table (official pretrain.sh: IRM weight 1.0).
METHODS = {
    "erm": {"modular": False, "lambda_irm": 0.0},
    "irm": {"modular": False, "lambda_irm": 1.0},
    "modular": {"modular": True, "lambda_irm": 0.0},
    "irm+modular": {"modular": True, "lambda_irm": 1.0},
}


def train_method(name: str, dm: StyleDataModule, run_dir: Path, *, epochs: tuple[int, int, int, int],
                 style_source: str = "reference", progress: bool = False, options: TrainerOptions | None = None,
                 **overrides) -> CausalMotion:
    """Train one method (``METHODS[name]``) and return it (last epoch's weights, eval mode).

    ``progress``: Lightning's progress bar; a line is printed when each stage starts.
    ``options``: where it trains (devices, strategy...; default one device).
    """
    from contrastkit.train import fit_resumable, make_trainer

    from motionfc.progress import StageLines

    cfg = {**METHODS[name], **overrides}
    ep = tuple(epochs) if cfg["modular"] else (epochs[0], 0, 0, 0)
    module = CausalMotion(epochs=ep, style_source=style_source, **cfg)
    trainer = make_trainer(run_dir, max(1, sum(ep)), progress=progress, num_sanity_val_steps=0,
                           callbacks=[StageLines(name)], options=(options or TrainerOptions()).finding_unused_parameters())
    fit_resumable(trainer, module, dm, run_dir=run_dir)
    module.eval()
    return module


def reference_styles(module: CausalMotion, dm: StyleDataModule) -> None:
    module.set_reference_styles({dm.labels[e]: torch.from_numpy(w.traj) for e, w in dm.splits["ref"].items()})


def score(module: CausalMotion | None, dm: StyleDataModule, style_source: str | None = None,
          batch_size: int = 64) -> dict[str, dict[str, float]]:
    """Style-study table of ``module`` (None: constant velocity) on the test split of every style."""
    if module is None:
        return style_table(errors_per_env(constant_velocity_predict, dm.splits["test"], dm.labels, batch_size))
    old = module.hparams.style_source
    if style_source is not None:
        if (style_source == "observed") != (old == "observed"):
            raise ValueError("a model trained with an observed-only style encoder cannot score other sources")
        module.hparams.style_source = style_source
    try:
        reference_styles(module, dm) if module.hparams.style_source == "reference" else None
        return style_table(errors_per_env(module_predict(module), dm.splits["test"], dm.labels, batch_size))
    finally:
        module.hparams.style_source = old


def format_table(rows: dict[str, dict[str, dict[str, float]]], groups=("iid", "ood_inter", "ood_extra")) -> str:
    """Markdown table ``method | IID ADE/FDE | OoD-inter | OoD-extra``."""
    head = "| method | " + " | ".join(f"{g} ADE / FDE" for g in groups) + " |"
    lines = [head, "|" + " --- |" * (len(groups) + 1)]
    for name, t in rows.items():
        cells = [f"{t[g]['ade']:.3f} / {t[g]['fde']:.3f}" if g in t else "-" for g in groups]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def example_predictions(models: dict[str, CausalMotion], dm: StyleDataModule, env: str, n: int = 4) -> dict:
    """Observed / future / predictions of the first ``n`` test scenes of ``env`` (numpy)."""
    from motionfc.evaluate import batches_of

    batch = next(batches_of(dm.splits["test"][env].subset(np.arange(n)), dm.labels[env], n))
    with torch.no_grad():
        preds = {k: (constant_velocity_predict(batch) if m is None else m.predict_abs(batch)).numpy()
                 for k, m in models.items()}
    return {"obs": batch["obs"].numpy(), "fut": batch["fut"].numpy(), "preds": preds,
            "seq_start_end": batch["seq_start_end"].numpy()}
