"""Encoders and heads."""

from medts.models.encoder import TSEncoder, continuous_mask, make_mask, max_pool_time
from medts.models.heads import ClassifierHead

__all__ = ["ClassifierHead", "TSEncoder", "continuous_mask", "make_mask", "max_pool_time"]
