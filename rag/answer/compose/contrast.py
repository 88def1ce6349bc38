"""Comparisons: which retrieved papers a comparison compares, and which of its terms each paper's line answers.

A comparison answer gives one line per compared paper, stating the asked aspect in that paper's own words
(``ExtractiveAnswerer.contrast`` chooses the pieces as a prose answer's, within a per-paper word budget). The
papers are found by the names the question gives ("TIES-Merging", "DIMAT") and by their titles ("the on-policy
self-judgment paper", "mixout"); a coined name no retrieved paper is about is said plainly."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence

from rag.answer.compose.naming import DESCRIBING, MAX_NAMES, coined, introduces, proposes
from rag.answer.compose.sides import (
    CUE_WORDS,
    Compared,
    phrase_sides,
    quoted_titles,
    titled_papers,
    without_titles,
)
from rag.index.vocabulary import common_words
from rag.text import STOPWORDS, compared_words, named_entities, names_word, normalize_title, short_title, tokenize
from rag.types import Paper, Retrieved

ASPECT_SHARE = 0.2
"""The aspect's terms replace the question's when they hold at least this share of its term weight."""


def compared_papers(names: Sequence[str], retrieved: Retrieved, opposed: Collection[str] = (),
                    aside: Collection[str] = ()) -> list[Compared]:
    """For each coined name (``rag.answer.compose.naming.coined``: "DIMAT", "TIES-Merging"; a capitalised word such
    as "Bayes" may be a topic, a number such as "175B" a size, "LLM-based" a modifier), in the question's order:
    the best-ranked hit whose title names it (every name's title first: "SeerAttention-R" takes its paper before
    "FlashAttention", which its abstract mentions), else the best-ranked free hit whose abstract introduces it
    ("we propose X"; for a name several retrieved abstracts cite, only "we propose X" will do). A name no
    retrieved paper is about comes back with hit None (an abstract that only mentions "LoRA" is not LoRA's
    paper); a name that belongs to a paper already taken (``_taken``) is dropped, and so is one that a taken
    paper only mentions ("on MS MARCO", "POPE"), unless the question sets it against another name (``opposed``:
    "FlashAttention or SeerAttention-R"). A name ``aside`` from what the question compares takes no paper by its
    title ("[MASK]" of "How do ExLM and MAE-LM differ in how they handle [MASK] tokens?" is no "... Mask Specific
    losses"), and is dropped when a retrieved abstract mentions it ("AUC" of "membership inference AUC for books vs
    papers")."""
    hits = retrieved.hits
    wanted = [n for n in names if (coined(n) or _named_side(n, opposed)) and not n[0].isdigit()
              and not DESCRIBING.search(n)]
    found: dict[str, Compared] = {}
    used: set[int] = set()
    heads = {short_title(hit.paper.title).lower() for hit in hits}
    for name in sorted(wanted, key=lambda n: n.lower() not in heads):  # "ExLM" takes "ExLM: ... [MASK] ..." first
        h = None if name in aside else next(  # "[MASK]" of "ExLM and MAE-LM differ" takes no "Mask ..." title
            (h for h, hit in enumerate(hits) if h not in used and names_word(hit.paper.title, name)), None)
        if h is not None:
            used.add(h)
            found[name] = Compared(name, h, True)
    for name in (n for n in wanted if n not in found):
        low = name.lower()
        shared = sum(low in hit.paper.abstract.lower() for hit in hits) > 1  # a name several abstracts cite
        h = next((h for h, hit in enumerate(hits) if h not in used and low in hit.paper.abstract.lower()
                  and (proposes(hit.paper.abstract, name) if shared else introduces(hit.paper.abstract, name))), None)
        if h is not None:
            used.add(h)
            found[name] = Compared(name, h, proposes(hits[h].paper.abstract, name))
        elif not _taken(name, wanted, [hits[u].paper for u in used], name in opposed) and not (
                name in aside and any(low in hit.paper.abstract.lower() for hit in hits)):
            found[name] = Compared(name, None)
    return [found[n] for n in wanted if n in found]


def _named_side(name: str, opposed: Collection[str]) -> bool:
    """A name that is not coined but that the question sets against another ("Compare Sparsemax and MaxSup",
    "sparsemax vs MaxSup") and that is no ordinary word ("Transformers", "Bayes" stay topics)."""
    return name in opposed and name.lower() not in common_words()


def lower_case_sides(question: str, names: Sequence[str], is_name: Callable[[str], bool],
                     unknown: Callable[[str], bool] = lambda word: False) -> list[str]:
    """``names`` with the compared words typed in lower case that name a paper (``is_name``: "sparsemax", in a
    title and few documents), or, set against a name, one the corpus lacks (``unknown``: "vcd" of "OPERA vs vcd",
    so the answer says it has no paper on it), in the question's order: "how do sparsemax and MaxSup differ?"
    compares sparsemax too (``compared_words``); "what speedup vs PowerInfer", "discriminative vs generative
    classifiers" and "sparsemax and softmax attention" compare no topic word."""
    known = {n.lower() for n in names}
    sides = compared_words(question)
    named = any(w.lower() in known or is_name(w) for w in sides.values())
    typed = [(pos, w) for pos, w in sides.items() if w.islower() and w not in known and w not in STOPWORDS
             and (is_name(w) or (named and unknown(w)))]
    if not typed:
        return list(names)
    placed = [(question.find(n), n) for n in names] + typed
    return [n for _, n in sorted(placed, key=lambda item: item[0])]


def _taken(name: str, names: Sequence[str], taken: Sequence[Paper], opposed: bool) -> bool:
    """Whether a name no free paper is about belongs to one already compared: it is part of another compared
    name ("TIES" of "TIES-Merging"), a taken paper's title names it or its abstract introduces it ("we propose
    X"), or a taken paper mentions it and the question does not set it against another name ("on MS MARCO").
    "9x over FlashAttention-3" does not take "FlashAttention or SeerAttention-R"'s FlashAttention."""
    low = name.lower()
    return (any(low != other.lower() and low in other.lower() for other in names)
            or any(names_word(p.title, name) or proposes(p.abstract, name) for p in taken)
            or (not opposed and any(low in p.abstract.lower() for p in taken)))


_CONTEXT = r"\b(?:on|in|for|at|across|over|using)\s+(?:the\s+)?"
"""Before a name it is where or with what the compared ones are compared ("better on ImageNet"), not one of them."""


def _context(question: str, names: Sequence[str]) -> set[str]:
    """The ``names`` the question gives as context: "Which is better on ImageNet, MaxSup or SeerAttention-R?"."""
    return {n for n in names if re.search(rf"{_CONTEXT}{re.escape(n)}(?![\w-])", question, re.IGNORECASE)}


_OPPOSING = r"\S*?\W*\s+(?:or|and|vs\.?|versus|than|against|compared?\s+(?:to|with)|compares\s+(?:to|with))\s+\W*"


def opposed(question: str, names: Sequence[str]) -> set[str]:
    """The ``names`` that ``question`` sets against another one: "X or Y", "X vs Y", "X and Y", "better than Y",
    "X compare to Y" (not "on ImageNet, X or Y": a comma alone does not oppose a benchmark to a method)."""
    out: set[str] = set()
    names = names[:MAX_NAMES]
    for a in names:
        for b in names:
            if a != b and re.search(rf"{re.escape(a)}{_OPPOSING}{re.escape(b)}", question, re.IGNORECASE):
                out |= {a, b}
    return out


def compared_hits(question: str, names: Sequence[str], retrieved: Retrieved) -> list[Compared]:
    """The compared papers: those the names stand for (``compared_papers``, with the names ``question`` sets
    against each other: ``opposed``; not those the question gives as context: ``_context``; not a name inside a
    title the question writes out), then those whose title it writes out (``quoted_titles``) or describes
    (``titled_papers``; none beside two written-out titles)."""
    quoted = quoted_titles(question, retrieved)
    inside = " ".join(normalize_title(c.name) for c in quoted)
    names = [n for n in names if f" {normalize_title(n)} " not in f" {inside} "]  # "In-Context" of a quoted title
    compared = [n for n in names if n not in _context(question, names)]
    names = compared if sum(coined(n) for n in compared) >= 2 else names
    sides = {w.lower() for w in compared_words(question).values()}
    aside = [n for n in names if sides and n.lower() not in sides]  # "AUC for books vs papers" compares no AUC
    named = [c for c in compared_papers(names, retrieved, opposed(question, names), aside)
             if c.hit is None or c.hit not in {q.hit for q in quoted}]
    taken = {c.hit for c in [*quoted, *named] if c.hit is not None}
    described = titled_papers(without_titles(question, quoted), retrieved, taken) if len(quoted) < 2 else []
    titled = sorted([*quoted, *described], key=lambda c: c.hit if c.hit is not None else -1)  # two written out: no
    # third paper by the topic words left ("explain in-context learning")
    found = [*named, *titled]
    if sum(c.hit is not None for c in found) == 1:  # "compare early dropout and mixout": a phrase names the other
        found += phrase_sides(question, retrieved, found)
    return found


_OF_EACH = re.compile(
    r"\b(?:does|do|did|is|are|was|were)\s+each\b(?!\s+other\b)|"
    r"\beach\s+(?:one|paper|method|approach|work|study)\b|"
    r"\b(?:and|or)\s[^?.]{2,120}?\beach\s+(?!other\b)[a-z]+\b",
    re.IGNORECASE,
)
"""A question that asks the same of each of several sides without comparison words: "How do X and the Y paper each
try to ...?", "What is each trying to achieve?" (not "each other", nor "Can each token ...")."""
_SIDES_JOINED = re.compile(r"\b(?:and|or|vs\.?|versus)\b|,", re.IGNORECASE)
_BOTH_DO = re.compile(r"^\s*(?:how|what|why)\s+(?:do|did|are|were)\s+(?!they\b|them\b|these\b|those\b)[^?.]{2,120}?"
                      r"\band\b", re.IGNORECASE)
""""How do X and Y ...?": a comparison when X and Y are papers, not topics ("How do LLMs learn in-context and ...")."""
_PAPER_WORD = re.compile(r"\b(?:paper|method|approach|work|study)\b", re.IGNORECASE)


def asks_of_each_side(question: str) -> bool:
    """Whether ``question`` asks the same of each side it joins ("and", "or", ","), without comparison words:
    "each" (``_OF_EACH``), or "How do X and Y ...?" (``_BOTH_DO``) of two coined names or a side called a paper or
    method ("How do Sequential Attention and the CMI paper decide ...?"). A comparison when two retrieved papers
    are found for it (``compared_hits``)."""
    if _SIDES_JOINED.search(question) is None:
        return False
    both = _BOTH_DO.search(question) is not None and (
        _PAPER_WORD.search(question) is not None or sum(coined(n) for n in named_entities(question)) >= 2)
    return both or _OF_EACH.search(question) is not None


def question_sides(text: str, comparison: bool, follow_up: bool, retrieved: Retrieved,
                   is_name: Callable[[str], bool], unknown: Callable[[str], bool]) -> list[Compared]:
    """The papers ``text`` compares (``compared_hits``; ``lower_case_sides`` with the corpus's ``is_name`` and
    ``unknown`` tests): a ``comparison``'s, or, for a question that asks the same of each side or writes out two
    titles (not a ``follow_up``, whose "each" means the papers it points at), two found papers; [] otherwise."""
    if not comparison and (follow_up or not (asks_of_each_side(text) or len(quoted_titles(text, retrieved)) >= 2)):
        return []
    names = named_entities(text)[:MAX_NAMES]  # a pasted list of 600 names is compared by its first ones
    compared = compared_hits(text, lower_case_sides(text, names, is_name, unknown), retrieved)
    return [] if not comparison and sum(c.hit is not None for c in compared) < 2 else compared


def comparable(compared: Sequence[Compared]) -> bool:
    """Whether a comparison answer can be given: two compared papers, or one and a name the corpus lacks."""
    found = sum(c.hit is not None for c in compared)
    return found >= 2 or (found == 1 and len(compared) > 1)


def evident(compared: Sequence[Compared]) -> bool:
    """Whether the compared papers are plainly in the corpus: two of them are found (a title names each, or the
    abstract introduces the coined name: ``compared_papers``), or one claims its name (its title, or "we propose
    X") and the only other compared name is one no retrieved paper is about ("SPLADE vs ColBERT")."""
    found = sum(c.hit is not None for c in compared)
    titled = sum(c.titled for c in compared)
    missing = sum(c.hit is None for c in compared)
    return found >= 2 or (titled == 1 and missing == 1 and len(compared) == 2)


def aspect_terms(terms: Mapping[str, float], names: Sequence[str], titles: Sequence[str]) -> dict[str, float]:
    """The question's terms (``question_terms``) without the compared names, the compared papers' title words
    and the comparison's own words: what each line should say ("what they evaluate on"). The question's terms
    when too little is left (``ASPECT_SHARE``: "How do X and Y differ?")."""
    named = {t for text in [*names, *titles] for t in tokenize(text)} | CUE_WORDS
    aspect = {t: w for t, w in terms.items() if t not in named}
    return aspect if sum(aspect.values()) >= ASPECT_SHARE * sum(terms.values()) else dict(terms)


def per_paper_budget(answer_words: int, papers: int, floor: int = 25) -> int:
    """Words each compared paper's line may quote: the answer's budget shared out, never under ``floor``."""
    return max(answer_words // max(papers, 1), floor)


POINTERS = ("it", "this paper", "this method", "this one")
"""Words a follow-up uses for the paper under discussion when it sets it against a name ("it vs X")."""


def with_pointed(compared: list[Compared], question: str, own: Collection[int], retrieved: Retrieved) -> list[Compared]:
    """``compared`` with the paper "it" points at as a side when the question sets "it" against a name ("it vs
    SeerAttention-R" after an Activation Beacon answer: Activation Beacon's line first), unless a side is it."""
    if len(own) != 1 or comparable(compared):
        return compared
    (h,) = own
    names = [c.name for c in compared]
    if any(c.hit == h for c in compared) or not set(POINTERS) & opposed(question, [*names, *POINTERS]):
        return compared
    return [Compared(short_title(retrieved.hits[h].paper.title), h, True), *compared]
