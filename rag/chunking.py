"""Sentence splitting and token-aware chunking.

One chunk per paper (title + abstract). An abstract over ``MAX_CHUNK_TOKENS`` is split on sentence
boundaries with one sentence of overlap, each piece keeping the title. Sentence spans are kept so that
answers can cite and highlight the exact sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.tokens import count_tokens
from rag.types import Chunk, Paper, Span

MAX_CHUNK_TOKENS = 512
CHUNKER_VERSION = "1"

# Words after which a period does not end a sentence.
_ABBREVIATIONS = frozenset(
    "e.g i.e al cf vs etc.al fig figs eq eqs sec secs no nos approx resp dr prof mr ms st ca viz incl".split()
)
# Candidate boundary: terminal punctuation (with closing quotes/brackets), whitespace, then a
# sentence start (capital, digit, opening quote/bracket).
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_LAST_WORD = re.compile(r"(\S+)$")


def _is_abbreviation(text_before: str) -> bool:
    match = _LAST_WORD.search(text_before)
    if not match:
        return False
    word = match.group(1).lower().rstrip(".").lstrip("([\"'")
    # single capital initials ("J. Smith"), and known abbreviations
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of ``text``. Handles e.g./i.e./et al., decimals, versions, arXiv ids and URLs
    (a period only ends a sentence when followed by whitespace and a sentence start)."""
    spans: list[Span] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        closing = match.group(0).rstrip()
        end = match.start() + len(closing)
        if _is_abbreviation(text[start : match.start()]):
            continue
        spans.append(Span(start, end))
        start = match.end()
    if text[start:].strip():
        spans.append(Span(start, len(text.rstrip())))
    return spans


def sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


def _group(spans: Sequence[Span], budget: int, abstract: str) -> list[tuple[int, int]]:
    """Greedy groups of consecutive sentences within ``budget`` tokens, one sentence of overlap."""
    groups: list[tuple[int, int]] = []
    i = 0
    while i < len(spans):
        j, used = i, 0
        while j < len(spans):
            cost = count_tokens(abstract[spans[j].start : spans[j].end]) + 1
            if j > i and used + cost > budget:
                break
            used += cost
            j += 1
        groups.append((i, j))
        if j >= len(spans):
            break
        i = max(j - 1, i + 1)
    return groups


def chunk_paper(paper: Paper, max_tokens: int = MAX_CHUNK_TOKENS) -> list[Chunk]:
    """Chunks of a paper: one if title + abstract fit in ``max_tokens``, else overlapping pieces."""
    whole = f"{paper.title}\n{paper.abstract}"
    n_tokens = count_tokens(whole)
    if n_tokens <= max_tokens:
        return [Chunk(f"{paper.id}:0", paper.id, 0, whole, n_tokens)]
    spans = split_sentences(paper.abstract)
    budget = max(32, max_tokens - count_tokens(paper.title) - 1)
    chunks = []
    for index, (i, j) in enumerate(_group(spans, budget, paper.abstract)):
        text = f"{paper.title}\n{paper.abstract[spans[i].start : spans[j - 1].end]}"
        chunks.append(Chunk(f"{paper.id}:{index}", paper.id, index, text, count_tokens(text)))
    return chunks
