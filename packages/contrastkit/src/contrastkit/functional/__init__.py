"""Pure functions: the contrastive kernel and every named loss built on it."""

from contrastkit.functional.clip import clip_loss
from contrastkit.functional.infonce import info_nce, nt_xent
from contrastkit.functional.kernel import KernelOutput, contrastive_cross_entropy
from contrastkit.functional.supcon import supcon

__all__ = [
    "KernelOutput",
    "clip_loss",
    "contrastive_cross_entropy",
    "info_nce",
    "nt_xent",
    "supcon",
]
