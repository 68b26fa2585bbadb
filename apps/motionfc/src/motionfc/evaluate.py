"""The paper's protocol: ADE/FDE per environment, pooled in-distribution (IID) and
out-of-distribution interpolation / extrapolation groups of the style study (over seeds,
:mod:`motionfc.report` gives mean ± sample std). Scoring batches hold ``batch_size`` scenes of one
environment, as the official evaluation (which matters for the ``"leak"`` and ``"observed"`` style sources: their style is
the mean over the scored batch).
"""

from __future__ import annotations

import numpy as np
import torch

from motionfc.data.batching import full_batch
from motionfc.data.synthetic import EXTRA_STYLES, INTER_STYLES, TRAIN_STYLES, env_name
from motionfc.data.windows import SceneWindows
from motionfc.metrics import displacement_errors
from motionfc.models.constant_velocity import constant_velocity

STYLE_GROUPS = {"iid": TRAIN_STYLES, "ood_inter": INTER_STYLES, "ood_extra": EXTRA_STYLES}


def batches_of(w: SceneWindows, label: int, batch_size: int):
    """Consecutive batches of ``batch_size`` scenes (the last may be smaller)."""
    for i in range(0, w.num_scenes, batch_size):
        yield full_batch(w.subset(np.arange(i, min(i + batch_size, w.num_scenes))), label)


@torch.no_grad()
def errors_per_env(predict, windows: dict[str, SceneWindows], labels: dict[str, int],
                   batch_size: int = 64) -> dict[str, np.ndarray]:
    """``{env: (N, fut_len) displacement errors}``; ``predict(batch) -> (N, fut_len, 2)`` absolute."""
    out = {}
    for env, w in windows.items():
        errs = [displacement_errors(predict(b), b["fut"]) for b in batches_of(w, labels.get(env, -1), batch_size)]
        out[env] = torch.cat(errs).double().numpy()
    return out


def ade_fde_of(errs: list[np.ndarray]) -> dict[str, float]:
    """Pooled ADE / FDE over all pedestrians of the given error arrays."""
    e = np.concatenate(errs)
    return {"ade": float(e.mean()), "fde": float(e[:, -1].mean()), "peds": len(e)}


def style_table(errors: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """Per-environment and per-group (IID / OoD-inter / OoD-extra) ADE/FDE of the style study."""
    table = {env: ade_fde_of([e]) for env, e in errors.items()}
    for group, radii in STYLE_GROUPS.items():
        present = [errors[env_name(r)] for r in radii if env_name(r) in errors]
        if present:
            table[group] = ade_fde_of(present)
    return table


def constant_velocity_predict(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    return constant_velocity(batch["obs"], batch["fut"].shape[1])


def module_predict(module):
    """``predict(batch)`` of a trained :class:`~motionfc.method.CausalMotion` (eval mode)."""
    module.eval()
    return lambda batch: module.predict_abs(batch)


@torch.no_grad()
def style_error_rate(style_encoder, train: dict[str, SceneWindows], test: dict[str, SceneWindows],
                     labels: dict[str, int]) -> float:
    """Error rate of a linear probe (ContrastKit's, scikit-learn logistic regression) that reads the
    environment from the style encoder's contrastive embeddings: fit on ``train``, scored on
    ``test`` (the official code's P4 validation metric, with a linear probe in place of its small
    MLP classifier)."""
    from contrastkit.eval.linear_probe import linear_probe

    def embed(split):
        x = [style_encoder.embed(style_encoder.codes(torch.from_numpy(w.traj).float())) for w in split.values()]
        y = [torch.full((w.num_scenes,), labels[e]) for e, w in split.items()]
        return torch.cat(x), torch.cat(y)

    xtr, ytr = embed(train)
    xte, yte = embed(test)
    return 1.0 - linear_probe(xtr, ytr, xte, yte).metrics["accuracy"]
