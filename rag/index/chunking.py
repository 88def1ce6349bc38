"""Token-aware chunking.

One chunk per paper (title + abstract). An abstract over ``MAX_CHUNK_TOKENS`` is split on sentence
boundaries (``rag.text.split_sentences``) with one sentence of overlap, each piece keeping the title.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.index.tokens import count_tokens, truncate_tokens
from rag.text import split_sentences
from rag.types import Chunk, Paper, Span

MAX_CHUNK_TOKENS = 512


def _pieces(spans: Sequence[Span], budget: int, abstract: str) -> list[Span]:
    """The sentence spans, with any sentence over ``budget`` tokens cut into pieces that fit (at the last
    whitespace that fits, or mid-word for a single over-long word)."""
    pieces: list[Span] = []
    for span in spans:
        start = span.start
        while start < span.end:
            if count_tokens(abstract[start : span.end]) <= budget:
                pieces.append(Span(start, span.end))
                break
            lo, hi = start + 1, span.end  # longest prefix within budget (binary search on characters)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if count_tokens(abstract[start:mid]) <= budget:
                    lo = mid
                else:
                    hi = mid - 1
            end = lo
            gap = max(abstract.rfind(" ", start, end + 1), abstract.rfind("\n", start, end + 1))
            if gap > start:
                end = gap
            pieces.append(Span(start, len(abstract[:end].rstrip())))
            start = end
            while start < span.end and abstract[start].isspace():
                start += 1
    return pieces


def _group(pieces: Sequence[Span], budget: int, abstract: str) -> list[tuple[int, int]]:
    """Greedy groups ``[i, j)`` of consecutive pieces within ``budget`` tokens, each group starting with
    the last piece of the one before (one sentence of overlap) when that still leaves room for a new one."""
    costs = [count_tokens(abstract[p.start : p.end]) + 1 for p in pieces]
    groups: list[tuple[int, int]] = []
    i = 0
    while i < len(pieces):
        j, used = i, 0
        while j < len(pieces) and (j == i or used + costs[j] <= budget):
            used += costs[j]
            j += 1
        groups.append((i, j))
        if j >= len(pieces):
            break
        i = j - 1 if j - 1 > i and costs[j - 1] + costs[j] <= budget else j
    return groups


def chunk_paper(paper: Paper, max_tokens: int = MAX_CHUNK_TOKENS) -> list[Chunk]:
    """Chunks of a paper: one if title + abstract fit in ``max_tokens``, else overlapping pieces, each
    within ``max_tokens`` and starting with the title."""
    whole = f"{paper.title}\n{paper.abstract}"
    n_tokens = count_tokens(whole)
    if n_tokens <= max_tokens:
        return [Chunk(f"{paper.id}:0", paper.id, 0, whole, n_tokens)]
    title = paper.title
    if count_tokens(title) > max_tokens // 2:  # absurdly long title: keep its start in every chunk
        title = truncate_tokens(title, max_tokens // 2)
    spans = split_sentences(paper.abstract)
    budget = max_tokens - count_tokens(title) - 1
    while True:
        pieces = _pieces(spans, budget, paper.abstract)
        chunks = []
        for index, (i, j) in enumerate(_group(pieces, budget, paper.abstract)):
            text = f"{title}\n{paper.abstract[pieces[i].start : pieces[j - 1].end]}"
            chunks.append(Chunk(f"{paper.id}:{index}", paper.id, index, text, count_tokens(text)))
        if all(c.n_tokens <= max_tokens for c in chunks) or budget <= 8:
            return chunks
        budget = budget * 9 // 10  # token counts of joined text overshot the per-piece estimate
