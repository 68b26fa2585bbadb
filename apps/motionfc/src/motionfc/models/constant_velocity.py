"""Constant-velocity predictor (Schöller et al., "What the Constant Velocity Model Can Teach Us
About Pedestrian Motion Prediction", RA-L 2020): extrapolate the last observed displacement."""

from __future__ import annotations

import torch
from torch import Tensor


def constant_velocity(obs: Tensor, fut_len: int) -> Tensor:
    """``x_{T+k} = x_T + k (x_T - x_{T-1})`` for ``k = 1..fut_len``.

    Args:
        obs: ``(N, obs_len, 2)`` observed absolute positions, ``obs_len >= 2``.
    Returns:
        ``(N, fut_len, 2)`` predicted absolute positions.
    """
    if obs.dim() != 3 or obs.shape[1] < 2 or obs.shape[2] != 2:
        raise ValueError(f"obs must be (N, obs_len >= 2, 2); got {tuple(obs.shape)}")
    v = obs[:, -1] - obs[:, -2]
    k = torch.arange(1, fut_len + 1, dtype=obs.dtype, device=obs.device)
    return obs[:, -1:, :] + k[None, :, None] * v[:, None, :]
