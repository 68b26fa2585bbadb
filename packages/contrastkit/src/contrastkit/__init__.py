"""ContrastKit: one exact, fast, memory-lean contrastive kernel and the losses built on it.

``import contrastkit`` loads torch (and numpy) only; Lightning and scikit-learn are imported by
``contrastkit.train`` and ``contrastkit.eval`` when those are used.
"""

from contrastkit import functional, losses
from contrastkit.functional import contrastive_cross_entropy

__version__ = "0.1.0"
__all__ = ["contrastive_cross_entropy", "functional", "losses"]
