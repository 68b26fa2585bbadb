"""A WordPiece tokenizer with a fixed vocabulary written from the caption vocabulary (whole words,
word pieces or characters: :func:`vocabulary`).

The vocabulary is every word the builders' captions use (clip sentences and nouns, every word of
the paraphrase grammar, :mod:`audiolang.data.wording`, test-only families included, as a
tokenizer made beforehand would hold them), every character of the alphabet, and each character's ``##``
continuation, so any other word splits into known pieces. Deterministic: the ids are the sorted
vocabulary's positions, the same in every process, so a model rebuilds its tokenizer from code (a
checkpoint read by another process, every rank of a DDP run). A ``tokenizers`` WordPiece *trainer*
is not: its merges and ids change from one process to the next.
"""

from __future__ import annotations

from functools import lru_cache

import torch
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

from audiolang.data.sources import ACCENTS, DIGITS, ESC10_WORDS, SYNTHETIC_WORDS
from audiolang.data.wording import vocabulary_words

SPECIAL = ["[PAD]", "[UNK]"]  # ids 0 and 1: 0 is the padding
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789,."


def caption_corpus() -> list[str]:
    """Sentences covering the builders' caption words."""
    words = [s for table in (ESC10_WORDS, SYNTHETIC_WORDS) for pair in table.values() for s in pair]
    words += [f"a voice with {a} accent says {d}" for a in ACCENTS.values() for d in DIGITS]
    words += [f"{d} said with {a} accent" for a in ACCENTS.values() for d in DIGITS]
    words += ["then, and at the same time", "a loud a quiet the sound of", "abcdefghijklmnopqrstuvwxyz 0123456789"]
    words += [" ".join(sorted(vocabulary_words())), "; ,"]
    return words


def _normalizer() -> normalizers.Normalizer:
    return normalizers.Sequence([normalizers.NFD(), normalizers.Lowercase(), normalizers.StripAccents()])


TOKENS = ("words", "pieces", "characters")
SUFFIXES = ("wards", "ing", "ed", "es", "ly", "s")  # pieces: the longest that leaves a stem of >= 3 letters


def _stem(word: str) -> tuple[str, str]:
    """``(stem, suffix)`` of a word ("preceded" -> ("preced", "ed")); ``(word, "")`` when none applies."""
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and word.isalpha():
            return word[: -len(suffix)], suffix
    return word, ""


def vocabulary(tokens: str = "words") -> list[str]:
    """``SPECIAL``, then, sorted, the characters and their ``##`` continuations and:

    - ``words``: every word of the corpus (a word is one token);
    - ``pieces``: each word's stem and ``##`` suffix ("preceded" -> "preced ##ed", "afterwards" ->
      "after ##wards"), so that related words share a piece;
    - ``characters``: nothing more (each word is spelled out: "dog" -> "d ##o ##g").
    """
    if tokens not in TOKENS:
        raise ValueError(f"tokens must be one of {TOKENS}; got {tokens!r}")
    norm, pre = _normalizer(), pre_tokenizers.BertPreTokenizer()
    words = {w for text in caption_corpus() for w, _ in pre.pre_tokenize_str(norm.normalize_str(text))}
    chars = set(ALPHABET) | {c for w in words for c in w}
    if tokens == "pieces":
        stems = {_stem(w) for w in words}
        words = {s for s, _ in stems} | {f"##{x}" for _, x in stems if x}
    elif tokens == "characters":
        words = set()
    return SPECIAL + sorted(words | chars | {f"##{c}" for c in chars})


@lru_cache(maxsize=3)
def build_tokenizer(tokens: str = "words") -> Tokenizer:
    """The WordPiece tokenizer (lower-cased, punctuation split) over :func:`vocabulary`."""
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocabulary(tokens))}, unk_token="[UNK]",
                                     max_input_chars_per_word=100))
    tok.normalizer = _normalizer()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tok


def encode(tokenizer: Tokenizer, texts: list[str], max_length: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids, mask)``, both ``(N, L)`` with ``L = min(max_length, longest)``; mask is True on tokens."""
    rows = [e.ids[:max_length] for e in tokenizer.encode_batch(list(texts))]
    length = max(1, max(len(r) for r in rows))
    ids = torch.zeros(len(rows), length, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return ids, ids != 0
