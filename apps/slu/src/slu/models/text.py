"""A ``transformers`` text model from a local folder as the text encoder of the audio–text loss.

COCONUT's own text encoder is the decoder's token embeddings pooled over the transcript
(:meth:`slu.models.seq2seq.SLUModel.text_embedding`); this module is the alternative the
interface also takes: any ``AutoModel`` + ``AutoTokenizer`` saved in a folder (BERT, RoBERTa...),
frozen by default, mean-pooled over the tokens. Nothing is downloaded.
"""

from __future__ import annotations

from torch import Tensor, nn


class HFTextEncoder(nn.Module):
    """``forward(texts: list[str]) -> (B, hidden)``: mean of the last hidden states over real tokens.

    Args:
        path: a local folder with the model and its tokenizer.
        freeze: keep the text model's weights fixed (only the projection learns).
    """

    def __init__(self, path: str, freeze: bool = True) -> None:
        super().__init__()
        from contrastkit.pretrained import from_local
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = from_local(AutoTokenizer, path, what="tokenizer", need_config=False)
        self.model = from_local(AutoModel, path, what="text model")
        self.hidden_size = self.model.config.hidden_size
        if freeze:
            self.model.requires_grad_(False)

    def forward(self, texts: list[str]) -> Tensor:
        enc = self.tokenizer(list(texts), padding=True, truncation=True, return_tensors="pt")
        enc = {k: v.to(next(self.model.parameters()).device) for k, v in enc.items()}
        hidden = self.model(**enc).last_hidden_state
        mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
