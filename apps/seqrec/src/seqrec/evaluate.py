"""Full-ranking evaluation in batches: HR@k and NDCG@k over all items, one target per user.

The metrics themselves are ContrastKit's (:mod:`contrastkit.eval.ranking`: pessimistic ranks,
``HR@k = mean [r <= k]``, ``NDCG@k = mean [r <= k] / log2(r + 1)``); this module only holds the
recommendation glue around them: item ids ``1..N`` against score columns ``0..N-1``, the user's
history excluded from the ranking (scores set to ``-inf``; a target that repeats a history item
then gets rank ``N``, a miss), and means accumulated over evaluation batches with torchmetrics'
``MeanMetric`` (weighted by batch size, correct under DDP).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from contrastkit.eval.ranking import hit_rate_from_ranks, ndcg_from_ranks, ranks_of_best_positive
from torch import Tensor
from torchmetrics import MeanMetric

KS = (5, 10, 20)


def mask_history_(scores: Tensor, history: Tensor) -> Tensor:
    """Set ``scores[b, i - 1] = -inf`` for every item id ``i > 0`` in ``history[b]`` (in place).

    ``scores`` (B, N) over items ``1..N``; ``history`` (B, H) item ids padded with 0.
    """
    rows = torch.arange(scores.shape[0], device=scores.device)[:, None].expand_as(history)
    keep = history > 0
    scores[rows[keep], history[keep] - 1] = float("-inf")
    return scores


def target_ranks(scores: Tensor, targets: Tensor) -> Tensor:
    """1-based pessimistic rank ``(B,)`` of each target id (``1..N``) among the ``(B, N)`` scores,
    through :func:`contrastkit.eval.ranking.ranks_of_best_positive` (which, unlike
    ``target_ranks`` there, accepts a target excluded with ``-inf``: rank ``N``)."""
    positive = torch.zeros(scores.shape, dtype=torch.bool, device=scores.device)
    positive[torch.arange(scores.shape[0], device=scores.device), targets - 1] = True
    return ranks_of_best_positive(scores, positive, ties="pessimistic")


class RankingMetrics(torch.nn.Module):
    """Accumulates HR@k / NDCG@k means over batches (a module so that Lightning moves it)."""

    def __init__(self, ks: Iterable[int] = KS) -> None:
        super().__init__()
        self.ks = tuple(sorted(ks))
        self.means = torch.nn.ModuleDict(
            {f"{m}_at_{k}": MeanMetric() for m in ("HR", "NDCG") for k in self.ks}
        )

    def update(self, scores: Tensor, targets: Tensor, history: Tensor | None = None) -> None:
        """``scores`` (B, N) over items ``1..N`` (modified in place when ``history`` is given),
        ``targets`` (B,) ids in ``1..N``, ``history`` (B, H) ids to exclude, padded with 0."""
        if history is not None:
            mask_history_(scores, history)
        ranks = target_ranks(scores, targets)
        weight = float(ranks.shape[0])
        for name, values in (("HR", hit_rate_from_ranks(ranks, self.ks)), ("NDCG", ndcg_from_ranks(ranks, self.ks))):
            for k, mean in values.items():
                self.means[f"{name}_at_{k}"].update(mean, weight)

    def compute(self) -> dict[str, float]:
        return {k.replace("_at_", "@"): float(m.compute()) for k, m in self.means.items()}

    def reset(self) -> None:
        for m in self.means.values():
            m.reset()


def evaluate_scores(score_fn: Callable[[dict[str, Tensor]], Tensor], loader, *, exclude_history: bool = False,
                    ks: Iterable[int] = KS, device: str | torch.device = "cpu") -> dict[str, float]:
    """Run ``score_fn(batch) -> (B, N)`` over an evaluation loader and return the metric means."""
    metrics = RankingMetrics(ks).to(device)
    with torch.no_grad():
        for batch in loader:
            batch = {k: v.to(device) for k, v in batch.items()}
            scores = score_fn(batch)
            metrics.update(scores, batch["target"], batch["history"] if exclude_history else None)
    return metrics.compute()
