"""Paper-level ranking metrics. ``ranked`` is a list of paper ids (best first), ``gold`` a set."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

RANKING_KEYS = ("hit@1", "hit@5", "hit@10", "mrr@10", "recall@10", "ndcg@10")


def hit_at(ranked: Sequence[str], gold: Collection[str], k: int) -> float:
    """1 if any gold paper is in the top ``k``, else 0."""
    return float(any(pid in gold for pid in ranked[:k]))


def mrr_at(ranked: Sequence[str], gold: Collection[str], k: int = 10) -> float:
    """Reciprocal rank of the first gold paper in the top ``k`` (0 if none)."""
    for rank, pid in enumerate(ranked[:k], start=1):
        if pid in gold:
            return 1.0 / rank
    return 0.0


def recall_at(ranked: Sequence[str], gold: Collection[str], k: int = 10) -> float:
    """Share of gold papers found in the top ``k``."""
    return len(set(ranked[:k]) & set(gold)) / len(gold) if gold else 0.0


def ndcg_at(ranked: Sequence[str], gold: Collection[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k; the ideal DCG counts ``min(|gold|, k)`` relevant papers."""
    if not gold:
        return 0.0
    dcg = sum(1.0 / math.log2(rank + 1) for rank, pid in enumerate(ranked[:k], start=1) if pid in gold)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(gold), k) + 1))
    return dcg / ideal


def ranking_metrics(ranked: Sequence[str], gold: Collection[str]) -> dict[str, float]:
    """Every ranking metric of the eval harness for one question, keys as in reports."""
    return {
        "hit@1": hit_at(ranked, gold, 1),
        "hit@5": hit_at(ranked, gold, 5),
        "hit@10": hit_at(ranked, gold, 10),
        "mrr@10": mrr_at(ranked, gold, 10),
        "recall@10": recall_at(ranked, gold, 10),
        "ndcg@10": ndcg_at(ranked, gold, 10),
    }
