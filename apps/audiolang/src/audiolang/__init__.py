"""audiolang: CompA-CLAP (Ghosh et al., ICLR 2024) and compositional audio-text benchmarks on ContrastKit."""
