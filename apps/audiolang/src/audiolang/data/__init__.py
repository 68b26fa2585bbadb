"""Readers (audio, caption manifests, benchmark CSVs), clip sources, the benchmark builder, the DataModule."""
