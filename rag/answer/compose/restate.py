"""Restating a follow-up: "what about X?" and "and X?" as the last question asked of X, an opening topic switch
dropped, and a definition question about a term the last turn never used."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.compose.chat import POINTING, PRONOUN, TOPIC_SWITCH, IsName, asked_term_words, no_names, turns
from rag.answer.compose.definitions import defined_term
from rag.answer.compose.standalone import coined_subject
from rag.text import QUESTION_WORDS, STOPWORDS, key_terms, named_entities, strip_markers, tokenize

_OTHER_SUBJECT = re.compile(
    r"^\W*(?:and\s+)?(?:what|how) about\s+(?P<subject>[^?]+)"
    r"|^\W*and\s+(?!(?:on|in|for|with|of|at|by|from|to|the|a|an)\b)(?P<short>[^?\s]+(?:\s+[^?\s]+){0,2}?)\s*\?+\s*$",
    re.IGNORECASE,
)
"""Another subject asked the last question: "what about sparsemax?", "and mixout?" (not "and on GSM8K?")."""


def asks_new_term(question: str, history: Sequence[dict[str, str]]) -> bool:
    """Whether a definition question asks about a term of two or more words that the last turn never used: "what
    is in-context learning?" after a chat about TIES-Merging is a new question; "what is speedup?" and "what is
    the merging step?" (a pointer) stay follow-ups."""
    term = {t for t in tokenize(" ".join(asked_term_words(question))) if t not in STOPWORDS}
    last = " ".join(strip_markers(t) for t in [*turns(history, "user")[-1:], *turns(history, "assistant")[-1:]])
    return len(term) >= 2 and not term & set(tokenize(last))


_AFTER_SWITCH = re.compile(r"\s*[:,.;!\u2013\u2014-]+\s*|\s+(?=(?:what|which|how|who|why|when|where|is|are|does|do|"
                           r"can|tell|explain|compare|list)\b)", re.IGNORECASE)


_CARRIES_ON = re.compile(r"^\s*ok(?:ay)?,? and\b", re.IGNORECASE)


def without_switch(question: str) -> str:
    """``question`` without an opener that announces a new topic ("Switching topics: what is SPLADE?" -> "what is
    SPLADE?"); unchanged when it has none, when nothing of two words or more follows it, or when what follows points
    back ("never mind, how is it trained?", "ok, and how is it evaluated?": no new topic after all)."""
    opener = TOPIC_SWITCH.match(question)
    if opener and _CARRIES_ON.match(question):  # "ok, and what datasets?" goes on with the last topic
        return question
    after = _AFTER_SWITCH.match(question, opener.end()) if opener else None
    rest = question[after.end():] if after else ""
    return rest if len(rest.split()) >= 2 and not PRONOUN.search(rest) else question  # "never mind, how is it ...?"


def other_subject(question: str) -> str:
    """What "what about X?" or "and X?" asks about (X), or ""."""
    match = _OTHER_SUBJECT.match(question)
    return (match.group("subject") or match.group("short")) if match else ""


def names_subject(text: str, is_name: IsName) -> bool:
    """Whether ``text`` (after "what about") names a subject: a name as written ("TIES-Merging", "DIMAT") or a
    lower-case word that names a paper ("sparsemax"); "the speedup", "latency", "the baselines" do not."""
    if PRONOUN.search(text):  # "what about its pitfalls?": the same paper
        return False
    return bool(named_entities(f"x {text}")) or any(is_name(w) for w in re.findall(r"[a-z][\w-]{2,}", text.lower()))


def restated(question: str, history: Sequence[dict[str, str]], is_name: IsName = no_names) -> str:
    """"What about X?" (X naming a subject) as the last question asked of X: "What is WINA?", "what about RLHF?"
    -> "What is RLHF?"; "" when it is no such question, or the last question names no single subject to swap.
    A last question that was itself "what about Y?" counts as its restatement."""
    return restated_after(question, turns(history, "user"), is_name)


def restated_after(question: str, users: Sequence[str], is_name: IsName) -> str:
    other = other_subject(question)
    if not users or not other:
        return ""
    last = restated_after(users[-1], users[:-1], is_name) or users[-1]
    if names_subject(other, is_name):
        subjects = {n.lower() for n in [*named_entities(last), *coined_subject(last, is_name)]}
    elif _a_term(other) and defined_term(last) and not named_entities(last):  # "and late dropout?" after "What
        # does early dropout mean?"; not after "What is the speed-up of MaxSup?", an aspect of a named paper
        subjects = {defined_term(last).lower()}
    else:
        return ""
    if len(subjects) != 1:  # "How do TIES-Merging and DIMAT differ?": which one would X replace?
        return ""
    new = other.strip().rstrip(".!")
    swapped = re.sub(rf"(?<![\w-]){re.escape(subjects.pop())}(?![\w-])", lambda _m: new, last, count=1,
                     flags=re.IGNORECASE)
    return swapped if swapped != last else ""


def _a_term(text: str) -> bool:
    """A short noun phrase that can stand for a defined term ("late dropout"); not a pointer ("the speedup", "its
    pitfalls": an aspect of the same subject)."""
    words = text.lower().split()
    return 0 < len(words) <= 4 and not POINTING & set(words) and not PRONOUN.search(text)


def asked_of(question: str, last: str, is_name: IsName = no_names) -> str:
    """``question`` ("What about sparsemax?") with the last question's words but not its subject: "What is the
    speed-up of MaxSup?" carries "speed-up", not "MaxSup"."""
    subject = {n.lower() for n in named_entities(last)} | set(coined_subject(last, is_name))
    subject |= set(question.lower().split())
    kept = [w for w in key_terms(last, QUESTION_WORDS) if w.lower() not in subject]
    return f"{' '.join(kept)} {question}".strip()
