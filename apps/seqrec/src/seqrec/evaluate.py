"""Full-ranking evaluation: HR@k and NDCG@k over all items, one target per user.

For a user whose target has 1-based rank ``r`` among all ``N`` items, ``HR@k = [r <= k]`` and
``NDCG@k = [r <= k] / log2(r + 1)`` (one relevant item, so the ideal DCG is 1). Each batch costs
one matrix product ``(B, D) x (D, N)`` and one comparison pass over the ``(B, N)`` scores (the
target's rank, equal to its position in a top-k when scores are distinct, and cheaper than a
top-k); history items can be excluded first (scores set to -inf). Means over users are accumulated
with torchmetrics' ``MeanMetric`` (correct under DDP).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
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


def target_rank(scores: Tensor, targets: Tensor) -> Tensor:
    """1-based rank of each target among all items, ties counted ahead (pessimistic):
    ``r_b = #{j : s_bj >= s_b,target}`` (the target counts itself once). One comparison pass over
    the ``(B, N)`` scores; equal to ``contrastkit.eval.ranking.target_ranks(ties="pessimistic")``
    for one relevant item (tested), without its per-row positive masks. A target excluded with
    ``-inf`` gets rank ``N`` (a miss)."""
    target_scores = scores.gather(1, (targets - 1)[:, None])
    return (scores >= target_scores).sum(1)


def rank_metrics(scores: Tensor, targets: Tensor, ks: Iterable[int] = KS) -> dict[str, Tensor]:
    """Per-user ``HR@k`` and ``NDCG@k`` (each ``(B,)``) from ``scores`` (B, N) over items ``1..N``
    and ``targets`` (B,) ids in ``1..N`` (ranks by :func:`target_rank`)."""
    r = target_rank(scores, targets).float()
    out = {}
    for k in sorted(ks):
        hit = r <= k
        out[f"HR@{k}"] = hit.float()
        out[f"NDCG@{k}"] = torch.where(hit, 1.0 / torch.log2(r + 1.0), torch.zeros_like(r))
    return out


class RankingMetrics(torch.nn.Module):
    """Accumulates HR@k / NDCG@k means over batches (a module so that Lightning moves it)."""

    def __init__(self, ks: Iterable[int] = KS) -> None:
        super().__init__()
        self.ks = tuple(sorted(ks))
        self.means = torch.nn.ModuleDict(
            {f"{m}@{k}".replace("@", "_at_"): MeanMetric() for m in ("HR", "NDCG") for k in self.ks}
        )

    def update(self, scores: Tensor, targets: Tensor, history: Tensor | None = None) -> None:
        if history is not None:
            mask_history_(scores, history)
        for name, values in rank_metrics(scores, targets, self.ks).items():
            self.means[name.replace("@", "_at_")].update(values)

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

