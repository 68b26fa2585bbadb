"""Audio encoders: ``forward(feats (B, T, F), lengths (B,)) -> (hidden (B, T', D), lengths' (B,))``.

- :class:`ConvTransformerEncoder`: the compact CPU default (log-mel, two stride-2 convolutions,
  a small transformer encoder; about 1 M parameters at the defaults).
- :class:`HFAudioEncoder`: a ``transformers`` Wav2Vec2 / HuBERT model from a local folder
  (``from_pretrained(path)``, never a download), or built from a small config with random
  weights; its CNN feature extractor is frozen, as in the paper's family. Input: raw 16 kHz
  waves as ``(B, T, 1)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def padding_mask(lengths: Tensor, width: int) -> Tensor:
    """``(B, width)`` True at padded positions."""
    return torch.arange(width, device=lengths.device)[None, :] >= lengths[:, None]


class ConvTransformerEncoder(nn.Module):
    """Log-mel -> 2 x (Conv1d stride 2, GELU) -> sinusoidal positions -> TransformerEncoder.

    Args:
        n_mels: input feature size F.
        d_model: hidden size D.
        layers, heads, ff: transformer encoder depth, heads and feed-forward size.
        dropout: dropout in the transformer.
    """

    def __init__(self, n_mels: int, d_model: int, layers: int, heads: int, ff: int, dropout: float) -> None:
        super().__init__()
        self.d_model = d_model
        self.conv = nn.Sequential(nn.Conv1d(n_mels, d_model, 5, stride=2, padding=2), nn.GELU(),
                                  nn.Conv1d(d_model, d_model, 5, stride=2, padding=2), nn.GELU())
        layer = nn.TransformerEncoderLayer(d_model, heads, ff, dropout, batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, feats: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Padded frames never reach a clip's outputs: each convolution's input is zero beyond the
        clip's length, as a clip alone sees its zero padding, so a clip in a batch gives what it
        gives alone (up to float rounding)."""
        x = feats.transpose(1, 2)
        for k in (0, 2):  # conv.0 + GELU, conv.2 + GELU (the Sequential's layers, its weights' names kept)
            x = x.masked_fill(padding_mask(lengths, x.shape[2])[:, None, :], 0.0)
            x = self.conv[k + 1](self.conv[k](x))
            lengths = (lengths - 1) // 2 + 1
        x = x.transpose(1, 2)
        x = x + sinusoid(x.shape[1], self.d_model, x.device)
        x = self.transformer(x, src_key_padding_mask=padding_mask(lengths, x.shape[1]))
        return self.norm(x), lengths.clamp(max=x.shape[1])


def sinusoid(n: int, d: int, device=None) -> Tensor:
    """``(n, d)`` sinusoidal position encodings (Vaswani et al., 2017)."""
    pos = torch.arange(n, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, d, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / d))
    out = torch.zeros(n, d, device=device)
    out[:, 0::2], out[:, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq[: d // 2])
    return out


class HFAudioEncoder(nn.Module):
    """A Wav2Vec2 / HuBERT encoder from ``transformers``.

    Args:
        path: a local folder with ``config.json`` and weights (``from_pretrained``); None builds
            ``Wav2Vec2Model`` from ``config`` with random weights.
        config: keyword arguments of ``Wav2Vec2Config`` when ``path`` is None.
        freeze_feature_encoder: freeze the CNN feature extractor (the paper's family does).
    """

    def __init__(self, path: str | None = None, config: dict | None = None, freeze_feature_encoder: bool = True) -> None:
        super().__init__()
        from transformers import AutoModel, Wav2Vec2Config, Wav2Vec2Model

        if path is not None:
            from contrastkit.pretrained import from_local

            self.model = from_local(AutoModel, path, what="Wav2Vec2/HuBERT model")
        else:
            self.model = Wav2Vec2Model(Wav2Vec2Config(**(config or {})))
        if freeze_feature_encoder:
            self.model.feature_extractor._freeze_parameters()
        self.d_model = self.model.config.hidden_size

    def forward(self, feats: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        wave = feats[..., 0]
        mask = ~padding_mask(lengths, wave.shape[1])
        hidden = self.model(wave, attention_mask=mask.long()).last_hidden_state
        out_lengths = self.model._get_feat_extract_output_lengths(lengths).clamp(max=hidden.shape[1])
        return hidden, out_lengths
