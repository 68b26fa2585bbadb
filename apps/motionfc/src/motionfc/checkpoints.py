"""Building motionfc modules from checkpoints without running code from them.

The file is read by :func:`contrastkit.train.checkpoint.load_checkpoint`
(``torch.load(..., weights_only=True)``): a Lightning checkpoint written by motionfc holds only
tensors and plain Python values, and a pickle that asks for anything else (a crafted
``__reduce__``) is refused before it runs, with an error that names the file. Lightning's own
``load_from_checkpoint`` is not used, because its ``weights_only`` default depends on the
installed versions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from contrastkit.train.checkpoint import load_checkpoint

M = TypeVar("M")

__all__ = ["load_checkpoint", "load_module"]


def load_module(cls: type[M], path: str | Path, **overrides: Any) -> M:
    """``cls`` built from the hyper-parameters saved in the checkpoint at ``path`` (``overrides``
    win), with its weights loaded. Errors name the file (see ``load_checkpoint``)."""
    ckpt = load_checkpoint(path)
    if "state_dict" not in ckpt:
        raise ValueError(f"{path}: not a Lightning checkpoint (no 'state_dict')")
    hparams = {k: v for k, v in ckpt.get("hyper_parameters", {}).items() if not k.startswith("_")}
    module = cls(**{**hparams, **overrides})
    try:
        module.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        raise ValueError(f"{path}: the weights do not fit {cls.__name__}: {err}") from None
    return module
