"""Questions about a paper's record rather than its abstract: who wrote it, when and where it appeared, where to
read it.

No abstract says who wrote it; the paper's metadata does (``Paper.authors``, ``year``, ``venue``, ``url``, read from
arXiv metadata, BibTeX or CSV: ``rag.index.formats``). "Who wrote sparsemax?" is answered with a record note naming
the paper and the asked fields ("The record of From Softmax to Sparsemax lists authors: ...; year: 2016. [1]"), or,
when its record lacks them (the bundled listing pages give no authors), a "does not state" note; the paper's best
quote follows, so the reader sees which paper it is. The citation checker accepts a record note only when its
values are the cited paper's own (``rag.answer.notes.record_matches``).
"""

from __future__ import annotations

import re

from rag.answer.notes import RECORD_FIELDS

_ASKS: dict[str, re.Pattern[str]] = {
    "authors": re.compile(
        r"\bwho (?:wrote|authored|writes|are|were|is|was) (?:the |its |their )?(?:authors?|writers?)\b|"
        r"\bwho (?:wrote|authored|published)\b|\bwritten by (?:whom|who)\b|\b(?:the |its |their )?authors? of\b|"
        r"\bwho (?:are|were) (?:the |its |their )?authors?\b|\b(?:list|name) (?:the |its |their )?authors\b|"
        r"\bwhose (?:paper|work) is\b",
        re.IGNORECASE,
    ),
    "year": re.compile(
        r"\bwhen (?:was|were|did)\b[^?]{0,80}\b(?:published|released|written|submitted|posted|presented|"
        r"come out|came out|appear(?:ed)?)\b|\b(?:what|which) year\b|\bpublication (?:date|year)\b|"
        r"\b(?:year|date) of publication\b",
        re.IGNORECASE,
    ),
    "venue": re.compile(
        r"\bwhere (?:was|were|did)\b[^?]{0,80}\b(?:published|presented|accepted|appear(?:ed)?)\b|"
        r"\b(?:what|which) (?:venue|conference|journal|workshop|proceedings)\b[^?]{0,40}"
        r"\b(?:published|presented|accepted|appear(?:ed|s)?|in)\b|\bpublished (?:in|at) (?:what|which)\b",
        re.IGNORECASE,
    ),
    "link": re.compile(
        r"\b(?:link|url|pdf|doi|arxiv (?:id|link|page|number))s?\b (?:to|of|for)\b|"
        r"\bwhere (?:can|do|could) (?:i|we|one) (?:read|find|get|download)\b",
        re.IGNORECASE,
    ),
}


def record_fields(question: str) -> tuple[str, ...]:
    """The record fields a question asks for (``RECORD_FIELDS`` order): "Who wrote X and when?" asks for none
    but the authors (a bare "when" asks nothing of the record); "When was X published, and where?" the year."""
    return tuple(f for f in RECORD_FIELDS if _ASKS[f].search(question))
