"""motionfc: robust and adaptive motion forecasting from a causal representation perspective.

Reimplements Liu, Cadei, Schweizer, Bahmani and Alahi, "Towards Robust and Adaptive Motion
Forecasting: A Causal Representation Perspective", CVPR 2022 (official code:
vita-epfl/causalmotion) on the ContrastKit core.
"""

__version__ = "0.1.0"
