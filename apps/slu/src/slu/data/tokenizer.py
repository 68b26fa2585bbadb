"""The decoder's vocabulary: a BPE tokenizer (Hugging Face ``tokenizers``) trained offline on the
training transcripts, plus one special token per intent.

A target is ``<bos> <intent:NAME> transcript-pieces... <eos>``: the intent comes first, so intent
accuracy is read from the first decoded token.
"""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"


def intent_token(name: str) -> str:
    return f"<intent:{name}>"


class SLUTokenizer:
    """A trained BPE tokenizer with the intent tokens; ``pad_id`` is 0."""

    def __init__(self, tokenizer: Tokenizer, classes: list[str]) -> None:
        self.tok, self.classes = tokenizer, list(classes)
        self.pad_id, self.bos_id, self.eos_id = (tokenizer.token_to_id(t) for t in (PAD, BOS, EOS))
        self.intent_ids = [tokenizer.token_to_id(intent_token(c)) for c in self.classes]
        self._class_of = {tid: k for k, tid in enumerate(self.intent_ids)}

    @classmethod
    def train(cls, transcripts: list[str], classes: list[str], vocab_size: int = 256) -> SLUTokenizer:
        """Train BPE on ``transcripts``; special tokens: pad, bos, eos, unk, then the sorted intents."""
        tok = Tokenizer(models.BPE(unk_token=UNK))
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        specials = [PAD, BOS, EOS, UNK, *(intent_token(c) for c in sorted(classes))]
        trainer = trainers.BpeTrainer(vocab_size=vocab_size + len(specials), special_tokens=specials,
                                      show_progress=False)
        tok.train_from_iterator(sorted(transcripts), trainer)
        return cls(tok, sorted(classes))

    @classmethod
    def from_json(cls, text: str, classes: list[str]) -> SLUTokenizer:
        return cls(Tokenizer.from_str(text), classes)

    def to_json(self) -> str:
        return self.tok.to_str()

    @property
    def vocab_size(self) -> int:
        return self.tok.get_vocab_size()

    def encode(self, intent: str, transcript: str) -> list[int]:
        """``[bos, intent, pieces..., eos]``."""
        return [self.bos_id, self.intent_ids[self.classes.index(intent)], *self.tok.encode(transcript).ids, self.eos_id]

    def transcript_ids(self, transcript: str) -> list[int]:
        return self.tok.encode(transcript).ids

    def class_of(self, token_id: int) -> int:
        """The class id of an intent token, ``-1`` for any other token."""
        return self._class_of.get(int(token_id), -1)

    def decode_transcript(self, ids: list[int]) -> str:
        """The transcript of a decoded sequence (after bos and the intent token, up to eos)."""
        body = []
        for t in ids:
            if t == self.eos_id:
                break
            if t not in (self.bos_id, self.pad_id) and t not in self._class_of:
                body.append(t)
        return self.tok.decode(body)
