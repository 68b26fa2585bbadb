"""Building motionfc modules from checkpoints without running code from them.

The file is read by :func:`contrastkit.train.checkpoint.load_checkpoint`
(``torch.load(..., weights_only=True)``): a Lightning checkpoint written by motionfc holds only
tensors and plain Python values, and a pickle that asks for anything else (a crafted
``__reduce__``) is refused before it runs, with an error that names the file. Lightning's own
``load_from_checkpoint`` is not used, because its ``weights_only`` default depends on the
installed versions.

Another app's checkpoint is refused naming what it holds (the model class checkpoints record,
else its hyper-parameters); settings the class does not take and missing, extra, mis-shaped or
non-finite tensors are errors naming the file (``build_checked``, ``load_state_checked``).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, TypeVar

from contrastkit.train.checkpoint import (
    CLASS_KEY,
    CheckpointError,
    build_checked,
    load_checkpoint,
    load_state_checked,
)

M = TypeVar("M")

__all__ = ["check_restored", "load_checkpoint", "load_module", "refuse_foreign"]


def _names(hparams: dict[str, Any]) -> str:
    names = list(hparams) or ["none"]
    return ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")


def refuse_foreign(ckpt: dict[str, Any], path: str | Path, cls: type) -> None:
    """A ``CheckpointError`` naming ``path`` when the checkpoint is not motionfc's: the class it
    records belongs to another package, or (an older file that records none) its hyper-parameters
    include names ``cls`` does not take."""
    recorded = (ckpt.get(CLASS_KEY) or {}).get("module")
    if isinstance(recorded, str):
        if recorded.split(".")[0] != "motionfc":
            raise CheckpointError(f"{path}: not a motionfc checkpoint: it holds a {recorded}, a model of another app")
        return
    hparams = {k: v for k, v in (ckpt.get("hyper_parameters") or {}).items() if not k.startswith("_")}
    unknown = sorted(set(hparams) - set(inspect.signature(cls).parameters))
    if unknown:
        raise CheckpointError(f"{path}: not a motionfc {cls.__name__} checkpoint: its hyper-parameters "
                              f"({_names(hparams)}) include {', '.join(unknown[:5])}, which {cls.__name__} does "
                              "not take (another app's checkpoint?)")


def renamed_hparams(hparams: dict[str, Any]) -> dict[str, Any]:
    """Hyper-parameters of an STGAT checkpoint written when its one penalty weight was
    ``lambda_penalty``: that weight becomes ``lambda_irm`` (risk irm) or ``lambda_vrex`` (risk vrex)."""
    if "lambda_penalty" not in hparams:
        return hparams
    out = {k: v for k, v in hparams.items() if k != "lambda_penalty"}
    if out.get("risk") in ("irm", "vrex"):
        out[f"lambda_{out['risk']}"] = hparams["lambda_penalty"]
    return out


def load_module(cls: type[M], path: str | Path, **overrides: Any) -> M:
    """``cls`` built from the hyper-parameters saved in the checkpoint at ``path`` (``overrides``
    win), with its weights loaded. Errors name the file (see the module docstring)."""
    ckpt = load_checkpoint(path)
    refuse_foreign(ckpt, path, cls)
    if "state_dict" not in ckpt:
        raise CheckpointError(f"{path}: not a Lightning checkpoint (no 'state_dict')")
    hparams = renamed_hparams({k: v for k, v in ckpt.get("hyper_parameters", {}).items() if not k.startswith("_")})
    module = build_checked(cls, {**hparams, **overrides}, path)
    return load_state_checked(module, ckpt["state_dict"], path)


def check_restored(module: Any, checkpoint: dict[str, Any]) -> None:
    """For a module's ``on_load_checkpoint``: the weights Lightning is about to restore
    (``motionfc test --ckpt_path``, a resumed run) are checked first, so that another app's or a
    damaged checkpoint is one error naming the file, not a bare state-dict error."""
    source = module._trainer.ckpt_path if module._trainer is not None else "the checkpoint"
    load_state_checked(module, checkpoint.get("state_dict") or {}, source)
