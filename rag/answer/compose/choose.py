"""Which scored sentences an answer quotes: coverage of the question within a word budget (MMR-style), and for
list questions the papers whose evidence really matches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from rag.answer.compose.scoring import Pick, Weights
from rag.answer.compose.selection import redundancy
from rag.answer.compose.spans import join_kept, pieces
from rag.text import has_digit, normalize_verbatim, tokenize


def _words(text: str) -> int:
    return len(text.split())


def select(picks: Sequence[Pick], weights: Weights, term_total: float = 1.0) -> list[Pick]:
    """The best sentences: within ``keep_ratio`` of the best score, at most ``per_paper`` per paper and
    ``max_papers`` papers, no near-duplicates; after the first, a sentence must add question terms not yet
    covered (``min_gain`` of ``term_total``) unless it scores ``strong_ratio`` of the best, and fit in
    ``word_budget``. Ordered by paper (best paper first), then abstract order."""
    if not picks:
        return []
    best = picks[0].score
    chosen: list[Pick] = []
    papers: list[int] = []
    seen: set[str] = set()
    covered: set[str] = set()
    used = 0
    for pick in picks:
        if len(chosen) >= weights.max_sentences or pick.score < best * weights.keep_ratio:
            break
        if pick.hit not in papers and len(papers) >= weights.max_papers:
            continue
        if papers and pick.hit != papers[0] and pick.score < best * weights.other_paper_ratio:
            continue
        if sum(1 for c in chosen if c.hit == pick.hit) >= weights.per_paper:
            continue
        key = normalize_verbatim(pick.text)
        if key in seen or len(key) < 12:
            continue
        if redundancy(pick.text, [c.text for c in chosen]) > weights.max_redundancy:
            continue
        if chosen:
            gain = pick.lexical * len(pick.covered - covered) / max(len(pick.covered), 1)
            if gain < weights.min_gain and pick.score < best * weights.strong_ratio:
                continue
            if used + _words(pick.shown) > weights.word_budget:
                continue
        seen.add(key)
        chosen.append(pick)
        covered |= pick.covered
        used += _words(pick.shown)
        if pick.hit not in papers:
            papers.append(pick.hit)
    return sorted(chosen, key=lambda p: (papers.index(p.hit), p.index))


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


def select_pieces(
    picks: Sequence[Pick], weights: Weights, terms: Mapping[str, float], wants_number: bool
) -> list[Pick]:
    """Prose answers quoted below the sentence: the sentences ``select`` would consider (up to
    ``piece_sentences`` of them), cut into clause pieces (``rag.answer.compose.spans.pieces``), and the best
    pieces kept within ``word_budget``: a piece scores its sentence's score plus ``piece_lexical`` times
    its own share of the question's term weight (plus ``piece_number`` for a number when a quantity is asked).
    Each kept sentence comes back with its kept pieces as its quote (``join_kept``), in answer order."""
    candidates = select(picks, replace(weights, max_sentences=weights.piece_sentences, word_budget=10**6,
                                       min_gain=0.0))
    if not candidates:
        return []
    total = sum(terms.values()) or 1.0
    scored: list[tuple[float, int, int, int]] = []  # score, candidate, piece, words
    spans = [pieces(c.text, weights.trim.min_piece_words) for c in candidates]
    for c, (pick, cuts) in enumerate(zip(candidates, spans, strict=True)):
        for k, (a, b) in enumerate(cuts):
            text = pick.text[a:b]
            tokens = set(tokenize(text))
            share = sum(w for t, w in terms.items() if t in tokens) / total
            number = wants_number and has_digit(text)
            if share < weights.piece_min_share and not number and len(cuts) > 1:
                continue
            score = pick.score + weights.piece_lexical * share + (weights.piece_number if number else 0.0)
            scored.append((score, c, k, _words(text)))
    scored.sort(key=lambda s: (-s[0], s[1], s[2]))
    keep = [[False] * len(cuts) for cuts in spans]
    used = 0
    for _score, c, k, n in scored:
        if used and used + n > weights.word_budget:
            continue
        keep[c][k] = True
        used += n
    out = []
    for pick, cuts, kept in zip(candidates, spans, keep, strict=True):
        if any(kept):
            out.append(replace(pick, quote=join_kept(pick.text, cuts, kept)))
    return out
