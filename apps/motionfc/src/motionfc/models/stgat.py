"""STGAT (Huang et al., "STGAT: Modeling Spatial-Temporal Interactions for Human Trajectory
Prediction", ICCV 2019), the recurrent encoder-decoder with social interaction that the
paper's ETH/UCY study trains with ERM, IRM and v-REx.

Per pedestrian, an LSTM over the observed displacements (plus extra channels, e.g. the
spurious feature); per time step a two-layer graph attention network over the hidden states
of the pedestrians of the same scene (instance norm, 4 heads then 1, ELU); a second LSTM over
the attended states; the decoder LSTM starts from ``[h_traj, h_graph, z]`` (``z`` Gaussian
noise, one draw per scene) and rolls out ``fut_len`` displacements from the last observed one.
Training runs in three stages (``stage`` 1: the trajectory LSTM alone reconstructs its input
displacements; 2: with the graph branch; 3: the full forecaster).

Scenes of any size are batched by padding to the largest scene of the batch with a mask, so the
attention never mixes scenes (the reference loops over scenes).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _scene_index(seq_start_end: Tensor) -> tuple[Tensor, Tensor]:
    """``(S, P)`` row index of each scene's pedestrians (-1 = padding) and its mask."""
    sizes = seq_start_end[:, 1] - seq_start_end[:, 0]
    p = int(sizes.max())
    ar = torch.arange(p, device=seq_start_end.device)
    mask = ar[None, :] < sizes[:, None]
    idx = torch.where(mask, seq_start_end[:, :1] + ar[None, :], torch.full_like(mask, -1, dtype=torch.long))
    return idx, mask


class GraphAttentionLayer(nn.Module):
    """Multi-head graph attention (Velickovic et al., ICLR 2018) over fully connected scenes."""

    def __init__(self, heads: int, f_in: int, f_out: int, slope: float = 0.2) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.empty(heads, f_in, f_out))
        self.a_src = nn.Parameter(torch.empty(heads, f_out, 1))
        self.a_dst = nn.Parameter(torch.empty(heads, f_out, 1))
        self.bias = nn.Parameter(torch.zeros(f_out))
        for p in (self.w, self.a_src, self.a_dst):
            nn.init.xavier_uniform_(p, gain=1.414)
        self.slope = slope

    def forward(self, h: Tensor, mask: Tensor) -> Tensor:
        """``h`` ``(B, P, f_in)``, ``mask`` ``(B, P)`` -> ``(B, H, P, f_out)``."""
        hp = torch.matmul(h.unsqueeze(1), self.w)  # (B, H, P, f_out)
        logits = torch.matmul(hp, self.a_src) + torch.matmul(hp, self.a_dst).transpose(-1, -2)  # (B, H, P, P)
        logits = F.leaky_relu(logits, self.slope).masked_fill(~mask[:, None, None, :], float("-inf"))
        return torch.matmul(torch.softmax(logits, dim=-1), hp) + self.bias


def masked_instance_norm(x: Tensor, mask: Tensor, eps: float = 1e-5) -> Tensor:
    """Normalise each feature over the valid pedestrians of each scene: ``x`` ``(B, P, D)``."""
    m = mask[..., None].to(x.dtype)
    n = m.sum(1, keepdim=True).clamp_min(1.0)
    mean = (x * m).sum(1, keepdim=True) / n
    var = (((x - mean) * m) ** 2).sum(1, keepdim=True) / n
    return (x - mean) / torch.sqrt(var + eps) * m


class GAT(nn.Module):
    """Two graph attention layers: ``[32] -> 4 heads x 16 -> 1 head x 32`` by default."""

    def __init__(self, units: tuple[int, ...] = (32, 16, 32), heads: tuple[int, ...] = (4, 1)) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            GraphAttentionLayer(heads[i], units[i] * (heads[i - 1] if i else 1), units[i + 1]) for i in range(len(heads))
        )

    def forward(self, h: Tensor, mask: Tensor) -> Tensor:
        b, p, _ = h.shape
        for i, layer in enumerate(self.layers):
            h = layer(masked_instance_norm(h, mask), mask)
            h = h.squeeze(1) if i + 1 == len(self.layers) else F.elu(h.transpose(1, 2).reshape(b, p, -1))
        return h


class STGAT(nn.Module):
    """STGAT forecaster. Input displacements ``(N, obs_len, 2 + C)``, output ``(N, fut_len, 2)``."""

    def __init__(self, obs_len: int = 8, fut_len: int = 12, extra_channels: int = 0, traj_hidden: int = 32,
                 graph_hidden: int = 32, gat_units: tuple[int, ...] = (32, 16, 32), gat_heads: tuple[int, ...] = (4, 1),
                 noise_dim: int = 16) -> None:
        super().__init__()
        if gat_units[0] != traj_hidden:
            raise ValueError("gat_units[0] must equal traj_hidden")
        self.obs_len, self.fut_len, self.noise_dim = obs_len, fut_len, noise_dim
        self.in_dim = 2 + extra_channels
        self.traj_lstm = nn.LSTMCell(self.in_dim, traj_hidden)
        self.gat = GAT(gat_units, gat_heads)
        self.graph_lstm = nn.LSTMCell(gat_units[-1], graph_hidden)
        self.traj_hidden2pos = nn.Linear(traj_hidden, 2)
        self.traj_gat_hidden2pos = nn.Linear(traj_hidden + graph_hidden, 2)
        self.pred_hidden = traj_hidden + graph_hidden + noise_dim
        self.pred_lstm = nn.LSTMCell(2, self.pred_hidden)
        self.pred_hidden2pos = nn.Linear(self.pred_hidden, 2)

    def forward(self, obs_in: Tensor, seq_start_end: Tensor, stage: int = 3, generator: torch.Generator | None = None) -> Tensor:
        """Stage 1/2: ``(N, obs_len, 2)`` reconstructions of the inputs; stage 3: ``(N, fut_len, 2)``."""
        n = obs_in.shape[0]
        if obs_in.shape[1:] != (self.obs_len, self.in_dim):
            raise ValueError(f"expected (N, {self.obs_len}, {self.in_dim}) inputs; got {tuple(obs_in.shape)}")
        h = c = obs_in.new_zeros(n, self.traj_lstm.hidden_size)
        traj_h = []
        for t in range(self.obs_len):
            h, c = self.traj_lstm(obs_in[:, t], (h, c))
            traj_h.append(h)
        traj_h = torch.stack(traj_h, 1)  # (N, T, H)
        if stage == 1:
            return self.traj_hidden2pos(traj_h)
        idx, mask = _scene_index(seq_start_end)
        s, p = idx.shape
        padded = traj_h[idx.clamp_min(0)]  # (S, P, T, H)
        att = self.gat(padded.permute(0, 2, 1, 3).reshape(s * self.obs_len, p, -1),
                       mask.repeat_interleave(self.obs_len, 0))
        att = att.reshape(s, self.obs_len, p, -1).permute(0, 2, 1, 3)[mask]  # (N in scene order, T, G)
        order = idx[mask]
        graph_in = torch.empty_like(att).index_copy_(0, order, att)
        gh = gc = obs_in.new_zeros(n, self.graph_lstm.hidden_size)
        graph_h = []
        for t in range(self.obs_len):
            gh, gc = self.graph_lstm(graph_in[:, t], (gh, gc))
            graph_h.append(gh)
        if stage == 2:
            return self.traj_gat_hidden2pos(torch.cat([traj_h, torch.stack(graph_h, 1)], -1))
        z = torch.randn(s, self.noise_dim, generator=generator, device=obs_in.device, dtype=obs_in.dtype)
        scene_of = torch.repeat_interleave(torch.arange(s, device=obs_in.device), seq_start_end[:, 1] - seq_start_end[:, 0])
        ph = torch.cat([traj_h[:, -1], gh, z[scene_of]], 1)
        pc = torch.zeros_like(ph)
        out = obs_in[:, -1, :2]
        preds = []
        for _ in range(self.fut_len):
            ph, pc = self.pred_lstm(out, (ph, pc))
            out = self.pred_hidden2pos(ph)
            preds.append(out)
        return torch.stack(preds, 1)
