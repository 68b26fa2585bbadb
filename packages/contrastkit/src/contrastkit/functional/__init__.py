"""Pure functions: the contrastive kernel and every named loss built on it."""

from contrastkit.functional.alignment import align_loss, uniform_loss
from contrastkit.functional.clip import clip_loss
from contrastkit.functional.cwcl import cwcl_loss, cwcl_weights
from contrastkit.functional.dcl import dcl_loss, dclw_loss, dclw_weights
from contrastkit.functional.grouped import grouped_contrastive_cross_entropy
from contrastkit.functional.hard_negatives import hard_negative_mixing, mochi_loss
from contrastkit.functional.infonce import info_nce_loss, nt_xent_loss, two_view_indices
from contrastkit.functional.kernel import KernelOutput, contrastive_cross_entropy
from contrastkit.functional.mixup import MixedBatch, mix_inputs, mixup_contrastive_loss, mixup_weights
from contrastkit.functional.siglip import siglip_loss
from contrastkit.functional.soft import label_similarity, soft_contrastive_loss
from contrastkit.functional.supcon import supcon_loss
from contrastkit.functional.swav import sinkhorn_knopp, swav_loss
from contrastkit.functional.symile import mip, symile_loss

__all__ = [
    "KernelOutput",
    "MixedBatch",
    "align_loss",
    "clip_loss",
    "contrastive_cross_entropy",
    "cwcl_loss",
    "cwcl_weights",
    "dcl_loss",
    "dclw_loss",
    "dclw_weights",
    "grouped_contrastive_cross_entropy",
    "hard_negative_mixing",
    "info_nce_loss",
    "label_similarity",
    "mip",
    "mix_inputs",
    "mixup_contrastive_loss",
    "mixup_weights",
    "mochi_loss",
    "nt_xent_loss",
    "siglip_loss",
    "sinkhorn_knopp",
    "soft_contrastive_loss",
    "supcon_loss",
    "swav_loss",
    "symile_loss",
    "two_view_indices",
    "uniform_loss",
]
