"""The modular architecture of the style study (Liu et al., CVPR 2022, Sec. 4.2, Fig. 3) with
the small MLPs of the official code for two-agent scenes (vita-epfl/causalmotion ``style/``).

* Invariant encoder ``psi``: the scene's observed absolute positions (``A`` agents x ``obs_len``
  x 2, flattened) -> MLP ``[4h, 4h, A h]`` -> one latent of size ``h`` (8) per agent.
* Style encoder ``phi``: the relative position of agent 1 to agent 0 over the style frames
  (20 = observed + future in the official code, or only the 8 observed) -> MLP ``[16, 8]`` -> a
  style code per scene; the environment's style vector ``s`` is the mean over the scenes
  given to it. A projection head ``[8, 8]`` + L2 normalisation gives the embeddings of the
  style contrastive loss.
* Decoder with style modulator: scene latent ``z`` (``A h``) -> [modulator block] -> MLP
  ``[4h, 4h]`` -> [modulator block] -> MLP ``[2 A T_f, 2 A T_f]`` -> future displacements.
  A modulator block is residual: ``x + MLP([x, s])`` (two layers, ReLU). Without a style
  vector the blocks are skipped (the plain ERM / IRM model).
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class ModulatorBlock(nn.Module):
    """``x + MLP([x, s])``; ``x`` ``(B, D)``, ``s`` ``(1, S)`` or ``(B, S)``."""

    def __init__(self, dim: int, style_dim: int) -> None:
        super().__init__()
        self.net = mlp([dim + style_dim, dim, dim])

    def forward(self, x: Tensor, style: Tensor | None) -> Tensor:
        if style is None:
            return x
        return x + self.net(torch.cat([x, style.expand(len(x), -1)], dim=1))


def _scenes(x: Tensor, agents: int) -> Tensor:
    """``(B * A, ...)`` rows -> ``(B, A, ...)`` (scenes of exactly ``agents`` agents)."""
    if x.shape[0] % agents:
        raise ValueError(f"{x.shape[0]} rows are not scenes of {agents} agents")
    return x.reshape(x.shape[0] // agents, agents, *x.shape[1:])


class InvariantEncoder(nn.Module):
    """``(B*A, obs_len, 2)`` observed positions -> ``(B*A, h)`` latents."""

    def __init__(self, obs_len: int = 8, hidden: int = 8, agents: int = 2) -> None:
        super().__init__()
        self.agents, self.hidden = agents, hidden
        self.net = mlp([obs_len * agents * 2, 4 * hidden, 4 * hidden, agents * hidden])

    def forward(self, obs: Tensor) -> Tensor:
        z = self.net(_scenes(obs, self.agents).flatten(1))
        return z.reshape(-1, self.hidden)


class StyleEncoder(nn.Module):
    """Style codes and contrastive embeddings from the relative motion of a scene's agents."""

    def __init__(self, style_frames: int = 20, agents: int = 2, style_dim: int = 8, proj_dim: int = 8) -> None:
        super().__init__()
        self.agents, self.style_frames = agents, style_frames
        self.encoder = mlp([style_frames * 2, 16, style_dim])
        self.head = mlp([style_dim, style_dim, proj_dim])
        self.style_dim = style_dim

    def features(self, traj: Tensor) -> Tensor:
        """``(B*A, >= style_frames, 2)`` positions -> ``(B, style_frames * 2)`` (agent 1 - agent 0)."""
        if traj.shape[1] < self.style_frames:
            raise ValueError(f"style encoder needs {self.style_frames} frames; got {traj.shape[1]}")
        sc = _scenes(traj[:, : self.style_frames], self.agents)
        return (sc[:, 1] - sc[:, 0]).flatten(1)

    def codes(self, traj: Tensor) -> Tensor:
        """``(B, style_dim)`` per-scene style codes."""
        return self.encoder(self.features(traj))

    def embed(self, codes: Tensor) -> Tensor:
        """``(B, proj_dim)`` L2-normalised projections (the contrastive space)."""
        return nn.functional.normalize(self.head(codes), dim=-1)

    def forward(self, traj: Tensor) -> tuple[Tensor, Tensor]:
        """``(style vector (1, style_dim) = mean code, embeddings (B, proj_dim))``."""
        c = self.codes(traj)
        return c.mean(dim=0, keepdim=True), self.embed(c)


class ModularDecoder(nn.Module):
    """Scene latents (+ style vector) -> ``(B*A, fut_len, 2)`` future displacements."""

    def __init__(self, fut_len: int = 12, hidden: int = 8, agents: int = 2, style_dim: int = 8) -> None:
        super().__init__()
        self.agents, self.fut_len = agents, fut_len
        d0, d1, d2 = agents * hidden, 4 * hidden, agents * 2 * fut_len
        self.mlp1 = mlp([d0, d1, d1])
        self.mlp2 = mlp([d1, d2, d2])
        self.modulator = nn.ModuleList([ModulatorBlock(d0, style_dim), ModulatorBlock(d1, style_dim)])

    def forward(self, latents: Tensor, style: Tensor | None = None) -> Tensor:
        x = _scenes(latents, self.agents).flatten(1)
        x = self.mlp1(self.modulator[0](x, style))
        x = self.mlp2(self.modulator[1](x, style))
        return x.reshape(-1, self.fut_len, 2)


class ModularForecaster(nn.Module):
    """Invariant encoder + style encoder + decoder with style modulator (``use_style=False``: no style)."""

    def __init__(self, obs_len: int = 8, fut_len: int = 12, agents: int = 2, hidden: int = 8,
                 style_dim: int = 8, style_frames: int = 20) -> None:
        super().__init__()
        self.obs_len, self.fut_len = obs_len, fut_len
        self.inv_encoder = InvariantEncoder(obs_len, hidden, agents)
        self.style_encoder = StyleEncoder(style_frames, agents, style_dim)
        self.decoder = ModularDecoder(fut_len, hidden, agents, style_dim)

    def forward(self, obs: Tensor, style: Tensor | None = None) -> Tensor:
        """``obs`` ``(B*A, obs_len, 2)``, ``style`` ``(1, style_dim)`` or None -> ``(B*A, fut_len, 2)``."""
        return self.decoder(self.inv_encoder(obs), style)
