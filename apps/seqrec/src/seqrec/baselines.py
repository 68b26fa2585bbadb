"""The baselines of the MCLRec paper that matter here: popularity, SASRec and CL4SRec.

* Popularity: every user gets the items ranked by their training-interaction counts.
* SASRec (Kang & McAuley, ICDM 2018): the encoder with the next-item loss (full CE by default,
  the original sampled BCE with ``loss_type="bce"``).
* CL4SRec (Xie et al., ICDE 2022): SASRec + ``lam * NT-Xent`` between two augmented views of each
  training sequence (crop / mask / reorder, each view's augmentation drawn independently),
  in-batch negatives, through ContrastKit's kernel.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from seqrec.augment import two_views
from seqrec.losses import view_info_nce
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

    def compute_losses(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        h, _ = self.encode(batch)
        return {"loss": self.rec_loss(h, batch)}


class CL4SRec(SeqRecModule):
    """SASRec + contrastive loss between two augmented views.

    Args (beyond :class:`SeqRecModule`):
        lam: weight of the contrastive loss (CL4SRec: 0.1).
        tau: temperature; sim: ``"dot"`` or ``"cos"`` similarity.
        crop_keep, mask_ratio, reorder_ratio: augmentation strengths (0.5, 0.5, 0.8).
    """

    def __init__(self, num_items: int, lam: float = 0.1, tau: float = 1.0, sim: str = "dot",
                 crop_keep: float = 0.5, mask_ratio: float = 0.5, reorder_ratio: float = 0.8, **kwargs) -> None:
        super().__init__(num_items, **kwargs)
        if tau <= 0 or lam < 0:
            raise ValueError(f"need tau > 0 and lam >= 0; got {tau}, {lam}")
        self.lam, self.tau, self.sim = lam, tau, sim
        self.ratios = {"crop_keep": crop_keep, "mask_ratio": mask_ratio, "reorder_ratio": reorder_ratio}

    def compute_losses(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        x, n = batch["input"], batch["length"]
        v1, n1, v2, n2 = two_views(x, n, distinct=False, **self.ratios)
        h, (r1, r2) = self.encode(batch, (v1, n1), (v2, n2))
        rec = self.rec_loss(h, batch)
        cl = view_info_nce(r1, r2, self.tau, self.sim)
        return {"loss": rec + self.lam * cl, "rec": rec, "cl": cl}
