"""Hyper-parameters of older motionfc checkpoints, renamed to today's.

Checkpoints are loaded by :func:`contrastkit.train.load_module` (weights only: a crafted pickle
is refused naming the file; the class a checkpoint records, or for an older file the class the
command expects). An STGAT checkpoint written when its one penalty weight was ``lambda_penalty``
loads with ``upgrade=renamed_hparams``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["renamed_hparams"]


def renamed_hparams(hparams: dict[str, Any]) -> dict[str, Any]:
    """Hyper-parameters of an STGAT checkpoint written when its one penalty weight was
    ``lambda_penalty``: that weight becomes ``lambda_irm`` (risk irm) or ``lambda_vrex`` (risk vrex)."""
    if "lambda_penalty" not in hparams:
        return hparams
    out = {k: v for k, v in hparams.items() if k != "lambda_penalty"}
    if out.get("risk") in ("irm", "vrex"):
        out[f"lambda_{out['risk']}"] = hparams["lambda_penalty"]
    return out
