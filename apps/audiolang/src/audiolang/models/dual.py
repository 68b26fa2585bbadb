"""The CLAP-style dual encoder: two towers, linear projections into one space, a learnable logit scale.

``logit_scale = exp(log_scale)`` (clamped at 100, as CLIP/CLAP do) is owned here and passed to the
losses. ``encode_audio`` / ``encode_text`` return L2-normalized ``(B, dim)`` embeddings.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from audiolang.models.compact import AudioTower, TextTower
from audiolang.models.tokenizer import build_tokenizer, encode


class DualEncoder(nn.Module):
    """Compact towers (default) or, with ``pretrained``, transformers' ClapModel from a local folder.

    Args:
        dim: shared embedding size (compact towers).
        width, layers: compact towers' transformer width and depth.
        sample_rate: Hz of the waveforms given to ``encode_audio``.
        temperature: initial temperature (logit scale ``1 / temperature``).
        pretrained: a local folder written by ``ClapModel.save_pretrained`` (with its tokenizer and
            feature extractor); nothing is downloaded.
        max_text_length: tokens read per caption (the rest is cut; ``audiolang score`` and ``embed``
            warn about such captions, :mod:`audiolang.captions`); None: 32, or 160 with ``tokens="characters"``.
        segments: compact towers: consecutive parts of a clip / caption pooled separately, so that
            "A, then B" and "B, then A" differ (1 = a plain mean: nearly order-invariant).
        tokens: compact text tower: ``words``, ``pieces`` (stems and suffixes) or ``characters``
            (:func:`audiolang.models.tokenizer.vocabulary`).
        text_layers: compact text tower's depth (None: ``layers``).
        text_pool: compact text tower's pooling, ``segments`` or ``slots`` (:class:`~audiolang.models.compact.TextTower`).
    """

    def __init__(self, dim: int = 128, width: int = 128, layers: int = 2, sample_rate: int = 16000,
                 temperature: float = 0.07, pretrained: str | None = None, max_text_length: int | None = None,
                 segments: int = 4, tokens: str = "words", text_layers: int | None = None,
                 text_pool: str = "segments") -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0; got {temperature}")
        if segments < 1:
            raise ValueError(f"segments must be >= 1; got {segments}")
        if max_text_length is None:
            max_text_length = 160 if tokens == "characters" else 32
        self.sample_rate, self.max_text_length = sample_rate, max_text_length
        # the constructor's arguments: what ``audiolang export`` writes beside the weights
        self.config = {"dim": dim, "width": width, "layers": layers, "sample_rate": sample_rate,
                       "temperature": temperature, "pretrained": pretrained, "max_text_length": max_text_length,
                       "segments": segments, "tokens": tokens, "text_layers": text_layers,
                       "text_pool": text_pool}
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / temperature)))
        self.hf = None
        if pretrained:
            from audiolang.models.clap_hf import HFClapTowers

            self.hf = HFClapTowers(pretrained, sample_rate)
            return
        self.tokenizer = build_tokenizer(tokens)
        self.audio = AudioTower(sample_rate, width=width, layers=layers, segments=segments)
        self.text = TextTower(self.tokenizer.get_vocab_size(), width=width, layers=text_layers or layers,
                              segments=segments, pool=text_pool)
        self.audio_proj = nn.Linear(segments * width, dim)
        self.text_proj = nn.Linear(segments * width, dim)

    def logit_scale(self) -> Tensor:
        """``exp(log_scale)``, at most 100."""
        return self.log_scale.exp().clamp(max=100.0)

    def tokenize(self, texts: list[str]) -> tuple[Tensor, Tensor]:
        """``(ids, mask)`` for :meth:`encode_text`; a caption without tokens is a ``ValueError``."""
        if self.hf is not None:
            return self.hf.tokenize(texts, self.max_text_length)
        ids, mask = encode(self.tokenizer, texts, self.max_text_length)
        empty = torch.nonzero(~mask.any(1)).flatten().tolist()
        if empty:  # nothing to pool: the text tower would return NaN (a NaN loss, a NaN embedding)
            raise ValueError(f"caption {list(texts)[empty[0]]!r} has no tokens (empty, or only characters the "
                             f"tokenizer drops); {len(empty)} such caption(s) in this batch")
        return ids, mask

    def unknown_id(self) -> int:
        """The id of the unknown token (what word dropout writes in place of a token)."""
        if self.hf is not None:
            return int(self.hf.tokenizer.unk_token_id)
        return self.tokenizer.token_to_id("[UNK]")

    def caption_tokens(self, texts: list[str]) -> list[tuple[int, int, int]]:
        """``(tokens, unknown, limit)`` per caption: its tokens before any cut (special tokens not
        counted), how many are the unknown token, and how many the model reads."""
        if self.hf is not None:
            return self.hf.caption_tokens(texts, self.max_text_length)
        unk = self.tokenizer.token_to_id("[UNK]")
        return [(len(e.ids), e.ids.count(unk), self.max_text_length) for e in self.tokenizer.encode_batch(list(texts))]

    def encode_audio(self, wave: Tensor, lengths: Tensor) -> Tensor:
        """``(B, T)`` waveforms and their lengths ``(B,)`` -> ``(B, dim)``, unit norm."""
        x = self.hf.audio(wave, lengths) if self.hf is not None else self.audio_proj(self.audio(wave, lengths))
        return F.normalize(x, dim=-1)

    def encode_text(self, ids: Tensor, mask: Tensor) -> Tensor:
        """``(N, L)`` token ids and mask -> ``(N, dim)``, unit norm."""
        x = self.hf.text(ids, mask) if self.hf is not None else self.text_proj(self.text(ids, mask))
        return F.normalize(x, dim=-1)

    @torch.no_grad()
    def embed_texts(self, texts: list[str], batch_size: int = 256) -> Tensor:
        """Unit-norm embeddings of captions, ``(N, dim)``, in eval mode."""
        device = self.log_scale.device
        out = []
        for i in range(0, len(texts), batch_size):
            ids, mask = self.tokenize(texts[i:i + batch_size])
            out.append(self.encode_text(ids.to(device), mask.to(device)))
        return torch.cat(out)
