"""Question analysis, done once per question: the shape of answer it asks for (a list, a comparison, prose of
some kind), the entities it names, and its slot (what fact it asks for, ``rag.answer.compose.slots``)."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from rag.answer.compose.definitions import asks_definition
from rag.answer.compose.quantities import asks_how_much
from rag.answer.compose.record import record_fields
from rag.answer.compose.slots import Slot, asking_part, slot_of, unquoted
from rag.text import QUESTION_WORDS, key_terms, named_entities, tokenize

_LIST = re.compile(
    r"\b(which|what|any|list|name|find|show)\b(?:\W+\w+){0,3}?\W+papers\b|\bpapers\s+(?:that|which|on|about|where)\b"
    r"|^(?![^?]*\b(?:compar\w*|contrast\w*|vs\.?|versus|differ\w*)\b)[^?]*\bpapers\s+(?:using|with|applying|"
    r"proposing|introducing|studying)\b"
    r"|\bare there (?:any )?(?:papers|works|studies)\b|^\s*(?:please\s+)?list\b"
    r"|^(?![^?]*\b(?:compar(?:e|es|ed|ing|isons?)|contrast(?:s|ed|ing)?|vs\.?|versus|differ(?:s|ence|ences)?)\b)(?!\s*(?:how|what|which|who|why|when|where|"
    r"do|does|did|is|are|can|the|these|those|their|its|summari[sz]e|both|all|explain|describe|tell|give|show|"
    r"please|briefly|i)\b)[^?]{3,80}?(?<!\bfirst)(?<!\blast)(?<!\btwo)(?<!\bthree)(?<!\bother)"
    r"\s(?:papers|studies)\s*\??\s*$",  # typed as a search: "mixture of experts papers", not a comparison
    re.IGNORECASE,
)
_COMPARISON = re.compile(
    r"\b(differ|difference|differences|compare|compared to|comparison|versus|vs\.?|contrast)\b", re.IGNORECASE
)
"""Comparison wording that makes a comparison when the question names two things ("how does its size compare
with ..." and "compared to" may also ask for one paper's number against a baseline)."""
_CONTRAST = re.compile(
    r"\b(?:differ|differs|differed|difference|differences|versus|vs\.?|contrasts?|contrasted)\b|^\s*compare\b|"
    r"\bwhich\b[^?]*,\s*[^,?]+?\s+or\s+[^,?]+\??\s*$|"
    r"\bwhich of\s+(?!(?:the|these|those|them)\b)[^?]*\b(?:and|or)\b",
    re.IGNORECASE,
)
"""Wording that asks for a comparison whatever the names look like: "How do X and Y differ?", "Compare X and the
Y paper on ...", "Which needs training, X or Y?", "Which of X, Y and Z ...?"."""
_QUANTITY = re.compile(
    r"\b(what (?:speedup|accuracy|percentage|size|sizes|number|"
    r"fraction|ratio|score|improvement|gain|cost))\b",
    re.IGNORECASE,
)
_HOW = re.compile(r"^\s*how\b", re.IGNORECASE)
_WHY = re.compile(r"^\s*why\b", re.IGNORECASE)
_BACKGROUND_ASKED = re.compile(
    r"\b(background|motivat\w*|code|github|available|release\w*|future (?:work|research|directions?)|outlook|"
    r"next steps?|open (?:problems|questions))\b", re.IGNORECASE
)
"""Questions that ask for what answers otherwise leave out: background, code links, outlook ("what future work do
they suggest?")."""


@dataclass(frozen=True, slots=True)
class Question:
    """A question's kind (``lookup``, ``quantity``, ``definition``, ``how``, ``why``, ``list``,
    ``comparison``: the answer's shape and the piece model's ``k_*`` features), the names it mentions (method
    names, datasets, acronyms: words with a capital after the first letter, a digit, or a capital initial
    mid-sentence), and its ``slot``: the fact a prose answer leads with (finer: hardware, dataset, metric ...)."""

    text: str
    kind: str
    entities: tuple[str, ...]
    wants_background: bool
    slot: Slot
    record: tuple[str, ...] = ()
    """The record fields a record question asks for ("Who wrote X?": ``authors``; ``rag.answer.compose.record``)."""


def analyse(question: str) -> Question:
    """The kind of ``question``, its named entities, its slot and the record fields it asks for. A quoted title
    does not decide the kind (``unquoted``: "What did \"Comparing X and Y\" find?" asks for no comparison)."""
    bare = unquoted(question)
    asking = unquoted(asking_part(question))  # not "how well" of "I recall a paper showing how well X ... Which?"
    if _LIST.search(bare):
        kind = "list"
    elif _CONTRAST.search(bare) or (_COMPARISON.search(bare) and len(named_entities(question)) >= 2):
        kind = "comparison"
    elif _QUANTITY.search(asking) or asks_how_much(asking):
        kind = "quantity"
    elif asks_definition(question):
        kind = "definition"
    elif _WHY.search(asking):
        kind = "why"
    elif _HOW.search(asking):
        kind = "how"
    else:
        kind = "lookup"
    return Question(question, kind, tuple(named_entities(question)), bool(_BACKGROUND_ASKED.search(question)),
                    slot_of(question), record_fields(question))


def coverage(question: str, abstracts: Sequence[str], cited: Collection[int], kind: str | None = None
             ) -> tuple[str, int, int]:
    """``(topic, N, M)`` for the coverage line: the question's named entities (else its first three content
    words), how many of ``abstracts`` mention every one of them (stemmed) — for a comparison, any of the compared
    names ("TIES-Merging or DIMAT": no abstract of one method need name the other) — and how many of the cited
    ones (``cited``: their indices) do. ``kind``: the question's kind when already analysed (``Answer.kind``)."""
    names = named_entities(question)
    topic_words = names or key_terms(question, QUESTION_WORDS)[:3]
    needed = [set(tokenize(w)) for w in topic_words]
    compared = len(names) >= 2 and (kind or analyse(question).kind) == "comparison"
    test = any if compared else all
    mentions = [test(n <= set(tokenize(a)) for n in needed if n) for a in abstracts]
    topic = " or ".join(topic_words) if compared else " ".join(topic_words)
    return topic, sum(mentions), sum(1 for i in cited if 0 <= i < len(mentions) and mentions[i])
