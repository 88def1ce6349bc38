"""Words: the BM25 tokeniser (stemmed, stopwords out) and the content words built on it."""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache

import Stemmer

# ---------------------------------------------------------------------------------------------- words

WORD = re.compile(r"[A-Za-z0-9]+(?:[-.][A-Za-z0-9]+)*")
"""A word as written: letters and digits, hyphenated and dotted terms whole ("GPT-4o", "v1.2")."""
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves paper papers propose proposed
    approach method methods using use used based show shows new work""".split()  # noqa: SIM905
)
"""English function words plus words every abstract uses ("propose", "method", "paper")."""


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """The ``WORD``s of ``text``, in order."""
    return WORD.findall(text)


def tokenize(text: str) -> list[str]:
    """BM25 tokens: lower-case ``words`` (and the parts of hyphenated/dotted ones), stopwords out, stemmed.
    Stored keyword indexes were built with it: changing it needs a re-ingest. Cached: every query tokenises
    the same candidate abstracts and sentences again (reranker features, sentence scores, the checker)."""
    return list(_tokens(text))


@lru_cache(maxsize=1 << 16)
def _tokens(text: str) -> tuple[str, ...]:
    out: list[str] = []
    for word in words(text.lower()):
        out.append(word)
        if "-" in word or "." in word:
            out.extend(p for p in re.split(r"[-.]", word) if p)
    return tuple(_stemmer().stemWords([w for w in out if w not in STOPWORDS]))


def content_words(text: str) -> set[str]:
    """Stemmed content words (``tokenize``), tokens holding digits left out (numbers are compared apart)."""
    return {t for t in tokenize(text) if not any(ch.isdigit() for ch in t)}


def key_terms(text: str, skip: Collection[str] = ()) -> list[str]:
    """The ``words`` of ``text`` that carry content (some token survives ``tokenize``; not in ``skip``, lower
    case), as written, in order, each once (case-insensitive)."""
    keep: dict[str, str] = {}
    for word in words(text):
        low = word.lower()
        if low not in keep and low not in skip and tokenize(low):
            keep[low] = word
    return list(keep.values())


def counted(count: int, noun: str) -> str:
    """A count with its noun in the right number: "1 paper", "2 papers"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"

