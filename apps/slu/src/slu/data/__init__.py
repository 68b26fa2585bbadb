"""Readers, synthetic speech, features, tokenizer, scenarios and loaders of the slu app."""
