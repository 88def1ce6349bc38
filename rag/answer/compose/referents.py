"""What the last answer cited and how a follow-up points at it: ordinals, groups, "it", comparisons of them,
corrections that say they were wrong, and the hits behind them."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.compose.chat import (
    ASPECTS,
    CORRECTION,
    EACH,
    FIRST_N,
    NUMBERED,
    ORDINAL_WORD,
    ORDINAL_WORDS,
    WHICH_ONE,
    turns,
)
from rag.answer.compose.cited import Cited, cited_sources, markers_first, refers_to, sure_sources
from rag.answer.compose.naming import coined_names, own_subject, subject
from rag.answer.compose.restate import described_switch
from rag.answer.compose.standalone import stands_alone
from rag.text import QUESTION_WORDS, STOPWORDS, named_entities, tokenize
from rag.types import Retrieved

_ORDINAL = re.compile(rf"\b{ORDINAL_WORD}|{NUMBERED}", re.IGNORECASE)
"""A pointer at one source of the last answer: "the second (one)" or a number (``NUMBERED``)."""
_ORDINALS = {**{w: i for i, w in enumerate(ORDINAL_WORDS)}, "former": 0, "last": -1, "latter": -1}


def _ordinal_index(match: re.Match[str]) -> int:
    """The 0-based source index an ``_ORDINAL`` match points at (-1: the last)."""
    number = next((match.group(g) for g in ("nth", "marker", "label", "hash", "end") if match.group(g)), None)
    return int(number) - 1 if number else _ORDINALS[match.group(0).split()[-1].lower()]  # "the second" -> 1
_COUNTS = {"two": 2, "three": 3, "four": 4, "2": 2, "3": 3, "4": 4}
_GROUP = re.compile(
    rf"\b(?:of them|of these|of those|(?:these|those) (?:papers|methods|works|approaches)|both|either|which ones?|"
    rf"{EACH})\b",
    re.IGNORECASE
)
_COMPARATIVE = r"(?:better|best|faster|slower|more|less|fewer|cheaper|larger|smaller|stronger|higher|lower)\b"
_WHICH_BETTER = re.compile(rf"\bwhich (?:(?:one|of them|of the two)\b[^?]{{0,40}}?\b|is ){_COMPARATIVE}", re.IGNORECASE)
""""Which one is better?", "which of the two needs less data?", "which is faster?" (not "which is the best loss")."""


_EACH_OF_THEM = re.compile(r"\b(?:do|does|did|are|were|can) (?:both|each)\b|\bboth of them\b", re.IGNORECASE)


def asks_which_is_better(question: str) -> bool:
    """Whether a follow-up asks which of the papers pointed at is better, faster, cheaper ... ("which one is
    better?"): a comparison of them, each on its own line, answered although the abstention model doubts it."""
    return _WHICH_BETTER.search(question) is not None


def asks_of_each(question: str) -> bool:
    """Whether a follow-up asks the same of both or each paper pointed at ("do both need training?", "is the
    first better than the second?"): one line each, but refused like any question when the abstention model
    doubts it ("does each of them run on a Raspberry Pi?")."""
    ordinals = len(_ORDINAL.findall(question)) >= 2 and re.search(_COMPARATIVE, question, re.IGNORECASE)
    first_n = FIRST_N.search(question) is not None and _PICKS_ONE.search(question) is None
    return _EACH_OF_THEM.search(question) is not None or bool(ordinals) or first_n or asks_which_is_better(question)


_PICKS_ONE = re.compile(r"\b(?:which|any|either|none|whichever|who)\b", re.IGNORECASE)
"""Wording that picks among the papers pointed at ("which of the first two ...", "do any of the first three ...")
rather than asking the same of each."""


_THEM = r"(?:they|them|these|those|the two|the pair|both|the (?:first|top) (?:two|three|four|[234]))"
BOTH_COMPARED = re.compile(
    rf"\b{_THEM} (?:\w+ )?differ\w*\b|\bhow (?:do|does|did|are|were|would) {_THEM} (?:\w+ )?compare"
    rf"(?:\s*\??\s*$| (?:with|to|against) (?:each other|one another))|\b(?:compare|contrast)\s+{_THEM}\b|"
    rf"\bdifferences? (?:between|among) {_THEM}\b|\b(?:{_THEM} (?:are|is)|are {_THEM}) (?:\w+ )?different\b",
    re.IGNORECASE,
)
"""A comparison of "them" with each other ("How do they differ?", "Compare the two", "How do they compare?"): every
paper of the last answer. Not "What baselines do they compare against?" or "Do they compare to X?": there "they"
are the authors, and the question is about one paper at a time."""
_AUTHORS_COMPARE = re.compile(r"\b(?:they|them|their)\b.*\b(?:compar\w*|contrast\w*|differ\w*|baselines?)\b|"
                              r"\b(?:compar\w*|contrast\w*|differ\w*|baselines?)\b.*\b(?:they|them|their)\b",
                              re.IGNORECASE)
"""After an answer from one paper, "they" comparing is its authors comparing ("What baselines do they compare
against?"), as a comparison of "them" read it before comparisons needed two papers."""
_SINGULAR = re.compile(r"\b(?:it|its|this (?:paper|method|model|approach|work)|the (?:paper|model|method|approach|"
                       r"work|authors))\b", re.IGNORECASE)


def referents(question: str, history: Sequence[dict[str, str]]) -> list[Cited]:
    """The sources of the last assistant answer that ``question`` points at: "the second one" that source, "the
    first two" those, "which of them"/"both"/"how do they differ" all of them, "it"/"this paper" the first one.
    An ordinal past the last answer's sources counts in the latest answer that has that many ("and the fifth?"
    after "what does the fourth one do?" is the fifth paper of the list before), and so does one that points back
    ("go back to the first paper": the first paper of the list before the last answer). [] when it points at none,
    when the question stands alone, or when the last answer cited nothing."""
    answers = turns(history, "assistant")
    if not answers or CORRECTION.search(question):  # "no, I meant ...": not those
        return []
    cited = cited_sources(answers[-1])
    users = turns(history, "user")
    named = _named_one(question, cited)  # "what does the PolyCom one claim?", "the one that uses a minimax game"
    if named is not None:
        return [named]
    if described_switch(question) != question:  # "and the induction head paper - why ...?": not "it", another one
        return []
    if not cited or (stands_alone(question) and not picks_among(question, cited, users[-1] if users else "")):
        return []
    first = FIRST_N.search(question)
    if first:  # "compare the first two"
        count = _COUNTS[first.group("n").lower()]
        return _with_sources(answers, count, cited)[:count]
    ordinals = [_ordinal_index(m) for m in _ORDINAL.finditer(question)]  # "is the first better than the second?"
    if ordinals:
        earlier = _earlier_list(answers, max(ordinals) + 1) if _BACK.search(question) else []
        listed = earlier or (_with_sources(answers, max(ordinals) + 1, cited) if min(ordinals) >= 0 else cited)
        picked = [listed[n] for n in dict.fromkeys(ordinals) if -len(listed) <= n < len(listed)]
        return picked if len(picked) == len(dict.fromkeys(ordinals)) else []
    if _GROUP.search(question) or BOTH_COMPARED.search(question) or asks_which_is_better(question):
        return sure_sources(answers[-1]) or cited  # "them": not a list's weaker matches
    if _SINGULAR.search(question) or (len(cited) == 1 and _AUTHORS_COMPARE.search(question)):
        return [cited[0]]  # "it"; "what do they compare against?" after an answer from one paper: its authors
    if len(cited) == 1 and _elliptical(question):  # "what benchmarks?" after one paper's answer: that paper's
        return [cited[0]]
    return []


_THEY = re.compile(r"\b(?:they|them|their)\b", re.IGNORECASE)


def authors_pointer(question: str, history: Sequence[dict[str, str]]) -> list[Cited]:
    """``referents``, or, when the last answer cites one paper and the question says "they" ("what GPU did they
    use?"), that paper: its authors are meant. (Read this way only to decide whether the chat's paper may answer a
    doubted question; the query and the quotes keep ``referents``.)"""
    found = referents(question, history)
    if found:
        return found
    answers = turns(history, "assistant")
    cited = cited_sources(answers[-1]) if answers else []
    if len(cited) != 1 or not _THEY.search(question) or CORRECTION.search(question) or stands_alone(question):
        return []  # "What do LLMs learn when they are trained on code?" asks afresh
    return cited[:1]


_NAMED = re.compile(r"\bthe\s+(?P<name>[\w^.+-]+(?:\s+[\w^.+-]+)?)\s+(?:one|paper|method|model|approach)\b|"
                    r"\bthe one (?:that|which|with|where|about|on|using)\s+(?P<about>[^?.!]+)", re.IGNORECASE)
"""A pointer at one listed source by what it is called or does: "the PolyCom one", "the nullspace paper", "the one
that uses a minimax game"."""
_NOT_A_NAME = frozenset(tokenize("same other original previous next last former latter whole new above first second "
                                 "third fourth fifth"))


def _named_one(question: str, cited: Sequence[Cited]) -> Cited | None:
    """The one source of the last answer (of two or more) a ``_NAMED`` pointer picks: the only one whose cited text
    (list label and quotes) holds every content word of the name ("PolyCom"), or shares the most content words
    with what it is said to do; None when none or several do."""
    match = _NAMED.search(question)
    if match is None or len(cited) < 2:
        return None
    words = set(tokenize(match.group("name") or match.group("about"))) - STOPWORDS - QUESTION_WORDS
    if not words or words & _NOT_A_NAME:
        return None
    shared = [len(words & set(tokenize(" ".join(c.texts)))) for c in cited]
    need = len(words) if match.group("name") else 1
    best = max(shared)
    return cited[shared.index(best)] if best >= need and shared.count(best) == 1 else None


def _elliptical(question: str) -> bool:
    """A short follow-up that leaves its subject out ("what benchmarks?", "on which benchmark?", "how fast?", "why?"):
    at most five words, every one a question word or an aspect (``ASPECTS``), none asking beyond the last answer."""
    words = set(tokenize(question)) - QUESTION_WORDS - ASPECTS
    return (len(question.split()) <= 5 and not named_entities(question) and not words
            and not _ELSEWHERE.search(question))


_ELSEWHERE = re.compile(r"\b(?:other|others|another|else|more|any|papers|works|studies)\b", re.IGNORECASE)
"""Words that ask beyond the last answer ("any other papers?")."""


_COMPARING = re.compile(r"\b(?:vs\.?|versus|compare[ds]?|comparing|differ\w*|difference|contrast\w*)\b", re.IGNORECASE)


def picks_among(question: str, cited: Sequence[Cited], last_question: str) -> bool:
    """Whether a question that reads as a new one ("which one needs no additional training?") picks among the last
    answer's papers: it opens "which one", the last question compared papers and that answer cited two or more.
    After a list ("papers on membership inference") or one paper's answer, "which one uses copyright traps?" asks
    afresh: the paper meant may be none of those cited."""
    return len(cited) >= 2 and WHICH_ONE.search(question) is not None and bool(_COMPARING.search(last_question))


def corrected(question: str, history: Sequence[dict[str, str]]) -> list[Cited]:
    """The sources of the last answer that a correction ("No, I meant the paper asking ...") says were wrong; []
    for any other question."""
    answers = turns(history, "assistant")
    return cited_sources(answers[-1]) if answers and CORRECTION.search(question) else []


_BACK = re.compile(r"\b(?:go(?:ing)? back|back to|return(?:ing)? to|from (?:before|earlier)|you (?:listed|"
                   r"mentioned) (?:before|earlier|first)|in the (?:list|first answer))\b", re.IGNORECASE)
"""A pointer back past the last answer: "go back to the first paper", "the second one you listed before"."""


def _earlier_list(answers: Sequence[str], count: int) -> list[Cited]:
    """For "go back to the first paper": the sources of the latest answer before the last one that lists several
    papers (at least ``count``, and two); [] when there is none."""
    for answer in reversed(answers[:-1]):
        cited = cited_sources(answer)
        if len(cited) >= max(count, 2):
            return cited
    return []


def _with_sources(answers: Sequence[str], count: int, last: list[Cited]) -> list[Cited]:
    """The sources of the latest answer citing at least ``count`` of them (``last``, the last answer's, if it
    does or none does)."""
    if len(last) >= count:
        return last
    for answer in reversed(answers[:-1]):
        cited = cited_sources(answer)
        if len(cited) >= count:
            return cited
    return last


def hits_of(cited: Sequence[Cited], retrieved: Retrieved) -> set[int]:
    """The hits that are the papers behind ``cited`` sources of the last answer (``refers_to``)."""
    return {h for h, hit in enumerate(retrieved.hits) if any(
        refers_to(c, hit.paper.title, hit.paper.abstract) for c in cited)}


def pointed_hits(cited: Sequence[Cited], retrieved: Retrieved, history: Sequence[dict[str, str]]) -> set[int]:
    """``hits_of`` the sources a follow-up points at; after an answer written markers first (``markers_first``: a
    hand-written or another model's answer, "[1] OPERA ... [2] the SENTINEL paper ... [3] ..."), none unless every
    one of them is a hit: answering from the two it quotes would drop the one it only paraphrases, so the
    question's own retrieval answers instead."""
    answers = turns(history, "assistant")
    if not answers or not markers_first(answers[-1]):
        return hits_of(cited, retrieved)
    found = [hits_of([c], retrieved) for c in cited]
    return set().union(*found) if all(found) else set()


def corrected_hits(question: str, history: Sequence[dict[str, str]], retrieved: Retrieved) -> set[int]:
    """The hits a correction says were wrong (``corrected``), unless it names them again by a coined name ("no, I
    meant how fast DIMAT converges" is still about DIMAT)."""
    names = [n.lower() for n in coined_names(question)]
    wrong = hits_of(corrected(question, history), retrieved)
    return {h for h in wrong if not any(n in f"{retrieved.hits[h].paper.title} "
                                             f"{retrieved.hits[h].paper.abstract}".lower() for n in names)}


def record_hit(question: str, standalone: str, retrieved: Retrieved, own: set[int]) -> int | None:
    """The hit whose record answers a record question: the one paper it points at ("who wrote it?"), the paper it
    names (``own_subject``: "who wrote TabPFN?"), or, in a chat and naming no other, the chat's paper ("who is the
    first author?"); None when there is none."""
    if len(own) == 1:
        return next(iter(own))
    follow = bool(standalone) and not coined_names(question)
    named = own_subject(question, retrieved) or (subject(standalone, retrieved) if follow else None)
    return named.hit if named is not None else None
