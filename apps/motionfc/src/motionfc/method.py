"""The paper's method for the style study as a LightningModule: invariant learning across
environments plus the modular architecture, trained in the stages of the official code
(Liu et al., CVPR 2022; vita-epfl/causalmotion ``style/train.py``, ``style/losses.py``).

Stages (epochs ``(n3, n4, n5, n6)``; the official P1/P2 are unused for the MLP model):

* P3: invariant encoder + decoder on the prediction risk (ERM, + IRMv1 or v-REx), no style.
* P4: style encoder + projection head on the style contrastive loss alone.
* P5: only the style modulator, on the prediction risk, everything else frozen.
* P6: decoder, modulator and style encoder on the risk + ``lambda_contrastive`` x style loss, the
  invariant encoder frozen.

Prediction risk per environment = the sum of scene risks (:mod:`motionfc.risks`); the total is
the sum over environments. Optimizers as in the official code: invariant encoder and decoder
Adam 1e-3, style encoder 5e-4, projection head 1e-2, modulator ``lr_integ`` (1e-2; 1e-3 when
fine-tuning). Deviation: the official P6 steps the modulator twice (its parameters are also in
the decoder's optimizer); here it has only its own.

``style_source`` says where the style vector comes from at evaluation:
``"reference"`` (default): the mean style code of separate reference scenes of the same
environment (full 20 frames); ``"observed"``: the style encoder reads only the 8 observed
frames, and the style is the mean over the scored batch; ``"leak"``: the official evaluation,
the mean code of the scored batch's full 20 frames, i.e. including the ground-truth futures of
the very scenes being scored (kept only as an ablation).
"""

from __future__ import annotations

import torch
from contrastkit.distributed import gather_labels
from contrastkit.train.module import ContrastiveModule
from torch import Tensor

from motionfc.metrics import displacement_metrics, log_displacement, update_displacement
from motionfc.models.modular import ModularForecaster
from motionfc.risks import combined_risks, environment_terms, sum_across_ranks, vrex_penalty
from motionfc.style_loss import style_contrastive_loss

STYLE_SOURCES = ("reference", "observed", "leak")
FINETUNE_MODES = ("", "all", "integ+", "integ", "decoder")


class CausalMotion(ContrastiveModule):
    """Modular (or plain, ``modular=False``) MLP forecaster with staged training.

    Loss (paper eq. 7, per step): ``sum_e R_e + lambda_irm * sum_e ||grad_w R_e||^2`` (IRMv1, P3)
    ``+ lambda_vrex * Var_e(R_e)`` (v-REx, P3) ``+ lambda_contrastive * L_style`` (P6; P4 trains on
    ``L_style`` alone), ``L_style`` the style contrastive loss at ``style_temperature``.

    Args:
        modular: the modular architecture (style encoder + modulator); False: plain ERM/IRM model.
        lambda_irm: IRMv1 penalty weight (the paper's λ), stage P3.
        lambda_vrex: v-REx penalty weight (the paper's β), stage P3.
        unbiased: IRMv1's unbiased estimate (even/odd scene split).
        lambda_contrastive: weight of the style contrastive loss in stage P6 (the official
            code's ``--contrastive``).
        style_temperature: temperature τ of the style contrastive loss (official 0.07).
        epochs: stage lengths ``(P3, P4, P5, P6)``.
        style_source: where the evaluation style comes from (see the module docstring).
        lr_inv, lr_decoder, lr_style, lr_head, lr_integ: learning rates of the optimizer groups.
        finetune: which modules a fine-tuning run updates ("" = the stage table).
        obs_len, fut_len, agents, hidden, style_dim: model sizes.
    """

    def __init__(self, modular: bool = True, lambda_irm: float = 0.0, lambda_vrex: float = 0.0, unbiased: bool = True,
                 lambda_contrastive: float = 1.0, style_temperature: float = 0.07,
                 epochs: tuple[int, int, int, int] = (100, 50, 20, 300),
                 style_source: str = "reference", lr_inv: float = 1e-3, lr_decoder: float = 1e-3,
                 lr_style: float = 5e-4, lr_head: float = 1e-2, lr_integ: float = 1e-2, finetune: str = "",
                 obs_len: int = 8, fut_len: int = 12, agents: int = 2, hidden: int = 8, style_dim: int = 8) -> None:
        super().__init__()
        if style_source not in STYLE_SOURCES:
            raise ValueError(f"style_source must be one of {STYLE_SOURCES}; got {style_source!r}")
        if finetune not in FINETUNE_MODES:
            raise ValueError(f"finetune must be one of {FINETUNE_MODES}; got {finetune!r}")
        if len(epochs) != 4 or min(epochs) < 0:
            raise ValueError(f"epochs must be four non-negative stage lengths (P3, P4, P5, P6); got {epochs}")
        if lambda_irm < 0 or lambda_vrex < 0 or lambda_contrastive < 0:
            raise ValueError("lambda_irm, lambda_vrex and lambda_contrastive must be >= 0")
        if not style_temperature > 0:
            raise ValueError(f"style_temperature must be > 0; got {style_temperature}")
        if not modular and any(epochs[1:]):
            raise ValueError("a non-modular model trains only stage P3: epochs must be (n, 0, 0, 0)")
        self.save_hyperparameters()
        self.automatic_optimization = False
        style_frames = obs_len if style_source == "observed" else obs_len + fut_len
        self.model = ModularForecaster(obs_len, fut_len, agents, hidden, style_dim, style_frames)
        self.contrast_only: set[str] = set()  # environments that only feed the style loss (fine-tuning)
        self.reference_styles: dict[int, Tensor] = {}
        self._fitting = False
        self.displacement = displacement_metrics()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """The weights Lightning is about to restore (``motionfc test --ckpt_path``, a resumed run)
        are checked first: another app's or a damaged checkpoint is one error naming the file, not
        a bare state-dict error."""
        from contrastkit.train.checkpoint import check_state_fits

        source = self._trainer.ckpt_path if self._trainer is not None else "the checkpoint"
        check_state_fits(self, checkpoint.get("state_dict") or {}, source)

    # ---- stages -----------------------------------------------------------------------
    def stage(self, epoch: int | None = None) -> str:
        e = self.current_epoch if epoch is None else epoch
        bounds = torch.tensor(self.hparams.epochs).cumsum(0).tolist()
        for name, b in zip(("P3", "P4", "P5", "P6"), bounds):
            if e < b:
                return name
        return "P6" if self.hparams.modular and self.hparams.epochs[3] else "P3"

    def final_stage(self) -> str:
        """The last stage with epochs: what a trained (or loaded) model is evaluated as."""
        names = [n for n, e in zip(("P3", "P4", "P5", "P6"), self.hparams.epochs) if e]
        return names[-1] if names else "P3"

    def uses_style(self, stage: str | None = None) -> bool:
        """Whether predictions take a style vector: in the current stage while fitting, else in the final one."""
        if stage is None:
            stage = self.stage() if self._fitting else self.final_stage()
        return self.hparams.modular and stage in ("P5", "P6")

    def on_fit_start(self) -> None:
        super().on_fit_start()  # every submodule in train mode (an evaluated model comes back in eval mode)
        self._fitting = True

    def on_fit_end(self) -> None:
        self._fitting = False

    def configure_optimizers(self):
        m, hp = self.model, self.hparams
        decoder = [p for n, p in m.decoder.named_parameters() if not n.startswith("modulator")]
        return [
            torch.optim.Adam(m.inv_encoder.parameters(), lr=hp.lr_inv),
            torch.optim.Adam(decoder, lr=hp.lr_decoder),
            torch.optim.Adam([{"params": m.style_encoder.encoder.parameters(), "lr": hp.lr_style},
                              {"params": m.style_encoder.head.parameters(), "lr": hp.lr_head}]),
            torch.optim.Adam(m.decoder.modulator.parameters(), lr=hp.lr_integ),
        ]

    def _stepping(self, stage: str) -> list[bool]:
        """Which of (inv, decoder, style, integ) step in ``stage`` (official ``train_all``)."""
        ft = self.hparams.finetune
        table = {"inv": ("P3",), "decoder": ("P3", "P6"), "style": ("P4", "P6"), "integ": ("P5", "P6")}
        allowed = {"": set(table), "all": set(table), "integ+": {"style", "integ"}, "integ": {"integ"},
                   "decoder": {"decoder"}}[ft]
        return [k in allowed and stage in table[k] for k in ("inv", "decoder", "style", "integ")]

    def _freeze_for(self, stage: str) -> None:
        m = self.model
        trainable = {"P3": (m.inv_encoder, m.decoder), "P4": (m.style_encoder,), "P5": (m.decoder.modulator,),
                     "P6": (m.decoder, m.style_encoder)}[stage]
        m.requires_grad_(False)
        for mod in trainable:
            mod.requires_grad_(True)

    # ---- style ------------------------------------------------------------------------
    def style_traj(self, batch: dict[str, Tensor]) -> Tensor:
        """The frames the style encoder reads: observed only, or observed + future."""
        if self.hparams.style_source == "observed":
            return batch["obs"]
        return torch.cat([batch["obs"], batch["fut"]], dim=1)

    def eval_style(self, batch: dict[str, Tensor]) -> Tensor | None:
        """Style vector ``(1, style_dim)`` for scoring ``batch`` (None when the model takes none)."""
        if not self.uses_style():
            return None
        if self.hparams.style_source == "reference":
            label = int(batch["env"][0])
            if label not in self.reference_styles:
                raise RuntimeError(f"no reference style for environment label {label}: call set_reference_styles")
            return self.reference_styles[label].to(batch["obs"].device)
        return self.model.style_encoder.codes(self.style_traj(batch)).mean(0, keepdim=True)

    @torch.no_grad()
    def set_reference_styles(self, refs: dict[int, Tensor]) -> None:
        """``{label: (N, T, 2) positions of reference scenes}`` -> mean style code per label."""
        was = self.training
        self.eval()
        self.reference_styles = {k: self.model.style_encoder.codes(v.float().to(self.device)).mean(0, keepdim=True)
                                 for k, v in refs.items()}
        self.train(was)

    def _refresh_references(self) -> None:
        dm = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        if self.hparams.style_source != "reference" or dm is None or "ref" not in getattr(dm, "splits", {}):
            return
        self.set_reference_styles({dm.labels[e]: torch.from_numpy(w.traj) for e, w in dm.splits["ref"].items()})

    def batch_style(self, batch: dict[str, Tensor], distributed: bool) -> tuple[Tensor, Tensor]:
        """``(style vector (1, style_dim), embeddings (B, proj_dim))`` of one environment's training
        batch: the style vector is the mean style code of the batch's scenes, of the global batch
        under DDP (codes summed over the ranks with gradients, divided by the global count)."""
        enc = self.model.style_encoder
        codes = enc.codes(self.style_traj(batch))
        total = sum_across_ranks(codes.sum(0, keepdim=True), distributed)
        count = gather_labels(torch.tensor([len(codes)], device=codes.device), distributed).sum()
        return total / count, enc.embed(codes)

    # ---- losses -----------------------------------------------------------------------
    def compute_loss(self, batches: dict[str, dict[str, Tensor]], stage: str, training: bool = True) -> dict[str, Tensor]:
        """The official ``CustomLoss`` for one step over ``{env: batch}``.

        Under DDP (:attr:`gather_across_ranks`) the risks, IRMv1 and v-REx are those of the global
        batch (:func:`motionfc.risks.combined_risks`: each environment's risk terms are summed
        over the ranks, so every rank's ``risk`` is the global one), and the style loss takes its
        candidates and their environment labels from every rank (SupCon with
        ``distributed=True``; anchors stay local). DDP's gradient averaging then gives the step of
        one process holding the whole batch (tests/motionfc/test_distributed.py).
        """
        hp = self.hparams
        distributed = self.gather_across_ranks
        irm = stage == "P3" and bool(hp.lambda_irm) and training
        terms, embeds, labels = [], [], []
        for env, b in batches.items():
            label = b["env"][0]
            if env in self.contrast_only:
                if stage in ("P4", "P6") and (stage == "P4" or hp.lambda_contrastive):
                    embeds.append(self.model.style_encoder(self.style_traj(b))[1])
                    labels.append(label)
                continue
            style, emb = (None, None)
            if stage == "P4" or (stage in ("P5", "P6") and hp.modular):
                style, emb = self.batch_style(b, distributed)
            if stage == "P4":
                embeds.append(emb)
                labels.append(label)
                continue
            if stage == "P6":
                embeds.append(emb)
                labels.append(label)
            terms.append(environment_terms(self.model(b["obs"], style), b["fut_rel"], b["seq_start_end"], irm=irm))
        out: dict[str, Tensor] = {}
        loss = torch.zeros((), device=self.device)
        if terms:
            risks = combined_risks(torch.stack(terms), lambda_irm=hp.lambda_irm if irm else 0.0,
                                   unbiased=hp.unbiased, distributed=distributed)
            out["risk"] = risks.sum()
            loss = loss + out["risk"]
            if stage == "P3" and hp.lambda_vrex and len(risks) > 1:
                out["vrex"] = vrex_penalty(risks)
                loss = loss + hp.lambda_vrex * out["vrex"]
        if training and (stage == "P4" or (stage == "P6" and hp.lambda_contrastive)) and embeds:
            if len({int(x) for x in labels}) < 2:
                raise RuntimeError("the style contrastive loss needs at least two environments")
            out["style"] = style_contrastive_loss(embeds, torch.stack(labels), temperature=hp.style_temperature,
                                                  distributed=distributed)
            loss = loss + (hp.lambda_contrastive if stage == "P6" else 1.0) * out["style"]
        out["loss"] = loss
        return out

    def training_step(self, batch, batch_idx: int) -> Tensor:
        stage = self.stage()
        self._freeze_for(stage)
        losses = self.compute_loss(batch, stage)
        opts = self.optimizers()
        for opt in opts:
            opt.zero_grad()
        if losses["loss"].requires_grad:
            self.manual_backward(losses["loss"])
        for opt, step in zip(opts, self._stepping(stage)):
            if step:
                opt.step()
        scenes = sum(len(b["seq_start_end"]) for b in batch.values())
        self.log("stage", float(stage[1]), on_step=True, on_epoch=False, batch_size=scenes)  # loss curves by stage
        return self.log_losses(losses, "train", scenes).detach()

    # ---- evaluation -------------------------------------------------------------------
    def predict_abs(self, batch: dict[str, Tensor], style: Tensor | None = None, use_eval_style: bool = True) -> Tensor:
        """``(N, fut_len, 2)`` absolute predictions."""
        if use_eval_style:
            style = self.eval_style(batch)
        rel = self.model(batch["obs"], style)
        return batch["obs"][:, -1:, :] + rel.cumsum(dim=1)

    def on_validation_epoch_start(self) -> None:
        self._refresh_references()

    def on_test_epoch_start(self) -> None:
        self._refresh_references()

    def validation_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        update_displacement(self, "val", self.predict_abs(batch), batch["fut"])

    def test_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        update_displacement(self, "test", self.predict_abs(batch), batch["fut"])

    def on_test_epoch_end(self) -> None:
        log_displacement(self, "test")

    def on_validation_epoch_end(self) -> None:
        log_displacement(self, "val")
        dm = getattr(self.trainer, "datamodule", None)
        if self.stage() == "P4" and dm is not None and {"train", "val"} <= set(getattr(dm, "splits", {})):
            from motionfc.evaluate import style_error_rate

            err = style_error_rate(self.model.style_encoder, dm.splits["train"], dm.splits["val"], dm.labels)
            self.log("val/style_error", err, batch_size=1, sync_dist=True)  # the whole split, on every rank
