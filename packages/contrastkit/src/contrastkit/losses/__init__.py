"""Thin ``nn.Module`` wrappers around :mod:`contrastkit.functional` (configuration and state).

Each holds its loss's settings and learnable state only (a logit scale and bias, a queue,
prototypes); the math lives in the functions. Each file mirrors the functional file of the
same name (``functional/supcon.py`` <-> ``losses/supcon.py``); ``queue.py`` is MoCo's queue.
Kernel-based losses record the number of anchors of the last call that had no positive in
``last_num_dropped``.
"""

from contrastkit.losses.clip import ClipLoss
from contrastkit.losses.cwcl import CWCLLoss
from contrastkit.losses.dcl import DCLLoss
from contrastkit.losses.hard_negatives import MoCHiLoss
from contrastkit.losses.infonce import InfoNCELoss, NTXentLoss
from contrastkit.losses.mixup import MixupContrastiveLoss
from contrastkit.losses.queue import FeatureQueue
from contrastkit.losses.siglip import SigLipLoss
from contrastkit.losses.soft import SoftContrastiveLoss
from contrastkit.losses.supcon import SupConLoss
from contrastkit.losses.swav import SwAVLoss
from contrastkit.losses.symile import SymileLoss

__all__ = [
    "CWCLLoss",
    "ClipLoss",
    "DCLLoss",
    "FeatureQueue",
    "InfoNCELoss",
    "MixupContrastiveLoss",
    "MoCHiLoss",
    "NTXentLoss",
    "SigLipLoss",
    "SoftContrastiveLoss",
    "SupConLoss",
    "SwAVLoss",
    "SymileLoss",
]
