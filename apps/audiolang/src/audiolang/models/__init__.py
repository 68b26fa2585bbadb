"""Encoders: the compact CPU towers, the transformers ClapModel towers, and the dual encoder."""
