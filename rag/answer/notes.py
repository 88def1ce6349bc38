"""Notes: sentences an answerer writes about its sources rather than quotes from them — that an abstract does
not state the asked detail, that the corpus has a paper on a topic ("Yes: <title>"), that no retrieved paper is
about a compared method. The citation checker checks a note by the name it gives (it must be the cited paper's);
the eval metrics do not count a note as a claim (``rag.evals.metrics.answer_units``)."""

from __future__ import annotations

import re

from rag.text import normalize_title, strip_markers, tokenize

NOT_STATED = "does not state"
"""The phrase of a not-stated note (evals count an unanswerable item answered with it as flagged)."""
_NOTE = re.compile(
    r"^\s*(?:The (?P<subject>.{1,160}?) abstracts? (?:does|do) not state\b|Yes: (?P<title>.+)$|"
    r"No retrieved (?:abstract (?:covers|mentions)|paper is about)\b|None of the retrieved abstracts\b|"
    r".{1,200}? (?:is|are) not stated in any retrieved abstract\b)",
    re.IGNORECASE | re.DOTALL,
)


def not_stated_sentence(subject: str, detail: str) -> str:
    """"The <subject> abstract does not state <detail>." (``detail`` as it should read after "state")."""
    return f"The {subject} abstract {NOT_STATED} {detail}."


def unmentioned_sentence(names: list[str]) -> str:
    """"X is not stated in any retrieved abstract." for names the question gives that no retrieved paper has."""
    verb = "is" if len(names) == 1 else "are"
    return f"{' and '.join(names)} {verb} not stated in any retrieved abstract; the closest evidence follows."


def no_paper_sentence(names: list[str]) -> str:
    """"No retrieved paper is about X." for compared names no retrieved paper is about; "" for no names."""
    return f"No retrieved paper is about {', '.join(names)}." if names else ""


def is_note(sentence: str) -> bool:
    """Whether ``sentence`` (markers allowed) is a note about the sources, not a claim taken from them."""
    return _NOTE.match(strip_markers(sentence)) is not None


def note_names(sentence: str) -> str:
    """The paper a note names ("SkillNet" in "The SkillNet abstract does not state ...", the title after
    "Yes: "); "" for a note that names none."""
    match = _NOTE.match(strip_markers(sentence))
    if not match:
        return ""
    return (match.group("subject") or match.group("title") or "").strip().rstrip(".")


def names_paper(name: str, title: str, abstract: str) -> bool:
    """Whether ``name`` (from a note) is the paper ``title``/``abstract``: the title itself, or every content
    word of ``name`` in the title or abstract."""
    if normalize_title(name) and normalize_title(name) == normalize_title(title):
        return True
    words = set(tokenize(name))
    return bool(words) and words <= set(tokenize(f"{title} {abstract}"))
