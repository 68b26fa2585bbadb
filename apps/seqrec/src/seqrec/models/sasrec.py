"""The SASRec encoder (Kang & McAuley, "Self-Attentive Sequential Recommendation", ICDM 2018),
laid out as RecBole's ``SASRec`` / MCLRec's encoder.

``x_0 = Dropout(LayerNorm(E[s_t] + P[t]))``, then ``n_layers`` post-LN blocks
``x = LN(x + Dropout(W_o Attn(x)))``, ``x = LN(x + Dropout(W_2 GELU(W_1 x)))``, with causal,
padding-masked multi-head attention (attention-probability dropout). Masked logits get
``-1e4`` added, not ``-inf`` (RecBole), so a query whose keys are all padding (a mask
augmentation can blank the first item) attends uniformly instead of producing NaN.
The representation of a sequence is the output at its last position ``length - 1``.
Weights ~ N(0, 0.02), biases 0, LayerNorm eps 1e-12 (RecBole's init).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Block(nn.Module):
    """One post-LN Transformer block (attention, then a GELU feed-forward)."""

    def __init__(self, hidden: int, heads: int, inner: int, dropout: float, attn_dropout: float, eps: float):
        super().__init__()
        if hidden % heads:
            raise ValueError(f"hidden={hidden} must be divisible by heads={heads}")
        self.heads, self.attn_dropout = heads, attn_dropout
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.ln1 = nn.LayerNorm(hidden, eps=eps)
        self.ff1 = nn.Linear(hidden, inner)
        self.ff2 = nn.Linear(inner, hidden)
        self.ln2 = nn.LayerNorm(hidden, eps=eps)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, bias: Tensor, query_pos: Tensor | None = None) -> Tensor:
        """``x`` (B, L, D), ``bias`` (B, 1, L, L) additive attention mask -> (B, L, D).

        With ``query_pos`` (B,), only that position of each row is computed (keys and values still
        come from every position): the output is (B, D), exactly the full output's row
        ``query_pos``, at a fraction of the cost (a last block that only feeds a representation).
        """
        b, n, d = x.shape
        hd = d // self.heads
        if query_pos is None:
            q, k, v = self.qkv(x).view(b, n, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
            resid = x
        else:
            rows = torch.arange(b, device=x.device)
            resid = x[rows, query_pos]  # (B, D)
            q = F.linear(resid, self.qkv.weight[:d], self.qkv.bias[:d]).view(b, 1, self.heads, hd).transpose(1, 2)
            k, v = F.linear(x, self.qkv.weight[d:], self.qkv.bias[d:]).view(b, n, 2, self.heads, hd).permute(
                2, 0, 3, 1, 4)
            bias = bias[rows, :, query_pos].unsqueeze(2)  # (B, 1, 1, L)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=bias,
                                           dropout_p=self.attn_dropout if self.training else 0.0)
        a = a.transpose(1, 2).reshape(resid.shape)
        x = self.ln1(resid + self.drop(self.out(a)))
        return self.ln2(x + self.drop(self.ff2(F.gelu(self.ff1(x)))))


class SASRecEncoder(nn.Module):
    """Item and position embeddings plus ``n_layers`` blocks.

    Args:
        num_items: items ``1..num_items``; row 0 of the item table is padding.
        max_len: maximum sequence length (position table size).
        hidden, n_layers, heads, inner, dropout, attn_dropout: see :class:`seqrec.module.SeqRecModule`,
            which owns their defaults.
    """

    def __init__(self, num_items: int, max_len: int, hidden: int, n_layers: int, heads: int, inner: int,
                 dropout: float, attn_dropout: float, eps: float = 1e-12, init_std: float = 0.02):
        super().__init__()
        if num_items < 1:
            raise ValueError(f"num_items must be >= 1; got {num_items}")
        self.num_items, self.max_len = num_items, max_len
        self.item_emb = nn.Embedding(num_items + 1, hidden, padding_idx=0)
        self.pos_emb = nn.Embedding(max_len, hidden)
        self.ln = nn.LayerNorm(hidden, eps=eps)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(hidden, heads, inner, dropout, attn_dropout, eps) for _ in range(n_layers))
        self.apply(lambda m: _init(m, init_std))
        with torch.no_grad():
            self.item_emb.weight[0].zero_()  # padding (and masked items) carry only their position

    def _embed(self, seqs: Tensor) -> tuple[Tensor, Tensor]:
        n = seqs.shape[1]
        if n > self.max_len:
            raise ValueError(f"sequence length {n} exceeds max_len={self.max_len}")
        pos = torch.arange(n, device=seqs.device)
        x = self.drop(self.ln(self.item_emb(seqs) + self.pos_emb(pos)))
        allowed = torch.ones(n, n, dtype=torch.bool, device=seqs.device).tril() & (seqs > 0)[:, None, :]
        bias = torch.zeros(allowed.shape, dtype=x.dtype, device=x.device).masked_fill_(~allowed, -1e4)[:, None]
        return x, bias

    def forward(self, seqs: Tensor) -> Tensor:
        """``seqs`` (B, L) right-padded ids -> hidden states (B, L, D) at every position."""
        x, bias = self._embed(seqs)
        for block in self.blocks:
            x = block(x, bias)
        return x

    def forward_split(self, seqs: Tensor, lengths: Tensor, n_full: int) -> tuple[Tensor, Tensor]:
        """One pass over ``seqs`` (N, L): the first ``n_full`` rows get every position (n_full, L, D);
        the others only their representation at ``length - 1`` (N - n_full, D), the last block
        computing that one query per row. Same values as :meth:`forward`, less work."""
        x, bias = self._embed(seqs)
        for block in self.blocks[:-1]:
            x = block(x, bias)
        last = self.blocks[-1]
        full = last(x[:n_full], bias[:n_full]) if n_full else x.new_zeros(0, *x.shape[1:])
        reps = last(x[n_full:], bias[n_full:], lengths[n_full:] - 1) if n_full < x.shape[0] else x.new_zeros(0, x.shape[2])
        return full, reps

    def represent(self, seqs: Tensor, lengths: Tensor) -> Tensor:
        """The sequence representation: hidden state at position ``length - 1``, (B, D)."""
        return self.forward_split(seqs, lengths, 0)[1]

    def item_table(self) -> Tensor:
        """Embeddings of items ``1..num_items`` (N, D), the output layer (shared with the input)."""
        return self.item_emb.weight[1:]


def _init(module: nn.Module, std: float) -> None:
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, 0.0, std)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
    if isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
