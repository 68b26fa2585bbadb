"""Encoders and heads: the SASRec encoder and MCLRec's learnable augmenters."""

from seqrec.models.augmenter import Augmenter
from seqrec.models.sasrec import SASRecEncoder

__all__ = ["Augmenter", "SASRecEncoder"]
