"""TS2Vec's dilated convolutional encoder, as COMET uses it, and its masking augmentation.

Yue et al., "TS2Vec: Towards Universal Representation of Time Series", AAAI 2022; COMET
(Wang et al., NeurIPS 2023) keeps it unchanged: a linear input projection to 64 channels,
timestamp masking, 10 residual blocks of two dilated same-padded convolutions (kernel 3,
dilation 2^i, GELU before each) of width 64, a final block of width 320 with a 1x1 residual
projection, and dropout 0.1 on the output. Output: one 320-d vector per timestamp.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

MaskMode = Literal["binomial", "continuous", "all_true", "all_false", "mask_last"]


def binomial_mask(b: int, t: int, p: float = 0.5, generator: torch.Generator | None = None,
                  device=None) -> Tensor:
    """``(B, T)`` bool, each timestamp kept with probability ``p`` (TS2Vec's default mask)."""
    return torch.rand(b, t, generator=generator, device=device) < p


def continuous_mask(b: int, t: int, n: int = 5, frac: float = 0.1, generator: torch.Generator | None = None,
                    device=None) -> Tensor:
    """``(B, T)`` bool with ``n`` (at most T//2, at least 1) masked spans of ``max(int(frac*T), 1)``
    steps per row at uniform starts in ``[0, T-l]`` (the official ``generate_continuous_mask``;
    spans may overlap). Built with tensor ops, no per-row loop."""
    n = max(min(n, t // 2), 1)
    length = max(int(frac * t), 1)
    starts = torch.randint(0, t - length + 1, (b, n), generator=generator, device=device)
    steps = torch.arange(t, device=device)
    inside = (steps[None, None, :] >= starts[..., None]) & (steps[None, None, :] < starts[..., None] + length)
    return ~inside.any(1)


DETERMINISTIC_MASKS = frozenset({"all_true", "all_false", "mask_last"})


def make_mask(mode: str, b: int, t: int, device=None, generator: torch.Generator | None = None) -> Tensor:
    """The ``(B, T)`` keep-mask for a TS2Vec/COMET mask name."""
    if mode == "binomial":
        return binomial_mask(b, t, generator=generator, device=device)
    if mode == "continuous":
        return continuous_mask(b, t, generator=generator, device=device)
    if mode == "all_true":
        return torch.ones(b, t, dtype=torch.bool, device=device)
    if mode == "all_false":
        return torch.zeros(b, t, dtype=torch.bool, device=device)
    if mode == "mask_last":
        m = torch.ones(b, t, dtype=torch.bool, device=device)
        m[:, -1] = False
        return m
    raise ValueError(f"mask: unknown mode {mode!r} (binomial, continuous, all_true, all_false, mask_last)")


class SamePadConv(nn.Module):
    """Dilated Conv1d whose output has the input's length (receptive field ``(k-1)d+1``)."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, dilation: int = 1) -> None:
        super().__init__()
        rf = (kernel_size - 1) * dilation + 1
        self.conv = nn.Conv1d(c_in, c_out, kernel_size, padding=rf // 2, dilation=dilation)
        self.remove = 1 if rf % 2 == 0 else 0

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv(x)
        return out[:, :, : -self.remove] if self.remove else out


class ConvBlock(nn.Module):
    """``y = conv2(gelu(conv1(gelu(x)))) + proj(x)`` on ``(B, C, T)``."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, dilation: int, final: bool = False) -> None:
        super().__init__()
        self.conv1 = SamePadConv(c_in, c_out, kernel_size, dilation)
        self.conv2 = SamePadConv(c_out, c_out, kernel_size, dilation)
        self.projector = nn.Conv1d(c_in, c_out, 1) if c_in != c_out or final else None

    def forward(self, x: Tensor) -> Tensor:
        residual = x if self.projector is None else self.projector(x)
        return self.conv2(F.gelu(self.conv1(F.gelu(x)))) + residual


class TSEncoder(nn.Module):
    """``(B, T, C_in)`` -> ``(B, T, output_dims)`` per-timestamp representations.

    Args:
        input_dims: channels C_in. output_dims: 320. hidden_dims: 64. depth: 10 hidden blocks.
        kernel_size: 3. dropout: 0.1 on the output.
        mask_mode: the mask used in training when ``forward`` gets ``mask=None``.
    """

    def __init__(self, input_dims: int, output_dims: int = 320, hidden_dims: int = 64, depth: int = 10,
                 kernel_size: int = 3, dropout: float = 0.1, mask_mode: str = "binomial") -> None:
        super().__init__()
        self.input_dims, self.output_dims, self.mask_mode = input_dims, output_dims, mask_mode
        self._config = {"input_dims": input_dims, "output_dims": output_dims, "hidden_dims": hidden_dims,
                        "depth": depth, "kernel_size": kernel_size, "dropout": dropout, "mask_mode": mask_mode}
        self.input_fc = nn.Linear(input_dims, hidden_dims)
        widths = [hidden_dims] * depth + [output_dims]
        self.blocks = nn.Sequential(*[
            ConvBlock(widths[i - 1] if i else hidden_dims, w, kernel_size, 2 ** i, final=i == len(widths) - 1)
            for i, w in enumerate(widths)
        ])
        self.repr_dropout = nn.Dropout(dropout)

    def config(self) -> dict:
        """The constructor's arguments: ``TSEncoder(**enc.config())`` builds the same architecture."""
        return dict(self._config)

    def forward(self, x: Tensor, mask: str | Tensor | None = None) -> Tensor:
        """``mask``: a mode name, a ``(B, T)`` bool keep-mask, or None (``mask_mode`` in training,
        ``all_true`` in eval). Masked timestamps are zeroed after the input projection."""
        return self.repr_dropout(self.features(x, mask))

    def features(self, x: Tensor, mask: str | Tensor | None = None) -> Tensor:
        """The output before the final dropout, ``(B, T, output_dims)``; the only randomness after
        the mask is that dropout, so two views with the same deterministic mask can share this."""
        if x.dim() != 3 or x.shape[-1] != self.input_dims:
            raise ValueError(f"TSEncoder expects (B, T, {self.input_dims}); got {tuple(x.shape)}")
        h = self.input_fc(x)
        if mask is None:
            mask = self.mask_mode if self.training else "all_true"
        if isinstance(mask, str):
            mask = make_mask(mask, h.shape[0], h.shape[1], device=h.device)
        h = h * mask.unsqueeze(-1).to(h.dtype)
        return self.blocks(h.transpose(1, 2)).transpose(1, 2)


def max_pool_time(z: Tensor) -> Tensor:
    """Sample embedding: max over time, ``(B, T, D)`` -> ``(B, D)``."""
    return z.amax(dim=1)


@torch.no_grad()
def embed_samples(encoder: TSEncoder, x: Tensor, batch_size: int = 256) -> Tensor:
    """Sample embeddings ``(N, output_dims)`` of ``x`` ``(N, T, C)``: max over time of the encoder's
    unmasked output in eval mode (no dropout), computed on the encoder's device in batches."""
    device = next(encoder.parameters()).device
    was = encoder.training
    encoder.eval()
    out = torch.cat([max_pool_time(encoder(x[i:i + batch_size].to(device), mask="all_true"))
                     for i in range(0, len(x), batch_size)])
    encoder.train(was)
    return out
