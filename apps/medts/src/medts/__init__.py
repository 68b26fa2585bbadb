"""medts: COMET, hierarchical contrastive learning for medical time series.

Wang, Y., Han, Y., Wang, H., Zhang, X. "Contrast Everything: A Hierarchical Contrastive
Framework for Medical Time-Series", NeurIPS 2023 (official code: DL4mHealth/COMET, MIT).
"""

__version__ = "0.1.0"
