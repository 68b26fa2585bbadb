"""The baselines of the MCLRec paper that matter here: popularity, SASRec and CL4SRec.

* Popularity: every user gets the items ranked by their training-interaction counts.
* SASRec (Kang & McAuley, ICDM 2018): the encoder with the next-item loss (full CE by default,
  the original sampled BCE with ``loss_type="bce"``).
* CL4SRec (Xie et al., ICDE 2022): SASRec + ``lambda_cl * NT-Xent`` between two augmented views of each
  training sequence (crop / mask / reorder, each view's augmentation drawn independently),
  in-batch negatives, through ContrastKit's kernel.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from seqrec.augment import CROP_KEEP, MASK_RATIO, REORDER_RATIO, two_views
from seqrec.losses import view_info_nce_loss
from seqrec.module import SeqRecModule


class Popularity:
    """Scores ``(B, N)`` = training counts of items ``1..N``, identical for every user."""

    def __init__(self, train_sequences: list[np.ndarray], num_items: int) -> None:
        counts = np.bincount(np.concatenate(train_sequences), minlength=num_items + 1)[1:]
        self.counts = torch.as_tensor(counts, dtype=torch.float32)

    def __call__(self, batch: dict[str, Tensor]) -> Tensor:
        b = batch["input"].shape[0]
        return self.counts.to(batch["input"].device).expand(b, -1).clone()


class SASRec(SeqRecModule):
    """SASRec trained on the next-item loss alone (see :class:`SeqRecModule` for arguments)."""

    def compute_losses(self, batch: dict[str, Tensor], stage: str = "train") -> dict[str, Tensor]:
        h, _ = self.encode(batch)
        return {"loss": self.rec_loss(h, batch)}


class CL4SRec(SeqRecModule):
    """SASRec + contrastive loss between two augmented views.

    Beyond the arguments of :class:`SeqRecModule` (``**kwargs``).

    Args:
        lambda_cl: CL4SRec's weight λ of the contrastive loss (its paper: 0.1).
        temperature: temperature of the contrastive loss (official MCLRec code: 1).
        sim: similarity of the contrastive loss, "dot" or "cos".
        crop_keep: crop augmentation, fraction of the items kept (0.5).
        mask_ratio: mask augmentation, fraction of the items masked (0.5).
        reorder_ratio: reorder augmentation, fraction of the items in the shuffled span (0.8).
    """

    def __init__(self, num_items: int, lambda_cl: float = 0.1, temperature: float = 1.0, sim: str = "dot",
                 crop_keep: float = CROP_KEEP, mask_ratio: float = MASK_RATIO, reorder_ratio: float = REORDER_RATIO,
                 **kwargs) -> None:
        super().__init__(num_items, **kwargs)
        if temperature <= 0 or lambda_cl < 0:
            raise ValueError(f"need temperature > 0 and lambda_cl >= 0; got {temperature}, {lambda_cl}")
        self.lambda_cl, self.temperature, self.sim = lambda_cl, temperature, sim
        self.ratios = {"crop_keep": crop_keep, "mask_ratio": mask_ratio, "reorder_ratio": reorder_ratio}

    def compute_losses(self, batch: dict[str, Tensor], stage: str = "train") -> dict[str, Tensor]:
        return self.view_losses(batch, two_views(batch["input"], batch["length"], distinct=False, **self.ratios))

    def view_losses(self, batch: dict[str, Tensor], views: tuple[Tensor, Tensor, Tensor, Tensor]) -> dict[str, Tensor]:
        """``L_rec + λ NT-Xent(r1, r2)`` for given views ``(v1 (B, L), n1 (B,), v2, n2)``; under DDP
        the views are gathered from all ranks (in-batch negatives from the global batch)."""
        v1, n1, v2, n2 = views
        h, (r1, r2) = self.encode(batch, (v1, n1), (v2, n2))
        rec = self.rec_loss(h, batch)
        cl = view_info_nce_loss(r1, r2, self.temperature, self.sim, self.gather_across_ranks)
        return {"loss": rec + self.lambda_cl * cl, "rec": rec, "cl": cl}
