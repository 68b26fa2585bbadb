"""Forecasts of a style-study (CausalMotion) model, as the paper tests it: the future of every scene
window from its first ``obs_len`` frames (``motionfc forecast`` with a ``fit`` / ``demo`` checkpoint).

The style vector (for a model whose final stage takes one) is that of the scene's environment (the
file, or the simulated style), estimated without the scene's own future:

* ``style_source="reference"`` or ``"leak"``: the mean style code of the *other* scenes of the same
  environment, on their complete windows (leave-one-out; ``"leak"``'s own scene is left out too);
* ``"observed"``: the style code of the scene's own observed frames.

The windows hold their true futures, so every forecast is scored as well (ADE / FDE in meters).
"""

from __future__ import annotations

import numpy as np
import torch

from motionfc.data.windows import SceneWindows


@torch.no_grad()
def forecast_scenes(model, w: SceneWindows) -> np.ndarray:
    """``(N, fut_len, 2)`` absolute forecasts of every pedestrian row of ``w`` (scenes of exactly
    ``model``'s number of agents) from the first ``obs_len`` frames; see the module docstring for
    the style vector. ``model`` is a :class:`~motionfc.method.CausalMotion` in eval mode."""
    traj = torch.from_numpy(w.traj).float()
    obs = traj[:, : model.hparams.obs_len]
    if not model.uses_style():
        rel = model.model(obs, None)
    else:
        encoder = model.model.style_encoder
        if model.hparams.style_source == "observed":
            styles = encoder.codes(obs)  # (S, style_dim): each scene's own observed frames
        else:
            if w.num_scenes < 2:
                raise ValueError(f"{w.env}: one scene; the environment's style is estimated from its other scenes, "
                                 "so forecasting needs at least two")
            codes = encoder.codes(traj)  # (S, style_dim) on the complete windows
            styles = (codes.sum(0, keepdim=True) - codes) / (len(codes) - 1)  # leave-one-out means
        rel = torch.cat([model.model(obs[a:b], styles[s : s + 1]) for s, (a, b) in enumerate(w.seq_start_end)])
    return (obs[:, -1:] + rel.cumsum(1)).numpy()


def scored_rows(w: SceneWindows, pred: np.ndarray, source: str) -> list[list]:
    """``forecast.csv`` rows ``[source, scene, ped, step, x, y, true_x, true_y]`` of one environment
    (``ped``: the file's pedestrian id, or the agent's index in a simulated scene)."""
    truth = w.traj[:, w.obs_len :]
    rows = []
    for s, (a, b) in enumerate(w.seq_start_end):
        for i in range(a, b):
            ped = int(w.ids[i, 1]) if w.ids is not None else i - a
            for t in range(pred.shape[1]):
                rows.append([source, s, ped, t + 1, f"{pred[i, t, 0]:.4f}", f"{pred[i, t, 1]:.4f}",
                             f"{truth[i, t, 0]:.4f}", f"{truth[i, t, 1]:.4f}"])
    return rows


def scene_errors(w: SceneWindows, pred: np.ndarray) -> dict[str, float]:
    """ADE / FDE (meters, :func:`motionfc.metrics.ade_fde`) of ``pred`` against the windows' true
    futures, over every pedestrian."""
    from motionfc.metrics import ade_fde

    ade, fde = ade_fde(torch.from_numpy(pred), torch.from_numpy(w.traj[:, w.obs_len :]))
    return {"ade": ade, "fde": fde, "peds": int(len(pred))}
