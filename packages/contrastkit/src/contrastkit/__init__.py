"""ContrastKit: one exact, fast, memory-lean contrastive kernel and the losses built on it.

The functions live in :mod:`contrastkit.functional`; the loss modules of
:mod:`contrastkit.losses` are re-exported here. Names are resolved on first use (PEP 562), so
that ``import contrastkit`` alone, or an app's ``--help`` through ``contrastkit.train.cli``,
imports no torch; ``contrastkit.functional`` and ``contrastkit.losses`` load torch (and numpy)
only, and Lightning and scikit-learn come with ``contrastkit.train`` and ``contrastkit.eval``.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"
_SUBMODULES = ("atomic", "audio", "distributed", "eval", "functional", "losses", "paths", "pretrained", "testing",
               "train")


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"contrastkit.{name}")
    if name == "contrastive_cross_entropy":
        from contrastkit.functional import contrastive_cross_entropy

        return contrastive_cross_entropy
    losses = importlib.import_module("contrastkit.losses")
    if name in losses.__all__:
        return getattr(losses, name)
    raise AttributeError(f"module 'contrastkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBMODULES, "contrastive_cross_entropy",
                   *importlib.import_module("contrastkit.losses").__all__])
