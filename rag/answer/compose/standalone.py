"""Whether a question needs no earlier turn: it announces a new topic or names its own subject."""

from __future__ import annotations

import re

from rag.answer.compose.chat import (
    CONTINUATION,
    FIRST_N,
    PRONOUN,
    REFERENCE,
    TOPIC_SWITCH,
    WHICH_ONE,
    IsName,
    asked_term_words,
    no_names,
)
from rag.text import QUESTION_WORDS, STOPWORDS, key_terms, named_entities

_ASKED_DETAIL = re.compile(
    r"^\W*(?:what|which|how many|how much)\s+(?:\S+\s+){1,3}?(?:does|did|do|is|are|was|were|can|could|has|have|had)"
    r"\s+(?:it|its|they|their|this|these|that|those|the (?:paper|model|method|approach|authors|work|study))\b",
    re.IGNORECASE,
)
"""A question whose names come before a pronoun that is its subject ("What GPU does it use?", "How many GPUs did
they train on?"): the names are the detail asked about, not what the question is about."""
SHORT = 6
"""A question of at most this many words naming no paper of its own asks about the one under discussion."""
ANTECEDENT_TERMS = 5
"""A question with this many content words before its first pronoun names what the pronoun stands for
("Once in-context learning emerges in a transformer, does it stick around?")."""
_SELF_CONTAINED = re.compile(r"\b(?:which|what|any|is there an?|are there)\b[^?]*\b(?:paper|papers|work|study)\b",
                             re.IGNORECASE)


def coined_subject(question: str, is_name: IsName = no_names) -> list[str]:
    """The words that name what a definition question ("what is X?", "how does X work?") asks about when the user
    typed them in lower case: words that name a paper (``is_name``) in a term of at most four words with no article
    or pronoun. "What is sparsemax?" and "how does sparsemax work?" name their subject, as "What is Sparsemax?"
    does; "what is the speedup?", "what is its size?", "what is speedup?" and "what is attention?" name nothing."""
    return [w for w in asked_term_words(question) if w not in STOPWORDS and is_name(w)]


def stands_alone(question: str, is_name: IsName = no_names, names_paper: IsName | None = None) -> bool:
    """Whether ``question`` needs no earlier turn: it announces a new topic, or it names its own subject
    (a method name or acronym before any pronoun, or "which paper ..."), and it does not point back
    ("which of them", "the second one") or carry on ("And when ...?", "What about ...?"). With ``names_paper``
    (whether a name is some paper's own), a short question naming only what papers mention ("MMLU gain?", "how
    many fewer params than LoRA", "numbers for T5?") asks about the paper under discussion."""
    if TOPIC_SWITCH.search(question):
        return True
    if REFERENCE.search(question) or FIRST_N.search(question):  # "what are the first two papers about?"
        return False
    pronoun = PRONOUN.search(question)
    names = named_entities(question) or coined_subject(question, is_name)
    if (names and names_paper is not None and len(question.split()) <= SHORT and not any(map(names_paper, names))
            and not WHICH_ONE.search(question)):  # "which one decodes fMRI?" after a list asks afresh (picks_among)
        return False
    if names and not _ASKED_DETAIL.search(question):
        first_name = question.find(names[0])
        if pronoun is None or first_name < pronoun.start():
            return True
    if pronoun is None and _SELF_CONTAINED.search(question):
        return True
    if CONTINUATION.search(question):
        return False
    if pronoun is not None:
        return len(key_terms(question[: pronoun.start()], QUESTION_WORDS)) >= ANTECEDENT_TERMS
    return len(key_terms(question, QUESTION_WORDS)) >= 4
