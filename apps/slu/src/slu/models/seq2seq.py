"""The seq2seq SLU model: an audio encoder, a transformer decoder over the BPE vocabulary that
emits the intent token first and then the transcript, and the two projections of the contrastive
losses (audio: pooled encoder states; text: the decoder's token embeddings pooled over the
transcript, as COCONUT describes).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from slu.models.encoder import ConvTransformerEncoder, padding_mask, sinusoid


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``x`` ``(B, T, D)`` over positions where ``mask`` ``(B, T)`` is True."""
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


class SLUModel(nn.Module):
    """Audio encoder + transformer decoder + the two projections, built from plain settings (so a
    checkpoint rebuilds it from the settings it records, :func:`contrastkit.train.load_module`);
    its arguments with defaults, but ``n_mels`` (the data's) and ``max_len``, are the ``model``
    section of the config (:data:`slu.continual.ModelConfig`).

    Args:
        vocab_size: the tokenizer's vocabulary (pad id 0).
        n_mels: log-mel bands of the features (the data's ``n_mels``).
        d_model: hidden size of encoder and decoder (a ``hf`` encoder's output is projected to it).
        encoder_layers: transformer layers of the compact encoder.
        decoder_layers: transformer decoder layers.
        heads: attention heads.
        ff: feed-forward size of the transformer layers.
        dropout: dropout of the transformer layers.
        proj_dim: size of the contrastive embeddings.
        encoder: ``conv`` (compact log-mel encoder) or ``hf`` (Wav2Vec2/HuBERT; needs ``--data.features wave``).
        pretrained_path: a local Wav2Vec2/HuBERT folder for ``hf`` (None: random weights from ``hf_config``).
        hf_config: ``Wav2Vec2Config`` arguments for a randomly initialized ``hf`` encoder.
        text_model_path: a local ``transformers`` text model (with its tokenizer) as the audio-text
            loss's text encoder, frozen; None: the decoder's token embeddings (COCONUT's choice).
        max_len: longest target sequence.
    """

    def __init__(self, vocab_size: int, n_mels: int = 40, d_model: int = 144, encoder_layers: int = 3,
                 decoder_layers: int = 2, heads: int = 4, ff: int = 384, dropout: float = 0.1, proj_dim: int = 64,
                 encoder: str = "conv", pretrained_path: str | None = None, hf_config: dict | None = None,
                 text_model_path: str | None = None, max_len: int = 64) -> None:
        super().__init__()
        self.encoder, self.max_len, self.d_model = audio_encoder(encoder, n_mels, d_model, encoder_layers, heads, ff,
                                                                 dropout, pretrained_path, hf_config), max_len, d_model
        self.text_encoder = None  # built second, as before, so that a seed gives the same initial weights
        if text_model_path is not None:
            from slu.models.text import HFTextEncoder

            self.text_encoder = HFTextEncoder(text_model_path)
        self.bridge = nn.Identity() if self.encoder.d_model == d_model else nn.Linear(self.encoder.d_model, d_model)
        self.embed = nn.Embedding(vocab_size, d_model, padding_idx=0)
        layer = nn.TransformerDecoderLayer(d_model, heads, ff, dropout, batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(layer, decoder_layers)
        self.norm = nn.LayerNorm(d_model)
        self.out = nn.Linear(d_model, vocab_size)
        self.audio_proj = nn.Sequential(nn.Linear(d_model, d_model), nn.GELU(), nn.Linear(d_model, proj_dim))
        text_dim = d_model if self.text_encoder is None else self.text_encoder.hidden_size
        self.text_proj = nn.Sequential(nn.Linear(text_dim, d_model), nn.GELU(), nn.Linear(d_model, proj_dim))

    def encode(self, feats: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``(memory (B, T', d_model), lengths (B,))``."""
        hidden, lengths = self.encoder(feats, lengths)
        return self.bridge(hidden), lengths

    def pooled(self, memory: Tensor, lengths: Tensor) -> Tensor:
        """Mean of the encoder states over the valid frames ``(B, d_model)`` (audio-KD's features)."""
        return masked_mean(memory, ~padding_mask(lengths, memory.shape[1]))

    def audio_embedding(self, memory: Tensor, lengths: Tensor) -> Tensor:
        """``(B, proj_dim)``: the projected pooled encoder states (not normalized)."""
        return self.audio_proj(self.pooled(memory, lengths))

    def text_embedding(self, transcript_ids: Tensor, texts: list[str] | None = None) -> Tensor:
        """``(B, proj_dim)``: token embeddings of ``transcript_ids`` ``(B, L)`` (0 = pad) averaged
        over the transcript, then projected; with a ``text_encoder``, its pooled states of ``texts``."""
        if self.text_encoder is not None:
            if texts is None:
                raise ValueError("this model's text encoder reads the transcripts as text: pass texts")
            return self.text_proj(self.text_encoder(texts))
        return self.text_proj(masked_mean(self.embed(transcript_ids), transcript_ids != 0))

    def logits(self, memory: Tensor, lengths: Tensor, inputs: Tensor) -> Tensor:
        """Next-token logits ``(B, L, V)`` for decoder ``inputs`` ``(B, L)`` (teacher forcing)."""
        L = inputs.shape[1]
        x = self.embed(inputs) * self.d_model ** 0.5 + sinusoid(L, self.d_model, inputs.device)
        causal = torch.triu(torch.ones(L, L, dtype=torch.bool, device=inputs.device), 1)
        h = self.decoder(x, memory, tgt_mask=causal, tgt_key_padding_mask=inputs == 0,
                         memory_key_padding_mask=padding_mask(lengths, memory.shape[1]), tgt_is_causal=True)
        return self.out(self.norm(h))

    def sequence_loss(self, memory: Tensor, lengths: Tensor, tokens: Tensor, label_smoothing: float = 0.0,
                      word_dropout: float = 0.0) -> Tensor:
        """Cross-entropy of ``tokens`` ``(B, L)`` (``bos ... eos``, 0 = pad) given the audio.

        ``word_dropout``: in training, each decoder input after ``bos`` and the intent is replaced by
        padding (masked: no later token attends to it) with this probability, so the next words
        must come from the audio rather than from the sentence heard so far."""
        inputs = tokens[:, :-1]
        if word_dropout > 0 and self.training:
            drop = torch.rand(inputs.shape, device=inputs.device) < word_dropout
            drop[:, :2] = False
            inputs = inputs.masked_fill(drop, 0)
        logits = self.logits(memory, lengths, inputs)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1), ignore_index=0,
                               label_smoothing=label_smoothing)

    @torch.no_grad()
    def greedy(self, memory: Tensor, lengths: Tensor, bos: int, eos: int, max_len: int | None = None) -> Tensor:
        """Greedy decoding: ``(B, L)`` token ids starting with ``bos``, 0 after ``eos``."""
        seq = torch.full((memory.shape[0], 1), bos, dtype=torch.long, device=memory.device)
        done = torch.zeros(memory.shape[0], dtype=torch.bool, device=memory.device)
        for _ in range((max_len or self.max_len) - 1):
            nxt = self.logits(memory, lengths, seq)[:, -1].argmax(-1)
            nxt = torch.where(done, torch.zeros_like(nxt), nxt)
            seq = torch.cat([seq, nxt[:, None]], 1)
            done |= nxt == eos
            if bool(done.all()):
                break
        return seq

    @torch.no_grad()
    def beam(self, memory: Tensor, lengths: Tensor, bos: int, eos: int, beam_size: int = 4,
             max_len: int | None = None) -> Tensor:
        """Beam search (sum of log-probabilities, length-normalized at the end), one clip at a time;
        ``(B, L)`` like :meth:`greedy`."""
        outs = []
        for b in range(memory.shape[0]):
            mem, ln = memory[b:b + 1], lengths[b:b + 1]
            beams = [([bos], 0.0)]
            finished = []
            for _ in range((max_len or self.max_len) - 1):
                seqs = torch.tensor([s for s, _ in beams], device=memory.device)
                logp = self.logits(mem.expand(len(beams), -1, -1), ln.expand(len(beams)), seqs)[:, -1].log_softmax(-1)
                cand = [(s + [int(t)], score + float(lp)) for (s, score), row in zip(beams, logp)
                        for lp, t in zip(*row.topk(beam_size))]
                cand.sort(key=lambda c: c[1], reverse=True)
                beams = []
                for s, score in cand:
                    (finished if s[-1] == eos else beams).append((s, score))
                    if len(beams) == beam_size:
                        break
                if not beams or len(finished) >= beam_size:
                    break
            pool = finished or beams
            outs.append(max(pool, key=lambda c: c[1] / len(c[0]))[0])
        width = max(len(s) for s in outs)
        return torch.tensor([s + [0] * (width - len(s)) for s in outs], device=memory.device)


def audio_encoder(kind: str, n_mels: int, d_model: int, layers: int, heads: int, ff: int, dropout: float,
                  pretrained_path: str | None = None, hf_config: dict | None = None) -> nn.Module:
    """The audio encoder ``kind`` (``conv``: :class:`ConvTransformerEncoder`; ``hf``:
    :class:`~slu.models.encoder.HFAudioEncoder`), with ``forward(feats, lengths) -> (hidden, lengths)``
    and ``d_model``."""
    if kind == "conv":
        return ConvTransformerEncoder(n_mels, d_model, layers, heads, ff, dropout)
    if kind == "hf":
        from slu.models.encoder import HFAudioEncoder

        return HFAudioEncoder(pretrained_path, hf_config)
    raise ValueError(f"unknown encoder {kind!r}; expected 'conv' or 'hf'")
