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

from rag.answer.compose.slots import question_parts
from rag.answer.notes import RECORD_FIELDS
from rag.text import STOPWORDS, tokenize

_PAPER = r"(?:the |this |that |its |their )?(?:[\w.'-]+ ){0,6}?"
"""Up to six words naming a paper ("the sparsemax paper", "TabPFN")."""
_ASKS: dict[str, re.Pattern[str]] = {
    "authors": re.compile(
        r"^\W*(?:who (?:wrote|authored|published)\b|who (?:are|were|is|was) (?:the |its |their )?(?:authors?|"
        r"writers?)\b|(?:list |name |give me )?(?:the |its |their )?authors? of\b(?!.*\b(?:say|says|said|claim|"
        r"claims|find|found|show|shows|argue|argues|propose|proposes|acknowledge|acknowledges|report|reports)\b)|"
        r"by whom was\b|who (?:is|was) (?:the |its )?(?:first|last|lead|senior|corresponding) author\b)",
        re.IGNORECASE,
    ),
    "year": re.compile(
        rf"^\W*(?:when|(?:in )?(?:what|which) year) (?:was|were|did) {_PAPER}(?:paper|article|preprint|work)?\s*"
        r"(?:first )?(?:published|released|written|submitted|posted|come out|came out)\b|"
        r"^\W*(?:the )?(?:publication|release) (?:date|year) of\b|^\W*(?:what|which) year is\b",
        re.IGNORECASE,
    ),
    "venue": re.compile(
        rf"^\W*where (?:was|were) {_PAPER}(?:paper|article|work)?\s*(?:published|presented|accepted)\b|"
        rf"^\W*(?:at |in )?(?:what|which) (?:venue|conference|journal|workshop) (?:was|were|did|is) "
        rf"{_PAPER}(?:paper|article|work)?\s*(?:published|presented|accepted|appear(?:ed)?)\b|"
        r"^\W*(?:the )?(?:venue|journal|conference) of\b",
        re.IGNORECASE,
    ),
    "link": re.compile(
        r"\b(?:link|url)s? (?:to|of|for) (?:the |this |that )?(?:[\w.'-]+ ){0,5}?(?:paper|article|preprint|"
        r"publication)s?\b|\b(?:arxiv (?:id|link|page|number)|doi)s? (?:of|for)\b|"
        r"^\W*(?:a |the )?(?:link|url)s? (?:to|of|for) (?:it|this|that)(?: one| paper)?\W*$|"
        r"^\W*where (?:can|do|could) (?:i|we|one) (?:read|download)\b",
        re.IGNORECASE,
    ),
}
"""A record question asks for the record itself, as a question opens: "Who wrote X?", "When was X published?",
"Which venue was X published at?", "link to the X paper". "What do the authors of X claim?", "When did the
attention sink appear?" or "Is there a link to the code?" ask about the abstract's content."""


def record_fields(question: str) -> tuple[str, ...]:
    """The record fields a question asks for (``RECORD_FIELDS`` order), each part of it (``question_parts``)
    read on its own: "Who wrote X, and when was it published?" asks for the authors and the year."""
    parts = question_parts(question)
    return tuple(f for f in RECORD_FIELDS if any(_ASKS[f].search(part) for part in parts))


RECORD_WORDS = frozenset(tokenize(
    "who wrote written writes authored author authors writer writers published publish publication released release "
    "year date when where which what venue conference journal workshop proceedings link links url pdf doi arxiv "
    "id number read download paper article preprint work first come came out submitted posted presented accepted "
    "appear appeared list name give me whom"
))
"""The words of a record question that ask for the record, not name the paper."""


def names_by_title(question: str, title: str) -> bool:
    """Whether the question names the paper by its title's words: every content word it has beside the record
    words is one of the title's ("Who wrote the sparsemax paper?"; not "Who wrote Attention Is All You Need?"
    of "Limitations of Normalization in Attention Mechanism")."""
    own = {t for t in tokenize(question) if t not in RECORD_WORDS and t not in STOPWORDS}
    return bool(own) and own <= set(tokenize(title))


_VENUE = re.compile(r"\b(?:presented|published|accepted|appear(?:s|ed)?) (?:at|in|to) (?:the )?(?:[\w'-]+ ){0,3}?"
                    r"(?:conference|workshop|journal|proceedings|symposium|ICLR|NeurIPS|NIPS|ICML|ACL|EMNLP|NAACL|"
                    r"CVPR|ICCV|ECCV|AAAI|IJCAI|KDD|SIGIR)\b", re.IGNORECASE)
"""A venue named in an abstract's own words: "was presented at the last ICLR conference", "accepted at NeurIPS"."""


def venue_stated(abstract: str) -> bool:
    """Whether ``abstract`` says where something appeared (``_VENUE``): then "where was it presented?" is answered
    by its quote, not told that the record gives no venue."""
    return _VENUE.search(abstract) is not None
