"""Forecasters: constant velocity, STGAT (ETH/UCY), the small MLP model and the modular
architecture (invariant encoder, style encoder, style modulator)."""
