"""seqrec: MCLRec and its baselines for sequential recommendation (leave-one-out, full ranking).

Qin et al., "Meta-optimized Contrastive Learning for Sequential Recommendation", SIGIR 2023.
"""

__version__ = "0.1.0"
