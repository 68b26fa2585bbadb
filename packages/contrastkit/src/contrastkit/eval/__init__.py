"""Evaluation helpers: linear probe, k-NN, retrieval recall@k, ranking HR/NDCG@k, classification.

Built on scikit-learn (probes, k-NN) and torchmetrics (classification metrics); both are imported
inside the functions that use them, so importing this package (or ``contrastkit``) stays light.
"""

from contrastkit.eval.classification import classification_metrics
from contrastkit.eval.knn import knn_accuracy
from contrastkit.eval.linear_probe import ProbeResult, linear_probe
from contrastkit.eval.ranking import (
    hit_rate_at_k,
    hit_rate_from_ranks,
    ndcg_at_k,
    ndcg_from_ranks,
    target_ranks,
)
from contrastkit.eval.retrieval import retrieval_recall_at_k

__all__ = [
    "ProbeResult",
    "classification_metrics",
    "hit_rate_at_k",
    "hit_rate_from_ranks",
    "knn_accuracy",
    "linear_probe",
    "ndcg_at_k",
    "ndcg_from_ranks",
    "retrieval_recall_at_k",
    "target_ranks",
]
