"""Thin ``nn.Module`` wrappers around :mod:`contrastkit.functional` (configuration and state)."""

__all__: list[str] = []
