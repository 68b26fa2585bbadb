"""The compact CPU towers (about 1 M parameters together at the defaults).

Audio: log-mel ``(B, n_mels, F)`` -> two stride-2 conv blocks -> sinusoidal positions -> a small transformer over time ->
masked mean. Text: token embedding + sinusoidal positions -> a small transformer -> masked mean.
Both return ``(B, width)``; the dual encoder projects them.
"""

from __future__ import annotations

import math

import torch
import torchaudio
from torch import Tensor, nn


def _encoder(width: int, layers: int, heads: int) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(width, heads, 2 * width, dropout=0.1, batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


def _sinusoid(length: int, width: int, device) -> Tensor:
    """Fixed sinusoidal positions ``(length, width)``: the audio tower must know "before" from "after"."""
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, width, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / width))
    out = torch.zeros(length, width, device=device)
    out[:, 0::2], out[:, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq)
    return out


def _masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp_min(1.0)


class AudioTower(nn.Module):
    """Waveform ``(B, T)`` at ``sample_rate`` with lengths ``(B,)`` -> ``(B, width)``."""

    def __init__(self, sample_rate: int = 16000, n_mels: int = 64, hop_ms: float = 20.0, width: int = 128,
                 layers: int = 2, heads: int = 4) -> None:
        super().__init__()
        self.hop = int(sample_rate * hop_ms / 1000)
        self.mel = torchaudio.transforms.MelSpectrogram(sample_rate, n_fft=2 * self.hop, hop_length=self.hop,
                                                        n_mels=n_mels)
        self.conv = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.GELU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.GELU())
        self.proj_in = nn.Linear(32 * ((n_mels + 3) // 4), width)
        self.encoder = _encoder(width, layers, heads)

    def forward(self, wave: Tensor, lengths: Tensor) -> Tensor:
        with torch.autocast(wave.device.type, enabled=False):
            spec = torch.log(self.mel(wave.float()) + 1e-6)  # (B, M, F)
        x = self.conv(spec.unsqueeze(1))  # (B, C, M/4, F/4)
        b, c, m, f = x.shape
        x = self.proj_in(x.permute(0, 3, 1, 2).reshape(b, f, c * m)) + _sinusoid(f, self.proj_in.out_features, x.device)
        frames = (lengths // self.hop + 1 + 3) // 4
        mask = torch.arange(f, device=x.device)[None, :] < frames.clamp(1, f)[:, None]
        return _masked_mean(self.encoder(x, src_key_padding_mask=~mask), mask)


class TextTower(nn.Module):
    """Token ids ``(B, L)`` with mask ``(B, L)`` -> ``(B, width)``."""

    def __init__(self, vocab_size: int = 400, width: int = 128, layers: int = 2, heads: int = 4) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, width, padding_idx=0)
        self.encoder = _encoder(width, layers, heads)

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        # fixed positions at the embeddings' scale: "A, then B" and "B, then A" must differ from the start
        x = self.embed(ids) + _sinusoid(ids.shape[1], self.embed.embedding_dim, ids.device)
        return _masked_mean(self.encoder(x, src_key_padding_mask=~mask), mask)
