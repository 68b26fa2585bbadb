"""The compact CPU towers (about 1 M parameters together at the defaults).

Audio: log-mel ``(B, n_mels, F)`` -> two stride-2 conv blocks -> sinusoidal positions -> a small transformer over time ->
segment pooling. Text: token embedding + sinusoidal positions -> a small transformer -> segment pooling.
Both return ``(B, segments * width)``; the dual encoder projects them.

Why segment pooling and not a plain masked mean: a pre-norm transformer's output is its input plus
small updates, and the mean of ``content_t + position_t`` over time is the same for "A, then B" and
"B, then A" (the same contents, the same positions). A mean-pooled tower is therefore nearly
order-invariant (measured at initialisation on the built ESC-10/FSDD order benchmark: cosine 0.998
between the two orders' audio embeddings, 0.9995 between the two captions'), the hard-negative
losses can then only lower their value by pulling the two captions together, and the Winoground
scores fall to about 0 instead of chance (text needs ``(t0 - t1) . a0 > 0 > (t0 - t1) . a1``, which
fails whenever ``a0 ~ a1``). Pooling the valid frames (tokens) into ``segments`` consecutive equal
parts and concatenating the parts' means keeps where in the clip (caption) each event sits.
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


def segment_pool(x: Tensor, mask: Tensor, segments: int) -> Tensor:
    """``x`` ``(B, L, W)``, ``mask`` ``(B, L)`` (True on the valid, leading items) -> ``(B, segments * W)``.

    Valid item ``t`` of a row with ``n`` valid items goes to segment ``floor(t * segments / n)``;
    each segment is the mean of its items (zeros when a row has fewer items than segments).
    ``segments = 1`` is the masked mean.
    """
    n = mask.sum(1, keepdim=True).clamp_min(1)  # (B, 1)
    t = torch.arange(x.shape[1], device=x.device)[None, :]
    seg = torch.div(t * segments, n, rounding_mode="floor")  # (B, L)
    weight = (seg[:, None, :] == torch.arange(segments, device=x.device)[None, :, None]) & mask[:, None, :]
    weight = weight.to(x.dtype)
    pooled = weight @ x / weight.sum(-1, keepdim=True).clamp_min(1.0)  # (B, S, W)
    return pooled.reshape(x.shape[0], -1)


class AudioTower(nn.Module):
    """Waveform ``(B, T)`` at ``sample_rate`` with lengths ``(B,)`` -> ``(B, segments * width)``.

    Args:
        segments: consecutive parts of the clip pooled separately (:func:`segment_pool`).
    """

    def __init__(self, sample_rate: int = 16000, n_mels: int = 64, hop_ms: float = 20.0, width: int = 128,
                 layers: int = 2, heads: int = 4, segments: int = 4) -> None:
        super().__init__()
        self.segments = segments
        self.hop = int(sample_rate * hop_ms / 1000)
        # zeros beyond the clip's end (not a reflection of it), as in a zero-padded batch
        self.mel = torchaudio.transforms.MelSpectrogram(sample_rate, n_fft=2 * self.hop, hop_length=self.hop,
                                                        n_mels=n_mels, pad_mode="constant")
        self.conv = nn.Sequential(  # two blocks of (conv, norm, GELU)
            nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.GELU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.GELU())
        self.proj_in = nn.Linear(32 * ((n_mels + 3) // 4), width)
        self.encoder = _encoder(width, layers, heads)

    def forward(self, wave: Tensor, lengths: Tensor) -> Tensor:
        """Padding is masked at every step, so that a clip embeds alike alone and in a padded batch
        (in eval mode): the spectrogram and each conv block's output are zeroed past the clip's
        frames (``F = len // hop + 1``, then ``ceil(F / 2)`` per stride-2 block), which is what a
        clip alone sees there (the convs' own zero padding); attention and pooling skip them."""
        with torch.autocast(wave.device.type, enabled=False):
            # the tower's own dtype (float32 under mixed precision, float64 in the exactness tests)
            x = torch.log(self.mel(wave.to(self.proj_in.weight.dtype)) + 1e-6).unsqueeze(1)  # (B, 1, M, F)
        frames = lengths.to(x.device) // self.hop + 1
        for block in (None, self.conv[:3], self.conv[3:]):
            if block is not None:
                x = block(x)
                frames = (frames + 1) // 2
            x = x * (torch.arange(x.shape[-1], device=x.device)[None, :] < frames[:, None]).to(x.dtype)[:, None, None]
        b, c, m, f = x.shape  # (B, C, M/4, F/4)
        x = self.proj_in(x.permute(0, 3, 1, 2).reshape(b, f, c * m)) + _sinusoid(f, self.proj_in.out_features, x.device)
        mask = torch.arange(f, device=x.device)[None, :] < frames.clamp(1, f)[:, None]
        return segment_pool(self.encoder(x, src_key_padding_mask=~mask), mask, self.segments)


class TextTower(nn.Module):
    """Token ids ``(B, L)`` with mask ``(B, L)`` -> ``(B, segments * width)``.

    Args:
        segments: parts of the caption pooled separately.
        pool: ``segments``: consecutive token spans (:func:`segment_pool`: where a word *stands*
            in the caption); ``slots``: ``segments`` learned queries attending over the valid tokens
            (:class:`SlotPool`: what a slot *picks*, so that "B after A" can put A in the first slot
            as "A, then B" does, the audio's first segment being A in both).
    """

    def __init__(self, vocab_size: int = 400, width: int = 128, layers: int = 2, heads: int = 4,
                 segments: int = 4, pool: str = "segments") -> None:
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"text pool must be one of {POOLS}; got {pool!r}")
        self.segments, self.pool = segments, pool
        self.embed = nn.Embedding(vocab_size, width, padding_idx=0)
        self.encoder = _encoder(width, layers, heads)
        self.slots = SlotPool(width, segments, heads) if pool == "slots" else None

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        # fixed positions at the embeddings' scale: "A, then B" and "B, then A" must differ from the start
        x = self.embed(ids) + _sinusoid(ids.shape[1], self.embed.embedding_dim, ids.device)
        x = self.encoder(x, src_key_padding_mask=~mask)
        return self.slots(x, mask) if self.slots is not None else segment_pool(x, mask, self.segments)


POOLS = ("segments", "slots")


class SlotPool(nn.Module):
    """``K`` learned queries attending over the valid items: ``(B, L, W)``, mask ``(B, L)`` -> ``(B, K * W)``.

    ``slot_k = LayerNorm(sum_t softmax_t(q_k . W_k x_t / sqrt(W / heads)) W_v x_t)`` per head (padding
    masked out of the softmax), then concatenated over ``k``.
    """

    def __init__(self, width: int, slots: int, heads: int = 4) -> None:
        super().__init__()
        self.queries = nn.Parameter(torch.randn(slots, width) / math.sqrt(width))
        self.attention = nn.MultiheadAttention(width, heads, batch_first=True)
        self.norm = nn.LayerNorm(width)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        q = self.queries.to(x.dtype).expand(x.shape[0], -1, -1)
        out, _ = self.attention(q, x, x, key_padding_mask=~mask, need_weights=False)
        return self.norm(out).reshape(x.shape[0], -1)
