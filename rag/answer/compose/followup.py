"""Follow-up questions resolved from the conversation; a question that stands on its own is left alone."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.compose.analysis import named_entities
from rag.text import key_terms, strip_markers

_TOPIC_SWITCH = re.compile(
    r"^\s*(?:different question|switching topics?|unrelated|another question|new question|on another note|"
    r"changing (?:the )?subject|ok(?:ay)?,? (?:and|now|next))\b",
    re.IGNORECASE,
)
_REFERENCE = re.compile(
    r"\b(?:of them|of these|of those|(?:the|that) (?:first|second|third|fourth|fifth|last|former|latter)(?: one)?"
    r"|these (?:papers|methods|works)|those (?:papers|methods|works)|both)\b",
    re.IGNORECASE,
)
_PRONOUN = re.compile(
    r"\b(it|its|they|them|their|theirs|this|that|these|those|he|she|his|her|the (?:paper|model|method|"
    r"approach|authors|work|study|benchmark|dataset|framework|technique|system|algorithm|heads?|task))\b",
    re.IGNORECASE,
)
_SELF_CONTAINED = re.compile(r"\b(?:which|what|any|is there an?|are there)\b[^?]*\b(?:paper|papers|work|study)\b",
                             re.IGNORECASE)
QUESTION_WORDS = frozenset(
    ["what", "which", "how", "who", "whom", "why", "when", "where", "whose", "does", "did", "do", "is", "are",
     "was", "were", "can", "could", "and", "ok", "okay"]
)


def stands_alone(question: str) -> bool:
    """Whether ``question`` needs no earlier turn: it announces a new topic, or it names its own subject
    (a method name or acronym before any pronoun, or "which paper ..."), and it does not point back
    ("which of them", "the second one")."""
    if _TOPIC_SWITCH.search(question):
        return True
    if _REFERENCE.search(question):
        return False
    pronoun = _PRONOUN.search(question)
    names = named_entities(question)
    if names:
        first_name = question.find(names[0])
        if pronoun is None or first_name < pronoun.start():
            return True
    if pronoun is None and _SELF_CONTAINED.search(question):
        return True
    return pronoun is None and len(key_terms(question, QUESTION_WORDS)) >= 4


def resolve_followup(question: str, history: Sequence[dict[str, str]]) -> str:
    """A standalone query for a follow-up: the previous answer's names and the previous question's content
    words, then the question. A question that stands on its own comes back unchanged."""
    users = [t["content"] for t in history if t.get("role") == "user" and t.get("content", "").strip()]
    if not users or stands_alone(question):
        return question
    answers = [t["content"] for t in history if t.get("role") == "assistant" and t.get("content", "").strip()]
    previous_answer = strip_markers(answers[-1]) if answers else ""
    carried = key_terms(users[-1], QUESTION_WORDS)
    carried += [n for n in named_entities(previous_answer)[:6] if n.lower() not in {c.lower() for c in carried}]
    kept = [w for w in carried if w.lower() not in question.lower()]
    return f"{' '.join(kept)} {question}".strip() if kept else question
