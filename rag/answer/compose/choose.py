"""Which papers a list answer names: those whose evidence really matches the question (prose answers choose
their quotes in ``rag.answer.compose.pieces``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.compose.evidence import Pick, Weights
from rag.answer.compose.selection import redundancy


@dataclass(frozen=True, slots=True)
class Listed:
    """A list answer's papers: hit -> its quotes (abstract order), the ``sure`` ones, then the ``weaker`` ones."""

    sure: dict[int, list[Pick]]
    weaker: dict[int, list[Pick]]


def listed(picks: Sequence[Pick], weights: Weights, hit_scores: Sequence[float]) -> Listed:
    """For a list question, the papers to name with their quotes. The best-ranked paper is listed; another one
    only when its best sentence holds ``list_lexical_ratio`` of the question-term share of the best-matching
    sentence overall, as a sure match when its retrieval score (``hit_scores``) is at least ``list_min_score``
    and as a weaker one when it is at least ``list_weaker_score``. At most ``list_papers`` papers, each with up
    to ``list_sentences`` quotes (a weaker one ``list_weaker_sentences``; most relevant first, no near-duplicates)."""
    if not picks:
        return Listed({}, {})
    best_lexical = max(p.lexical for p in picks) or 1.0
    own_lexical: dict[int, float] = {}
    for pick in picks:
        own_lexical[pick.hit] = max(own_lexical.get(pick.hit, 0.0), pick.lexical)

    def matches(h: int, score: float) -> bool:
        return hit_scores[h] >= score and own_lexical[h] >= weights.list_lexical_ratio * best_lexical

    sure = {h for h in own_lexical if h == 0 or matches(h, weights.list_min_score)}
    papers = [h for h in sorted(own_lexical) if h in sure or matches(h, weights.list_weaker_score)]
    papers = papers[: weights.list_papers]
    per_paper: dict[int, list[Pick]] = {h: [] for h in papers}
    for pick in sorted(picks, key=lambda p: (-p.relevance, p.hit, p.index)):
        quotes = per_paper.get(pick.hit)
        most = weights.list_sentences if pick.hit in sure else weights.list_weaker_sentences
        if quotes is None or len(quotes) >= most:
            continue
        if redundancy(pick.text, [q.text for q in quotes]) <= weights.max_redundancy:
            quotes.append(pick)
    quoted = {h: sorted(q, key=lambda p: p.index) for h, q in per_paper.items() if q}
    return Listed({h: q for h, q in quoted.items() if h in sure}, {h: q for h, q in quoted.items() if h not in sure})
