"""transformers' ClapModel (HTSAT audio + RoBERTa text, LAION's CLAP) as the dual encoder's towers.

Loaded with :func:`contrastkit.pretrained.from_local` (``from_pretrained(path, local_files_only=True)``
with errors naming the folder; pickled ``.bin`` weights refused): a local folder only (LAION's
weights downloaded by the user, or a small random config saved for tests); never the hub.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn


class HFClapTowers(nn.Module):
    """``audio(wave, lengths)`` and ``text(ids, mask)`` -> projected ``(B, projection_dim)``."""

    def __init__(self, path: str | Path, sample_rate: int) -> None:
        super().__init__()
        from contrastkit.pretrained import from_local
        from transformers import AutoTokenizer, ClapFeatureExtractor, ClapModel

        self.model = from_local(ClapModel, path, what="ClapModel")
        self.tokenizer = from_local(AutoTokenizer, path, what="ClapModel's tokenizer")
        self.features = from_local(ClapFeatureExtractor, path, what="ClapModel's feature extractor")
        self.sample_rate = sample_rate

    def caption_tokens(self, texts: list[str], max_length: int) -> list[tuple[int, int, int]]:
        """``(tokens, unknown, limit)`` per caption, special tokens not counted (see ``DualEncoder``)."""
        ids = self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        limit = max_length - self.tokenizer.num_special_tokens_to_add()
        return [(len(row), row.count(self.tokenizer.unk_token_id), limit) for row in ids]

    def tokenize(self, texts: list[str], max_length: int) -> tuple[Tensor, Tensor]:
        out = self.tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        return out["input_ids"], out["attention_mask"].bool()

    def audio(self, wave: Tensor, lengths: Tensor) -> Tensor:
        import torchaudio

        rate = self.features.sampling_rate
        clips = [w[: int(n)].float().cpu() for w, n in zip(wave, lengths, strict=True)]
        if rate != self.sample_rate:
            clips = [torchaudio.functional.resample(c, self.sample_rate, rate) for c in clips]
        feats = self.features([c.numpy() for c in clips], sampling_rate=rate, return_tensors="pt")
        feats = {k: v.to(wave.device) for k, v in feats.items()}
        out = self.model.get_audio_features(**feats)
        return out if isinstance(out, Tensor) else out.pooler_output

    def text(self, ids: Tensor, mask: Tensor) -> Tensor:
        out = self.model.get_text_features(input_ids=ids, attention_mask=mask.long())
        return out if isinstance(out, Tensor) else out.pooler_output


def save_tiny_clap(path: str | Path, tokenizer_source) -> Path:
    """Write a tiny random ClapModel, a fast tokenizer and a feature extractor to ``path`` (tests)."""
    from transformers import (
        ClapAudioConfig,
        ClapConfig,
        ClapFeatureExtractor,
        ClapModel,
        ClapTextConfig,
        PreTrainedTokenizerFast,
    )

    text = ClapTextConfig(vocab_size=tokenizer_source.get_vocab_size() + 4, hidden_size=32, num_hidden_layers=1,
                          num_attention_heads=2, intermediate_size=64, max_position_embeddings=64, pad_token_id=0)
    audio = ClapAudioConfig(spec_size=64, num_mel_bins=64, window_size=4, patch_size=4, patch_stride=(4, 4),
                            depths=[1, 1], num_attention_heads=[2, 2], hidden_size=32, patch_embeds_hidden_size=16,
                            enable_fusion=False)
    config = ClapConfig(text_config=text.to_dict(), audio_config=audio.to_dict(), projection_dim=16)
    torch.manual_seed(0)
    model = ClapModel(config)
    path = Path(path)
    model.save_pretrained(str(path))
    PreTrainedTokenizerFast(tokenizer_object=tokenizer_source, pad_token="[PAD]", unk_token="[UNK]").save_pretrained(str(path))
    ClapFeatureExtractor(feature_size=64, sampling_rate=16000, hop_length=320, max_length_s=1, fft_window_size=640,
                         nb_max_frames=51, truncation="rand_trunc").save_pretrained(str(path))
    return path
