"""MCLRec: Meta-optimized Contrastive Learning for sequential Recommendation.

Qin, Yuan, Zhao, Fang, Zhuang, Liu, Liu, Sheng, SIGIR 2023 (arXiv:2304.07763); official code
QinHsiu/MCLRec (a RecBole fork: ``mclrec.py``, ``trainer.py``, ``extractors.py``).

Per training sequence ``s``: two different data augmentations give views ``s1, s2``; the encoder
gives ``h1, h2`` (last position); two learnable augmenters give ``z1 = A1(h1)``, ``z2 = A2(h2)``.

* ``L_rec``  next-item cross-entropy on ``s``;
* ``L_cl1 = NT-Xent(h1, h2)`` (``temperature``, ``sim`` dot or cos);
* ``L_cl2 = NT-Xent(h1, z2) + NT-Xent(h2, z1) + NT-Xent(z1, z2)`` (dot, temperature 1);
* ``R``     the contrastive regularization over the same three pairs
  (:func:`seqrec.losses.contrastive_regularization_loss`).

Meta loop per batch, as the official trainer does it (``meta_loop="three_step"``):

1. encoder step, augmenters frozen: ``L_rec + λ L_cl1 + β (L_cl2 + γ R)``;
2. augmenter step with the updated encoder: ``L_cl2 + γ R``;
3. encoder step again with the updated augmenters, same loss as 1.

``meta_loop="single"`` stops after step 2 (the paper's Algorithm 1: one encoder and one
augmenter update per batch). The official code hard-codes ``γ = 0.1`` (``meta_rl``); the
encoder sees ``β γ R`` because the code adds ``R`` inside the ``β`` term. In the arguments
λ, β, γ are ``lambda_cl1``, ``lambda_cl2``, ``lambda_reg``.

Speed without changing the maths: the three encoder inputs (``s, s1, s2``) go through the
encoder as one ``3B`` batch; step 2 needs no encoder gradient (only the augmenters are updated),
so with ``reuse_forward=True`` the forward pass of step 2 (made with the step-1-updated encoder,
which step 3 uses unchanged) is kept with its graph and reused by step 3. The official code
redraws the dropout masks for step 3; here steps 2 and 3 share them (``reuse_forward=False``
recomputes step 3's forward exactly as the official code does).

Under DDP (W processes, B sequences each): ``L_cl1``, ``L_cl2`` and ``R`` gather their views
from all ranks (in-batch negatives from the global batch of BW sequences); each of the three
backward passes is a ``manual_backward``, so the DDP wrapper (the encoder and the augmenters are
submodules of this module) averages the encoder's gradients (steps 1 and 3) and the augmenters'
(step 2) across ranks. Each backward reaches only one of the two, so DDP must be told to look for
unused parameters: :func:`seqrec.runner.trainer_options_for` turns ``ddp`` into
``ddp_find_unused_parameters_true`` for this class.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from seqrec.augment import CROP_KEEP, MASK_RATIO, REORDER_RATIO, two_views
from seqrec.losses import contrastive_regularization_loss, mclrec_cl2_loss, view_info_nce_loss
from seqrec.models import Augmenter
from seqrec.module import SeqRecModule

META_LOOPS = ("three_step", "single")


class MCLRec(SeqRecModule):
    """MCLRec (see module docstring).

    Beyond the arguments of :class:`SeqRecModule` (``**kwargs``).

    Args:
        lambda_cl1: weight λ of L_cl1 (paper: Beauty 0, Sports 0.04, Yelp 0.03; configs/<dataset>.yaml).
        lambda_cl2: weight β of L_cl2 (paper: Beauty 0.05, Sports 0.4, Yelp 0.1).
        lambda_reg: weight γ of the regularization R (official code 0.1; 0 drops R).
        temperature: temperature of L_cl1 and of R (official code 1).
        sim: similarity of L_cl1, "dot" or "cos".
        meta_loop: "three_step" (official trainer) or "single" (the paper's Algorithm 1).
        reuse_forward: share the step-2 forward with step 3 (module docstring).
        augmenter_hidden: inner sizes of the augmenter MLP, between hidden and hidden (32, 16).
        crop_keep: crop augmentation, fraction of the items kept (0.5).
        mask_ratio: mask augmentation, fraction of the items masked (0.5).
        reorder_ratio: reorder augmentation, fraction of the items in the shuffled span (0.8).
    """

    def __init__(self, num_items: int, lambda_cl1: float = 0.0, lambda_cl2: float = 0.05, lambda_reg: float = 0.1,
                 temperature: float = 1.0, sim: str = "dot", meta_loop: str = "three_step",
                 reuse_forward: bool = True, augmenter_hidden: tuple[int, ...] = (32, 16),
                 crop_keep: float = CROP_KEEP, mask_ratio: float = MASK_RATIO, reorder_ratio: float = REORDER_RATIO,
                 **kwargs) -> None:
        super().__init__(num_items, **kwargs)
        if meta_loop not in META_LOOPS:
            raise ValueError(f"meta_loop must be one of {META_LOOPS}; got {meta_loop!r}")
        if min(lambda_cl1, lambda_cl2, lambda_reg) < 0 or temperature <= 0:
            raise ValueError("need lambda_cl1, lambda_cl2, lambda_reg >= 0 and temperature > 0; got "
                             f"{lambda_cl1}, {lambda_cl2}, {lambda_reg}, {temperature}")
        if not augmenter_hidden or min(augmenter_hidden) < 1:
            raise ValueError(f"augmenter_hidden must be one or more positive sizes; got {augmenter_hidden}")
        self.automatic_optimization = False
        self.lambda_cl1, self.lambda_cl2, self.lambda_reg = lambda_cl1, lambda_cl2, lambda_reg
        self.temperature, self.sim, self.meta_loop, self.reuse_forward = temperature, sim, meta_loop, reuse_forward
        self.ratios = {"crop_keep": crop_keep, "mask_ratio": mask_ratio, "reorder_ratio": reorder_ratio}
        hidden = self.encoder.item_emb.embedding_dim
        sizes = (hidden, *augmenter_hidden, hidden)
        self.augmenters = torch.nn.ModuleList([Augmenter(sizes), Augmenter(sizes)])

    def configure_optimizers(self):
        enc = torch.optim.Adam(self.encoder.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        aug = torch.optim.Adam(self.augmenters.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        return [enc, aug]

    # ---- objectives ------------------------------------------------------------------------
    def _meta_terms(self, r1: Tensor, r2: Tensor) -> tuple[Tensor, Tensor]:
        z1, z2 = self.augmenters[0](r1), self.augmenters[1](r2)
        distributed = self.gather_across_ranks
        cl2 = mclrec_cl2_loss(r1, r2, z1, z2, distributed)
        reg = (contrastive_regularization_loss(r1, r2, z1, z2, self.temperature, distributed) if self.lambda_reg > 0
               else cl2.new_zeros(()))
        return cl2, reg

    def encoder_objective(self, h: Tensor, r1: Tensor, r2: Tensor, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """``L_rec + λ L_cl1 + β (L_cl2 + γ R)`` from the hidden states ``h`` of the
        sequences (``(B, L, D)``, or ``(B, D)`` for prefix batches) and the view representations
        ``r1, r2`` (B, D)."""
        rec = self.rec_loss(h, batch)
        cl1 = (view_info_nce_loss(r1, r2, self.temperature, self.sim, self.gather_across_ranks) if self.lambda_cl1 > 0
               else rec.new_zeros(()))
        cl2, reg = self._meta_terms(r1, r2)
        loss = rec + self.lambda_cl1 * cl1 + self.lambda_cl2 * (cl2 + self.lambda_reg * reg)
        return {"loss": loss, "rec": rec, "cl1": cl1, "cl2": cl2, "reg": reg}

    def augmenter_objective(self, r1: Tensor, r2: Tensor) -> Tensor:
        """``L_cl2 + γ R`` with the encoder outputs held fixed."""
        cl2, reg = self._meta_terms(r1.detach(), r2.detach())
        return cl2 + self.lambda_reg * reg

    # ---- the meta loop ---------------------------------------------------------------------
    def _backward(self, loss: Tensor) -> None:
        # Under DDP, manual_backward lets the DDP wrapper (which holds the encoder and the
        # augmenters: they are this module's submodules) average the gradients across ranks; the
        # trainer uses DDP's find_unused_parameters, since each backward reaches one of the two.
        if self._trainer is not None:
            self.manual_backward(loss)
        else:
            loss.backward()

    def _step(self, opt, loss: Tensor) -> None:
        opt.zero_grad()
        self._backward(loss)
        opt.step()

    def _forward_views(self, batch, views):
        v1, n1, v2, n2 = views
        h, (r1, r2) = self.encode(batch, (v1, n1), (v2, n2))
        return h, r1, r2

    def meta_step(self, batch: dict[str, Tensor], enc_opt, aug_opt,
                  on_update: Callable[[str], None] | None = None,
                  views: tuple[Tensor, Tensor, Tensor, Tensor] | None = None) -> dict[str, Tensor]:
        """One batch of the meta loop (module docstring); ``on_update(name)`` is called after each
        optimizer step (``"encoder_1"``, ``"augmenters"``, ``"encoder_2"``). ``views``
        ``(v1, n1, v2, n2)`` are drawn here unless given. Returns the losses."""
        if views is None:
            views = two_views(batch["input"], batch["length"], distinct=True, **self.ratios)
        self.augmenters.requires_grad_(False)
        h, r1, r2 = self._forward_views(batch, views)
        losses = self.encoder_objective(h, r1, r2, batch)
        self.check_finite(losses["loss"], "train")  # before a NaN reaches the weights
        self._step(enc_opt, losses["loss"])
        if on_update:
            on_update("encoder_1")

        reuse = self.meta_loop == "three_step" and self.reuse_forward
        if reuse:
            h, r1, r2 = self._forward_views(batch, views)
        else:
            with torch.no_grad():
                v1, n1, v2, n2 = views
                r1, r2 = self.encoder.represent(torch.cat([v1, v2]), torch.cat([n1, n2])).split(v1.shape[0])
        self.augmenters.requires_grad_(True)
        aug_loss = self.augmenter_objective(r1, r2)
        self._step(aug_opt, aug_loss)
        self.augmenters.requires_grad_(False)
        losses["aug"] = aug_loss.detach()
        if on_update:
            on_update("augmenters")

        if self.meta_loop == "three_step":
            if not reuse:
                h, r1, r2 = self._forward_views(batch, views)
            second = self.encoder_objective(h, r1, r2, batch)
            self._step(enc_opt, second["loss"])
            losses["loss_step3"] = second["loss"].detach()
            if on_update:
                on_update("encoder_2")
        return losses

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        enc_opt, aug_opt = self.optimizers()
        losses = self.meta_step(batch, enc_opt, aug_opt)
        self.log_losses(losses, "train", batch["input"].shape[0])
