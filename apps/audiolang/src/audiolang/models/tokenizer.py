"""A WordPiece tokenizer trained offline with ``tokenizers`` on the caption vocabulary.

Trained on every word the builders' captions use (clip sentences and nouns, operators, loudness
and accent words) plus the alphabet, so any other word splits into known pieces. Deterministic:
the same corpus gives the same vocabulary, so a model rebuilds its tokenizer from code.
"""

from __future__ import annotations

from functools import lru_cache

import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

from audiolang.data.sources import ACCENTS, DIGITS, ESC10_WORDS, SYNTHETIC_WORDS

SPECIAL = ["[PAD]", "[UNK]"]


def caption_corpus() -> list[str]:
    """Sentences covering the builders' caption words."""
    words = [s for table in (ESC10_WORDS, SYNTHETIC_WORDS) for pair in table.values() for s in pair]
    words += [f"a voice with {a} accent says {d}" for a in ACCENTS.values() for d in DIGITS]
    words += [f"{d} said with {a} accent" for a in ACCENTS.values() for d in DIGITS]
    words += ["then, and at the same time", "a loud a quiet the sound of", "abcdefghijklmnopqrstuvwxyz 0123456789"]
    return words


@lru_cache(maxsize=4)
def build_tokenizer(vocab_size: int = 400) -> Tokenizer:
    """The WordPiece tokenizer (lower-cased, punctuation split)."""
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase(), normalizers.StripAccents()])
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL, show_progress=False,
                                        initial_alphabet=list("abcdefghijklmnopqrstuvwxyz0123456789,."))
    tok.train_from_iterator(caption_corpus() * 3, trainer)
    return tok


def encode(tokenizer: Tokenizer, texts: list[str], max_length: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids, mask)``, both ``(N, L)`` with ``L = min(max_length, longest)``; mask is True on tokens."""
    rows = [e.ids[:max_length] for e in tokenizer.encode_batch(list(texts))]
    length = max(1, max(len(r) for r in rows))
    ids = torch.zeros(len(rows), length, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return ids, ids != 0
