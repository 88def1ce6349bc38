"""Metrics over a whole set of eval items: abstention quality, and the mean and percentile every aggregate of
``rag.evals.scoring`` is made of."""

from __future__ import annotations

from collections.abc import Collection, Sequence


def abstention_metrics(answerable: Sequence[bool], abstained: Sequence[bool]) -> dict[str, float | None]:
    """Abstention quality over items, "refusing" being the positive class.

    ``abstention_accuracy``: answerable items answered plus unanswerable items refused, over all items.
    ``over_abstention_rate``: answerable items refused, over answerable items.
    ``abstain_precision``: refusals that were on unanswerable items, over refusals (None: no refusal).
    ``abstain_recall``: unanswerable items refused, over unanswerable items (None: none in the set).
    """
    pairs = list(zip(answerable, abstained, strict=True))
    n = len(pairs)
    correct = sum(1 for a, r in pairs if a != r)
    n_answerable = sum(1 for a, _ in pairs if a)
    n_unanswerable = n - n_answerable
    refused = sum(1 for _, r in pairs if r)
    true_refusals = sum(1 for a, r in pairs if r and not a)
    return {
        "abstention_accuracy": correct / n if n else None,
        "over_abstention_rate": sum(1 for a, r in pairs if a and r) / n_answerable if n_answerable else None,
        "abstain_precision": true_refusals / refused if refused else None,
        "abstain_recall": true_refusals / n_unanswerable if n_unanswerable else None,
    }

def mean(values: Collection[float | None]) -> float | None:
    """Mean of the values that are not None (None when there are none)."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile ``q`` (0..100) of ``values`` (None when empty)."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)
