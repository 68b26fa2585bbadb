"""The paper's baseline: CLAP (Elizalde et al. 2023; LAION-CLAP, Wu et al. 2023).

Two forms, as in the paper's tables:

- CLAP trained here: stage 1 of :class:`audiolang.method.CompaClap`, the symmetric CLIP loss over
  audio–caption pairs (``CLAP``; ``audiolang fit --model.stage 1``; the ``clap`` row of
  ``audiolang study``, which every CompA-CLAP row starts from).
- CLAP as released (the paper's "CLAP-LAION" row): transformers' ``ClapModel`` read from a local
  folder, scored without any training (:func:`pretrained_clap`;
  ``audiolang evaluate --pretrained DIR --benchmark CSV``).
"""

from __future__ import annotations

from audiolang.models.dual import DualEncoder

CLAP: dict = {"stage": 1}  # CompaClap settings of the CLAP baseline


def pretrained_clap(path: str, sample_rate: int = 16000) -> DualEncoder:
    """The dual encoder of a local ``ClapModel`` folder (``save_pretrained`` layout, with its tokenizer
    and feature extractor), untrained here, in eval mode; nothing is downloaded."""
    return DualEncoder(pretrained=path, sample_rate=sample_rate).eval()
