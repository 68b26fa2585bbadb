"""The style contrastive loss (Liu et al., CVPR 2022, eq. 6): SupCon over environment labels.

The official code stacks, per training step, one batch of ``B`` low-dimensional style
embeddings per environment into ``(E, B, D)`` and applies SupCon with one label per
environment (the ``B`` scenes are the "views" of their environment), temperature 0.07 and
base temperature 0.07 (here :class:`~motionfc.method.CausalMotion`'s ``style_temperature``,
default 0.07): exactly ContrastKit's :func:`contrastkit.functional.supcon_loss` on the
``E * B`` embeddings labelled by environment, which is what this calls.
"""

from __future__ import annotations

from contrastkit.functional import supcon_loss
from torch import Tensor


def style_contrastive_loss(embeddings: list[Tensor] | Tensor, labels: Tensor | list[int], *,
                           temperature: float, distributed: bool = False) -> Tensor:
    """SupCon over style embeddings grouped by environment.

    Args:
        embeddings: ``(E, B, D)`` or a list of ``E`` tensors ``(B_e, D)`` (sizes may differ).
        labels: ``(E,)`` environment label of each group (groups may share a label).
        temperature: τ (the model's ``style_temperature``; the official code uses 0.07).
        distributed: gather the embeddings and their environment labels from every rank (the
            local ones stay the anchors); every rank must hold the same number of embeddings.
    """
    import torch

    if isinstance(embeddings, (list, tuple)):
        if not embeddings:
            raise ValueError("no style embeddings")
        device = embeddings[0].device
        labels = torch.as_tensor(labels, device=device)
        if len(labels) != len(embeddings):
            raise ValueError(f"{len(embeddings)} groups of embeddings but {len(labels)} labels")
        lab = torch.cat([labels[i].expand(len(e)) for i, e in enumerate(embeddings)])
        return supcon_loss(torch.cat(list(embeddings)), lab, temperature=temperature, distributed=distributed)
    labels = torch.as_tensor(labels, device=embeddings.device)
    if embeddings.dim() != 3 or labels.shape != (embeddings.shape[0],):
        raise ValueError(f"embeddings must be (E, B, D) with labels (E,); got {tuple(embeddings.shape)}, {tuple(labels.shape)}")
    return supcon_loss(embeddings, labels, temperature=temperature, distributed=distributed)
