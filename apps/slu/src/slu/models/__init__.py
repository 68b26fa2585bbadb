"""Encoders and the seq2seq model (plain nn.Module, no Lightning)."""
