"""Compared sides found by their titles: a paper the question describes by its title's words ("the candidate set
query paper"), writes out ("'In-context learning and Occam's razor'") or names by a lower-case phrase ("early
dropout"). ``rag.answer.compose.contrast`` finds the named ones and puts them together."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.compose.naming import introduces, proposes
from rag.text import STOPWORDS, normalize_title, short_title, tokenize
from rag.types import Retrieved

GENERIC = frozenset(tokenize(
    "model models learning learn language languages large neural network networks deep representation "
    "representations training train data via using towards toward based approach method methods framework "
    "efficient improving improved improve paper study analysis new novel beyond"
))
"""Title words too common in ML titles to say which paper the question names."""

CUE_WORDS = frozenset(tokenize(
    "differ differs difference differences compare compared comparison contrast contrasts versus vs each both "
    "which one ones paper papers method methods approach approaches"
))
"""Question words that ask for the comparison, not for an aspect of it."""


@dataclass(frozen=True, slots=True)
class Compared:
    """A compared name and the hit that stands for it; ``hit`` is None when no retrieved paper is about it.
    ``titled``: the paper claims the name: its title names it, or its abstract says it introduces it ("we
    propose X"), not only that two of its sentences name it."""

    name: str
    hit: int | None
    titled: bool = False


_MENTION_BREAK = re.compile(r"\s*(?:,|;|\bvs\.?(?=\s)|\bversus\b|\band\b|\bor\b|\bwith\b|\bfrom\b|\bagainst\b)\s*",
                            re.IGNORECASE)
MENTION_SHARE = 0.4
"""A mention names a paper's title when this share of its specific words (and two of them) are title words."""


def mentions(question: str) -> list[set[str]]:
    """The specific words of each part of ``question`` between coordinators ("and", "or", "vs", "with", "from",
    ","): "the candidate set query paper", "the Beta scoring active learning paper on how they pick ..."."""
    parts = (_specific(part) - CUE_WORDS for part in _MENTION_BREAK.split(question))
    return [part for part in parts if part]


def titled_papers(question: str, retrieved: Retrieved, taken: set[int]) -> list[Compared]:
    """Retrieved papers (not in ``taken``) the question names by their title, best-ranked first: a part of the
    question (``mentions``) holds every specific word of the title's short name (before ":"), or at least two of
    the title's specific words making ``MENTION_SHARE`` of the part's. Each part names at most one paper."""
    out: list[Compared] = []
    used = set(taken)
    for part in mentions(question):
        for h, hit in enumerate(retrieved.hits):
            name = short_title(hit.paper.title)
            head = _specific(name) if name != " ".join(hit.paper.title.split()) else set()
            shared = _specific(hit.paper.title) & part
            by_title = len(shared) >= 2 and len(shared) >= MENTION_SHARE * len(part)
            if h not in used and ((head and head <= part) or by_title):
                used.add(h)
                out.append(Compared(name, h, True))
                break
    return sorted(out, key=lambda c: c.hit if c.hit is not None else -1)


def _specific(text: str) -> set[str]:
    return {t for t in tokenize(text) if t not in STOPWORDS and t not in GENERIC and len(t) >= 3}


def quoted_titles(question: str, retrieved: Retrieved) -> list[Compared]:
    """The retrieved papers whose title, or its head before ":" or "?", the question writes out: "How do 'What and
    How does In-Context Learning Learn?' and 'In-context learning and Occam's razor' explain ...?" (their "and"
    splits no mention, their "In-Context" names no other paper). A written-out title counts when it is quoted,
    has four words or more, or a coined word; "open-set recognition" alone is a topic, not "Open-Set Recognition:
    a Good Closed-Set Classifier ...". Each comes back named by the words the question wrote."""
    asked = f" {normalize_title(question)} "
    out: list[Compared] = []
    for h, hit in enumerate(retrieved.hits):
        title = hit.paper.title
        heads = (title, *(title[: i + 1] for i, ch in enumerate(title) if ch in ":?"))
        written = next((t for t in heads if len(normalize_title(t).split()) >= 3
                        and f" {normalize_title(t)} " in asked and _plainly_a_title(t, question)), None)
        if written is not None:
            out.append(Compared(written.rstrip(":").strip(), h, True))
    return out


_QUOTES = "'\"‘’“”"


def _plainly_a_title(title: str, question: str) -> bool:
    """Whether ``title`` (written out in ``question``) names a paper, not a topic: four words or more, a coined word
    ("LoRA", "BT2"; not the title-case "Open-Set"), or quotes around it in the question."""
    words = re.findall(r"[^\W_]+", title)  # "Open-Set" is two title-case words, not a coined one
    if len(words) >= 4 or any(any(c.isupper() for c in w[1:]) or any(c.isdigit() for c in w) for w in words):
        return True
    pattern = r"\W+".join(map(re.escape, words))
    return re.search(rf"[{_QUOTES}]\s*{pattern}\W*\s*[{_QUOTES}]", question, re.IGNORECASE) is not None


def without_titles(question: str, quoted: Sequence[Compared]) -> str:
    """``question`` without the titles it writes out (``quoted_titles``), so their words name no other paper."""
    for c in quoted:
        words = re.findall(r"[^\W_]+", c.name)
        question = re.sub(r"\W+".join(map(re.escape, words)), " ", question, flags=re.IGNORECASE)
    return question


def phrase_sides(question: str, retrieved: Retrieved, found: Sequence[Compared]) -> list[Compared]:
    """The compared sides typed as a short lower-case phrase ("early dropout" of "compare early dropout and
    mixout"): for each such part of the question (``mentions``' parts, two to four words, no found name), the
    best-ranked hit not yet compared whose abstract introduces the phrase (``introduces``: two sentences name it,
    or "we propose" it)."""
    used = {c.hit for c in found if c.hit is not None}
    names = {c.name.lower() for c in found}
    out: list[Compared] = []
    for part in _MENTION_BREAK.split(question):
        words = [w for w in re.findall(r"[\w-]+", part) if w.lower() not in STOPWORDS
                 and not set(tokenize(w)) <= CUE_WORDS]
        phrase = " ".join(words)
        if not 2 <= len(words) <= 4 or not phrase.islower() or any(n in phrase for n in names):
            continue
        hits = enumerate(retrieved.hits)
        h = next((h for h, hit in hits if h not in used and introduces(hit.paper.abstract, phrase)), None)
        if h is not None:
            used.add(h)
            out.append(Compared(phrase, h, proposes(retrieved.hits[h].paper.abstract, phrase)))
    return out
