"""The LightningModule shared by SASRec, CL4SRec and MCLRec: the SASRec encoder, the next-item
loss in both training forms, and full-ranking validation / test.

The training base is :class:`contrastkit.train.ContrastiveModule`: subclasses implement
``compute_losses(batch, stage)`` (logged as ``train/<name>``, stopped when not finite), or, with
manual optimization (MCLRec), their own ``training_step`` that calls ``self.log_losses``.
Validation and test log ``{stage}/HR@k`` and ``{stage}/NDCG@k`` for k in 5, 10, 20 (early
stopping watches one of them).

Under DDP: the contrastive terms of the subclasses gather their views from all ranks
(``distributed=self.gather_across_ranks``); the next-item loss stays local, weighted by
:func:`seqrec.losses.global_mean_factor` so that the averaged gradient is the full batch's;
evaluation counts every user exactly once (each rank scores its own users, see
:class:`seqrec.data.datamodule.EvalShardSampler`, and the torchmetrics means are summed over
ranks with their user counts as weights), so every rank logs the metric of the whole set.
"""

from __future__ import annotations

import torch
from contrastkit.train.module import ContrastiveModule
from torch import Tensor

from seqrec.evaluate import KS, RankingMetrics
from seqrec.losses import global_mean_factor, next_item_bce_loss, next_item_ce_loss
from seqrec.models import SASRecEncoder

LOSS_TYPES = ("ce", "bce")


class SeqRecModule(ContrastiveModule):
    """SASRec encoder + next-item loss + full-ranking evaluation.

    These arguments (and those of the subclasses) are the settings of ``--model.*`` and of a
    config's ``model:`` section (:data:`seqrec.config.ModelConfig` is derived from them).

    Args:
        num_items: item ids ``1..num_items`` (from the data).
        max_len: maximum input length, the position table size (from the data; paper 50).
        hidden: embedding and hidden size d (paper 64).
        n_layers: self-attention blocks (paper 2).
        heads: attention heads per block (paper 2).
        inner: feed-forward size (paper 256).
        dropout: dropout on embeddings and block outputs (paper 0.5).
        attn_dropout: dropout on attention weights (paper 0.5).
        loss_type: next-item loss, "ce" full softmax over all items or "bce" SASRec's sampled BCE.
        lr: Adam learning rate (paper 1e-3).
        weight_decay: Adam weight decay (paper 0).
        exclude_history: rank only items absent from the user's input history (off in the paper).
    """

    def __init__(self, num_items: int, max_len: int = 50, hidden: int = 64, n_layers: int = 2, heads: int = 2,
                 inner: int = 256, dropout: float = 0.5, attn_dropout: float = 0.5, loss_type: str = "ce",
                 lr: float = 1e-3, weight_decay: float = 0.0, exclude_history: bool = False) -> None:
        super().__init__(lr=lr, weight_decay=weight_decay)  # checks lr > 0 and weight_decay >= 0
        if loss_type not in LOSS_TYPES:
            raise ValueError(f"loss_type must be one of {LOSS_TYPES}; got {loss_type!r}")
        for name, p in (("dropout", dropout), ("attn_dropout", attn_dropout)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1); got {p}")
        self.save_hyperparameters()
        self.encoder = SASRecEncoder(num_items, max_len, hidden, n_layers, heads, inner, dropout, attn_dropout)
        self.loss_type = loss_type
        self.exclude_history = exclude_history
        self.metrics = torch.nn.ModuleDict({"val": RankingMetrics(KS), "test": RankingMetrics(KS)})

    # ---- encoder helpers -------------------------------------------------------------------
    def encode(self, batch: dict[str, Tensor], *views: tuple[Tensor, Tensor]) -> tuple[Tensor, list[Tensor]]:
        """One encoder pass over ``batch["input"]`` and the ``views`` (each ``(seqs (B, L), lengths (B,))``).

        Returns what the next-item loss needs for the input, all positions (B, L, D) in the
        shifted form or the last one (B, D) for prefixes, and each view's representation (B, D).
        Positions that no loss reads are not computed in the last block.
        """
        x, n = batch["input"], batch["length"]
        b = x.shape[0]
        seqs = torch.cat([x, *(v for v, _ in views)]) if views else x
        lengths = torch.cat([n, *(m for _, m in views)]) if views else n
        n_full = b if batch["target"].dim() == 2 else 0
        full, reps = self.encoder.forward_split(seqs, lengths, n_full)
        if n_full:
            return full, list(reps.split(b)) if views else []
        return reps[:b], list(reps[b:].split(b)) if views else []

    def rec_loss(self, h: Tensor, batch: dict[str, Tensor]) -> Tensor:
        """Next-item loss from :meth:`encode`'s input states: every non-padded position for the
        shifted form (``h`` (B, L, D), targets (B, L)), the last one for prefixes (``h`` (B, D))."""
        target = batch["target"]
        if target.dim() == 2:
            keep = target > 0
            hidden, target = h[keep], target[keep]
        else:
            hidden = h if h.dim() == 2 else h[torch.arange(h.shape[0], device=h.device), batch["length"] - 1]
        items = self.encoder.item_table()
        loss = next_item_ce_loss(hidden, items, target) if self.loss_type == "ce" else next_item_bce_loss(hidden, items, target)
        return loss * global_mean_factor(target.shape[0], loss, self.gather_across_ranks)

    def scores(self, batch: dict[str, Tensor]) -> Tensor:
        """Scores of all items ``(B, N)`` for ``batch["input"]``: ``<h_u, e_i>``."""
        return self.encoder.represent(batch["input"], batch["length"]) @ self.encoder.item_table().T

    # ---- Lightning -------------------------------------------------------------------------
    def configure_optimizers(self):
        return torch.optim.Adam(self.encoder.parameters(), lr=self.lr, weight_decay=self.weight_decay)

    def _eval_step(self, batch: dict[str, Tensor], stage: str) -> None:
        self.metrics[stage].update(self.scores(batch), batch["target"],
                                   batch["history"] if self.exclude_history else None)

    def _eval_end(self, stage: str) -> None:
        values = self.metrics[stage].compute()
        self.metrics[stage].reset()
        for name, value in values.items():  # already the whole set's (synced); sync_dist averages equal values
            self.log(f"{stage}/{name}", value, prog_bar=name == "NDCG@20", sync_dist=True)

    def validation_step(self, batch, batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def test_step(self, batch, batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def on_validation_epoch_end(self) -> None:
        self._eval_end("val")

    def on_test_epoch_end(self) -> None:
        self._eval_end("test")

    def compute_losses(self, batch: dict[str, Tensor], stage: str = "train") -> dict[str, Tensor]:  # pragma: no cover
        """Named training losses of one batch, ``"loss"`` the one optimized (automatic optimization)."""
        raise NotImplementedError
