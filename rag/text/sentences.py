"""Sentences: the spans of an abstract's sentences, and quotes with gaps ("A … B" quotes A and B, in that
order, from one source: the composer's sub-sentence quotes, checked alike by the citation checker and the evals)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.types import Span

# ---------------------------------------------------------------------------------------------- sentences

ABBREVIATIONS = frozenset(
    "e.g i.e al cf vs fig figs eq eqs sec secs no nos approx resp dr prof mr ms st ca viz incl".split()  # noqa: SIM905
)
"""Words after which a period does not end a sentence. Not "etc": "A, B, etc. We show" ends one far more
often than "etc." sits before a capital mid-sentence. Single capital initials ("J. Smith") do not end one
either; a single lower-case letter ("for each x.") is a variable that can."""

# Candidate boundary: terminal punctuation (with closing quotes/brackets), whitespace, then a sentence start
# (capital, digit, opening quote/bracket). Decimals, versions, arXiv ids and URLs have no whitespace after
# their periods, so they never end a sentence.
_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])|[。！？]+[」』”’）)]*\s*(?=\S)")
"""... or a full-width "。", "！" or "？" (Chinese, Japanese), which needs no space or capital after it."""
_LAST_WORD = re.compile(r"(\S+)$")


def _is_abbreviation(text_before: str) -> bool:
    match = _LAST_WORD.search(text_before)
    if not match:
        return False
    word = match.group(1).rstrip(".").lstrip("([\"'")
    return word.lower() in ABBREVIATIONS or (len(word) == 1 and word.isupper())


def split_sentences(text: str) -> list[Span]:
    """Sentence spans of ``text``: a period, "?" or "!" (with any closing quotes or brackets) ends a sentence
    when whitespace and a sentence start follow and the word before it is no abbreviation; "。", "！" and "？"
    end one wherever text follows."""
    spans: list[Span] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if _is_abbreviation(text[start : match.start()]):
            continue
        spans.append(Span(start, match.start() + len(match.group(0).rstrip())))
        start = match.end()
    if text[start:].strip():
        spans.append(Span(start, len(text.rstrip())))
    return spans


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (``split_sentences`` spans as strings)."""
    return [text[s.start : s.end] for s in split_sentences(text)]


# ---------------------------------------------------------------------------------------------- quote gaps

GAP = " … "
"""What joins the verbatim parts of one quote where words were left out: ``"A … B"``."""
_GAP = re.compile(r"\s*(?:…|\.\.\.)\s*")
MIN_PART_WORDS = 2
"""A part of a gapped quote must hold this many words: "A … not … B" cannot stitch a claim from single words."""


def quote_parts(quote: str) -> list[str]:
    """The verbatim parts of a quote: split at "…" (or "..."), each stripped of spaces and of the ",;:" that
    ended the clause, empty parts dropped. A quote without a gap is one part."""
    parts = (p.strip().rstrip(",;:").strip() for p in _GAP.split(quote))
    return [p for p in parts if p]


def parts_in_order(parts: Sequence[str], source: str) -> bool:
    """Whether every part occurs in ``source``, each after the one before (no overlap), all in one text.
    Parts and source are compared as given: normalise both the same way first (a part's trailing spaces
    may be the next part's leading ones, so word-padded parts work). With two or more parts, each must
    hold ``MIN_PART_WORDS`` words."""
    if not parts or (len(parts) > 1 and any(len(p.split()) < MIN_PART_WORDS for p in parts)):
        return False
    position = 0
    for part in parts:
        found = source.find(part, position)
        if found < 0:
            return False
        position = found + len(part.rstrip())
    return True
