"""Which papers a list answer names: those whose evidence really matches the question (prose answers choose
their quotes in ``rag.answer.compose.pieces``)."""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer.compose.evidence import Pick, Weights
from rag.answer.compose.selection import redundancy


def listed(picks: Sequence[Pick], weights: Weights, hit_scores: Sequence[float]) -> dict[int, list[Pick]]:
    """For a list question, hit -> its quotes (abstract order). The best-ranked paper is listed; another one
    only when its evidence really matches: its retrieval score (``hit_scores``) is at least
    ``list_min_score`` and its best sentence holds ``list_lexical_ratio`` of the question-term share of the
    best-matching sentence overall. At most ``list_papers`` papers, each with up to ``list_sentences`` quotes
    (most relevant first, no near-duplicates)."""
    if not picks:
        return {}
    best_lexical = max(p.lexical for p in picks) or 1.0
    own_lexical: dict[int, float] = {}
    for pick in picks:
        own_lexical[pick.hit] = max(own_lexical.get(pick.hit, 0.0), pick.lexical)
    def matches(h: int) -> bool:
        return hit_scores[h] >= weights.list_min_score and own_lexical[h] >= weights.list_lexical_ratio * best_lexical

    papers = [h for h in sorted(own_lexical) if h == 0 or matches(h)][: weights.list_papers]
    per_paper: dict[int, list[Pick]] = {h: [] for h in papers}
    for pick in sorted(picks, key=lambda p: (-p.relevance, p.hit, p.index)):
        quotes = per_paper.get(pick.hit)
        if quotes is None or len(quotes) >= weights.list_sentences:
            continue
        if redundancy(pick.text, [q.text for q in quotes]) <= weights.max_redundancy:
            quotes.append(pick)
    return {h: sorted(q, key=lambda p: p.index) for h, q in per_paper.items() if q}
