"""COMET pretraining as a LightningModule (Wang et al., NeurIPS 2023, Sec. 3.2, eq. 6):

    L = lambda_P L_P + lambda_T L_T + lambda_S L_S + lambda_O L_O

Views: the official code runs the encoder twice per level (8 passes; masks ``all_true`` for the
patient and trial levels, ``continuous`` for sample and observation). With ``share_views=True``
(default) the patient and trial levels share one pair of ``all_true`` views and the sample and
observation levels one pair of ``continuous`` views, as TS2Vec computes its instance and temporal
losses on one pair: each loss still sees two independently masked views with the official masks,
so what it computes is unchanged; only the random draws are shared. Moreover the two
``all_true`` views differ only by the encoder's final dropout (the conv stack is deterministic),
so they are two dropout draws on one pass (exactly what two passes give for those dropout
masks). The passes (3 instead of 8) go through the encoder as one batch.

Weights: every lambda multiplies its level. The official code multiplies only the sample and
observation terms by their factors; the patient and trial factors only switch those terms on
(factor != 0) and the terms enter with weight 1. ``official_weighting=True`` reproduces that.

Across processes (DDP): training steps gather the candidates of the cross-sample levels and the
patient/trial ids from every rank (``distributed=self.gather_across_ranks``; see
:mod:`medts.losses`); validation and test steps stay local, because every rank evaluates every
validation batch (:class:`medts.data.sampler.HierarchyBatchSampler`). In eval mode the random view
masks are drawn per sample from its dataset index (``batch["index"]``), so that a validation loss
does not depend on the process, the batch or the RNG state: a 2-process fit and a 1-process
``medts validate`` of its checkpoint report the same numbers.

The baselines (TS2Vec, SimCLR, supervised) are in :mod:`medts.baselines`; they share
:class:`EncoderPretraining` (the encoder, its weight average, the optimizer and embeddings).
"""

from __future__ import annotations

import copy
from typing import Literal

import torch
from contrastkit.train import ContrastiveModule, load_state_checked
from torch import Tensor
from torch.optim.swa_utils import AveragedModel

from medts.losses import (
    hierarchical_levels,
    id_loss_from_similarity,
    id_similarity,
    observation_loss,
    sample_loss,
)
from medts.models.encoder import DETERMINISTIC_MASKS, TSEncoder, embed_samples
from medts.views import indexed_masks, stacked_masks

LEVELS = ("patient", "trial", "sample", "observation")
INSTANCE_LOSSES = {"sample": sample_loss, "observation": observation_loss}


class EncoderPretraining(ContrastiveModule):
    """What every pretraining method shares: a TS2Vec encoder, its equal-weight running average
    (``torch.optim.swa_utils``, used for embeddings, as the official code), AdamW, embeddings.

    Args:
        input_dims: channels C. output_dims / hidden_dims / depth / dropout: the TS2Vec encoder
            (320 / 64 / 10 / 0.1, see :class:`medts.models.encoder.TSEncoder`).
        swa: keep the weight average (else the encoder itself is used downstream).
        lr / weight_decay: AdamW.
    """

    def __init__(self, input_dims: int, output_dims: int = 320, hidden_dims: int = 64, depth: int = 10,
                 dropout: float = 0.1, swa: bool = True, lr: float = 1e-3, weight_decay: float = 0.0) -> None:
        super().__init__(lr=lr, weight_decay=weight_decay)
        self.encoder = TSEncoder(input_dims, output_dims, hidden_dims, depth, dropout=dropout)
        self.swa_encoder = AveragedModel(self.encoder) if swa else None
        if self.swa_encoder is not None:
            self.swa_encoder.requires_grad_(False)
            self.swa_encoder.update_parameters(self.encoder)  # the initial weights are the first iterate, as official

    def encode_views(self, x: Tensor, modes: list[str], index: Tensor | None = None) -> list[Tensor]:
        """One encoder pass for the view pairs ``modes`` (two views per mode), ``2 * len(modes)``
        tensors ``(B, T, output_dims)``.

        A pair with a deterministic mask (``all_true``...) differs only by the encoder's final
        dropout, so its two views are two dropout draws on one pass's features: the same values
        two passes would give for those dropout masks. Random masks get one pass per view; in
        eval mode with the samples' dataset ``index`` ``(B,)`` given, they are drawn per sample
        from its index (:func:`medts.views.indexed_masks`), else from the global RNG.
        """
        b, t, _ = x.shape
        per_pass = [[m] if m in DETERMINISTIC_MASKS else [m, m] for m in modes]
        flat = [m for group in per_pass for m in group]
        if index is not None and not self.training:
            masks = indexed_masks(flat, index, t, x.device)
        else:
            masks = stacked_masks(flat, b, t, x.device)
        h = self.encoder.features(x.repeat(len(flat), 1, 1), mask=masks)
        h = h.view(len(flat), b, t, -1)
        views, k = [], 0
        for group in per_pass:
            if len(group) == 1:
                views += [self.encoder.repr_dropout(h[k]), self.encoder.repr_dropout(h[k])]
            else:
                views += [self.encoder.repr_dropout(h[k]), self.encoder.repr_dropout(h[k + 1])]
            k += len(group)
        return views

    def gathers(self, stage: str) -> bool:
        """Whether a step of ``stage`` gathers across ranks: training steps under DDP only (every
        rank evaluates every validation and test batch, so those stay local)."""
        return stage == "train" and self.gather_across_ranks

    def on_train_batch_end(self, outputs, batch, batch_idx: int) -> None:
        if self.swa_encoder is not None:
            self.swa_encoder.update_parameters(self.encoder)

    def configure_optimizers(self):
        return torch.optim.AdamW(self.encoder.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    def averaged_encoder(self) -> TSEncoder:
        """The encoder used downstream: the weight average when ``swa`` is on, else the encoder."""
        return self.swa_encoder.module if self.swa_encoder is not None else self.encoder

    def export_encoder(self) -> TSEncoder:
        """A standalone, trainable copy of :meth:`averaged_encoder` (for full fine-tuning; the
        average itself is kept frozen, so its copy must be switched back to requiring gradients)."""
        return copy.deepcopy(self.averaged_encoder()).requires_grad_(True)

    def embed(self, x: Tensor, batch_size: int = 256) -> Tensor:
        """Sample embeddings ``(N, output_dims)``: max-pool over time of the averaged encoder, eval mode."""
        return embed_samples(self.averaged_encoder(), x, batch_size)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """Check the weights Lightning is about to restore (``medts fit/validate/test --ckpt_path``,
        a resumed run): another model's or app's, or non-finite ones, are one ``CheckpointError``
        naming the file instead of a bare state-dict error from inside Lightning."""
        source = self._trainer.ckpt_path if self._trainer is not None else "the checkpoint"
        load_state_checked(self, checkpoint.get("state_dict") or {}, source)


class COMET(EncoderPretraining):
    """Pretraining module. Batches are dicts with ``x`` ``(B, T, C)``, ``patient`` and ``trial`` ``(B,)``.

    Args:
        input_dims: channels C. output_dims / hidden_dims / depth / dropout: the TS2Vec encoder
            (320 / 64 / 10 / 0.1).
        lambda_patient / lambda_trial / lambda_sample / lambda_observation: the level weights
            ``lambda_P, lambda_T, lambda_S, lambda_O`` of eq. 6 (official default 0.25 each);
            0 switches a level off.
        id_mask / instance_mask: masks of the patient/trial and the sample/observation views.
        share_views: share view pairs between levels (see module docstring).
        id_pairing: ``official`` or ``all`` (see :func:`medts.losses.id_loss_from_similarity`).
        id_temperature: temperature ``tau`` of the trial and patient levels (official 0.1).
        official_weighting: the patient and trial terms enter with weight 1 (the official code).
        swa: keep an equal-weight running average of the encoder, used for embeddings (official).
        lr / weight_decay: AdamW.
    """

    def __init__(
        self,
        input_dims: int,
        output_dims: int = 320,
        hidden_dims: int = 64,
        depth: int = 10,
        dropout: float = 0.1,
        lambda_patient: float = 0.25,
        lambda_trial: float = 0.25,
        lambda_sample: float = 0.25,
        lambda_observation: float = 0.25,
        id_mask: str = "all_true",
        instance_mask: str = "continuous",
        share_views: bool = True,
        id_pairing: Literal["official", "all"] = "official",
        id_temperature: float = 0.1,
        official_weighting: bool = False,
        swa: bool = True,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(input_dims, output_dims, hidden_dims, depth, dropout, swa, lr, weight_decay)
        self.save_hyperparameters()
        lambdas = {"patient": lambda_patient, "trial": lambda_trial, "sample": lambda_sample, "observation": lambda_observation}
        for k, v in lambdas.items():
            if v < 0:
                raise ValueError(f"lambda_{k} must be >= 0; got {v}")
        if not any(lambdas.values()):
            raise ValueError("all lambda_* are 0: nothing to train")
        if id_temperature <= 0:
            raise ValueError(f"id_temperature must be > 0; got {id_temperature}")
        self.lambdas = lambdas

    # -- views ------------------------------------------------------------------------------------
    def _view_plan(self) -> list[tuple[str, list[str]]]:
        """``[(mask, levels using this pair)]``: which view pairs to encode."""
        on = [k for k in LEVELS if self.lambdas[k] > 0]
        hp = self.hparams
        groups = [(hp.id_mask, [k for k in on if k in ("patient", "trial")]),
                  (hp.instance_mask, [k for k in on if k in ("sample", "observation")])]
        if not hp.share_views:
            return [(m, [k]) for m, ks in groups for k in ks]
        return [(m, ks) for m, ks in groups if ks]

    def level_losses(self, x: Tensor, patient: Tensor, trial: Tensor, distributed: bool = False,
                     index: Tensor | None = None) -> dict[str, Tensor]:
        """Raw (unweighted) loss of every active level on freshly encoded views; ``distributed``:
        candidates and ids from every rank (:mod:`medts.losses`); ``index``: see :meth:`encode_views`."""
        plan = self._view_plan()
        z = self.encode_views(x, [m for m, _ in plan], index)
        out: dict[str, Tensor] = {}
        hp = self.hparams
        ids = {"patient": patient, "trial": trial}
        for i, (_, levels) in enumerate(plan):
            z1, z2 = z[2 * i], z[2 * i + 1]
            id_levels = [k for k in levels if k in ids]
            if id_levels:
                sim = id_similarity(z1, z2, distributed)  # shared by the trial and patient levels of this pair
                for k in id_levels:
                    out[k] = id_loss_from_similarity(sim, ids[k], hp.id_temperature, hp.id_pairing)
            fns = {k: INSTANCE_LOSSES[k] for k in levels if k in INSTANCE_LOSSES}
            if fns:
                out.update(hierarchical_levels(fns, z1, z2, distributed))
        return out

    def compute_losses(self, batch: dict, stage: str) -> dict[str, Tensor]:
        x = batch["x"]
        raw = self.level_losses(x, batch["patient"], batch["trial"], self.gathers(stage), batch.get("index"))
        total = x.new_zeros(())
        for lvl, value in raw.items():
            w = self.lambdas[lvl]
            if self.hparams.official_weighting and lvl in ("patient", "trial"):
                w = 1.0
            total = total + w * value
        return {"loss": total, **{f"loss_{k}": v.detach() for k, v in raw.items()}}
