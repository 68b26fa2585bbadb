"""The ETH/UCY study's forecaster (Liu et al., CVPR 2022, Sec. 5.1; official
``spurious/train.py``): STGAT trained across the training scenes with ERM, IRMv1 or v-REx,
optionally with the spurious input channel. Constant velocity is in
:mod:`motionfc.models.constant_velocity`; the style study's ERM / IRM baselines are
:class:`motionfc.method.CausalMotion` with ``modular=False``.

Stages ``epochs = (n1, n2, n3)`` as STGAT: 1 and 2 reconstruct the observed displacements from
the trajectory (and graph) LSTM, 3 forecasts; the learning rate of every group is set to 5e-3 at
the start of stage 3. The risk of each environment is the scene-wise L2 risk of the predicted
displacements (sum over scenes), IRMv1 is added per environment, v-REx on the sum.

Validation ADE/FDE is logged only in stage 3 (stages 1 and 2 do not forecast), and
:class:`FinalStageBest` keeps the stage-3 checkpoint with the best validation ADE, so a model
is never selected by comparing a forecaster with an untrained one.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from contrastkit.train.module import ContrastiveModule
from lightning.pytorch.callbacks import Callback
from torch import Tensor

from motionfc.metrics import displacement_metrics, log_displacement, update_displacement
from motionfc.models.stgat import STGAT
from motionfc.risks import combined_risks, environment_terms, vrex_penalty

RISKS = ("erm", "irm", "vrex")


class StgatForecaster(ContrastiveModule):
    """STGAT with ERM / IRM / v-REx across environments (``batch`` = ``{env: scene batch}``).

    Loss per step: ``sum_e R_e`` (ERM), ``sum_e [R_e + lambda_irm * ||grad_w R_e||^2]`` (IRMv1,
    the paper's λ) or ``sum_e R_e + lambda_vrex * Var_e(R_e)`` (v-REx, the paper's β): the same
    names as :class:`~motionfc.method.CausalMotion`'s.

    Args:
        risk: erm, irm or vrex.
        lambda_irm: weight of the IRMv1 penalty (used by irm only).
        lambda_vrex: weight of the v-REx penalty (used by vrex only).
        unbiased: IRMv1's unbiased estimate (even/odd scene split).
        epochs: STGAT's three stage lengths ``(n1, n2, n3)``.
        extra_channels: extra input channels (1 with the spurious feature).
        lr: base learning rate; obs_len, fut_len: observed / predicted frames; noise_dim: STGAT's noise.
    """

    def __init__(self, risk: str = "erm", lambda_irm: float = 0.0, lambda_vrex: float = 0.0, unbiased: bool = True,
                 epochs: tuple[int, int, int] = (150, 100, 150), extra_channels: int = 0, lr: float = 1e-3,
                 obs_len: int = 8, fut_len: int = 12, noise_dim: int = 16) -> None:
        super().__init__(lr=lr)
        if risk not in RISKS:
            raise ValueError(f"risk must be one of {RISKS}; got {risk!r}")
        if min(lambda_irm, lambda_vrex) < 0 or len(epochs) != 3 or min(epochs) < 0:
            raise ValueError(f"need lambda_irm, lambda_vrex >= 0 and three non-negative stage lengths; got "
                             f"{lambda_irm}, {lambda_vrex}, {epochs}")
        self.save_hyperparameters()
        self.net = STGAT(obs_len, fut_len, extra_channels, noise_dim=noise_dim)
        self.displacement = displacement_metrics()

    def stage(self) -> int:
        """The stage (1, 2 or 3) of the current epoch."""
        return self.stage_of(self.current_epoch)

    def stage_of(self, epoch: int) -> int:
        """The stage (1, 2 or 3) of the 0-based ``epoch``."""
        n1, n2, _ = self.hparams.epochs
        return 1 if epoch < n1 else 2 if epoch < n1 + n2 else 3

    def inputs(self, b: dict[str, Tensor]) -> Tensor:
        return torch.cat([b["obs_rel"], b["extra"]], -1) if "extra" in b else b["obs_rel"]

    def configure_optimizers(self):
        n, lr = self.net, self.hparams.lr
        return torch.optim.Adam([
            {"params": n.traj_lstm.parameters(), "lr": 1e-2}, {"params": n.traj_hidden2pos.parameters()},
            {"params": n.gat.parameters(), "lr": 3e-2}, {"params": n.graph_lstm.parameters(), "lr": 1e-2},
            {"params": n.traj_gat_hidden2pos.parameters()}, {"params": n.pred_lstm.parameters()},
            {"params": n.pred_hidden2pos.parameters()},
        ], lr=lr)

    def on_train_epoch_start(self) -> None:
        n1, n2, _ = self.hparams.epochs
        if self.current_epoch == n1 + n2:
            for opt in self.trainer.optimizers:
                for g in opt.param_groups:
                    g["lr"] = 5e-3

    def compute_losses(self, batch: dict[str, dict[str, Tensor]], stage: str) -> dict[str, Tensor]:
        """``{"loss"}`` of one training step over ``{env: scene batch}`` in the current STGAT stage."""
        hp, stage = self.hparams, self.stage()
        irm = hp.risk == "irm" and bool(hp.lambda_irm)
        terms = []
        for b in batch.values():
            pred = self.net(self.inputs(b), b["seq_start_end"], stage)
            target = b["obs_rel"] if stage < 3 else b["fut_rel"]
            terms.append(environment_terms(pred, target, b["seq_start_end"], irm=irm))
        risks = combined_risks(torch.stack(terms), lambda_irm=hp.lambda_irm if irm else 0.0, unbiased=hp.unbiased,
                               distributed=self.gather_across_ranks)
        loss = risks.sum()
        if hp.risk == "vrex" and hp.lambda_vrex and len(risks) > 1:
            loss = loss + hp.lambda_vrex * vrex_penalty(risks)
        return {"loss": loss}

    def training_step(self, batch: dict[str, dict[str, Tensor]], batch_idx: int) -> Tensor:
        scenes = sum(len(b["seq_start_end"]) for b in batch.values())
        self.log("stage", float(self.stage()), on_step=True, on_epoch=False, batch_size=scenes)  # loss curves by stage
        return self.log_losses(self.compute_losses(batch, "train"), "train", scenes)

    def predict_abs(self, b: dict[str, Tensor]) -> Tensor:
        rel = self.net(self.inputs(b), b["seq_start_end"], 3)
        return b["obs"][:, -1:, :] + rel.cumsum(1)

    def validation_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        if self.stage() == 3:  # stages 1 and 2 do not forecast: nothing to select on
            update_displacement(self, "val", self.predict_abs(batch), batch["fut"])

    def test_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        update_displacement(self, "test", self.predict_abs(batch), batch["fut"])

    def on_validation_epoch_end(self) -> None:
        log_displacement(self, "val")

    def on_test_epoch_end(self) -> None:
        log_displacement(self, "test")


class FinalStageBest(Callback):
    """Saves ``path`` whenever the validation ADE improves in STGAT's final stage (3) only.

    Its state (best ADE, its epoch) travels in every checkpoint, so a resumed fit keeps
    comparing against the same best. ``epoch`` is Lightning's 0-based epoch index (the model
    had trained ``epoch + 1`` epochs).
    """

    def __init__(self, path: str | Path, monitor: str = "val/ade") -> None:
        self.path, self.monitor = Path(path), monitor
        self.best: float | None = None
        self.epoch: int | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: StgatForecaster) -> None:
        if trainer.sanity_checking or pl_module.stage() != 3 or self.monitor not in trainer.callback_metrics:
            return
        value = float(trainer.callback_metrics[self.monitor])
        if self.best is None or value < self.best:
            self.best, self.epoch = value, trainer.current_epoch
            trainer.save_checkpoint(self.path)

    def state_dict(self) -> dict:
        return {"best": self.best, "epoch": self.epoch}

    def load_state_dict(self, state_dict: dict) -> None:
        self.best, self.epoch = state_dict["best"], state_dict["epoch"]
