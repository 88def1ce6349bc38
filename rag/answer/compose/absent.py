"""A paper the question names that no retrieved abstract is: "What does the ResNet paper say about residual
connections?" when the retrieved abstracts only mention ResNets, or "What does 'Attention is all you need'
propose?" when no retrieved title is that one. Quoting those abstracts would pass another paper's words off as the
named paper's."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from rag.answer.compose.naming import DESCRIBING, NO_ACRONYMS, coined, its_name
from rag.text import normalize_title
from rag.types import Retrieved

_NAMED_PAPER = re.compile(r"\b(?:(?:the|that|this)\s+(?:original\s+|famous\s+|well-known\s+)?|original\s+)"
                          r"(?P<name>[\w.+-]+)\s+paper\b|\b(?P<owner>[\w.+-]+)'s\s+(?:original\s+)?paper\b")
""""the ResNet paper", "the original LoRA paper", "BERT's paper" (a coined name before "paper")."""
_QUOTED = re.compile(r"""(?:^|[\s(])['"‘“](?P<title>[A-Z][^'"‘’“”]{8,200}?)['"’”](?=[\s?.,:;)]|$)""")
"""A quoted phrase that starts with a capital letter: a title the question writes out."""
_TITLE_WORDS = 4


def unowned_paper(question: str, retrieved: Retrieved, spelled: Mapping[str, Collection[str]] = NO_ACRONYMS) -> str:
    """How the question names a paper that none of the retrieved papers is, e.g. "ResNet paper" or 'paper
    "Attention is all you need"'; "" when it names none, or a retrieved paper is it. A coined name before "paper"
    names its own paper (``its_name``: its title's head, its long form in the title, or a name its abstract
    proposes); a quoted phrase of four words or more starting with a capital is a title, unless a retrieved title
    or abstract holds it."""
    papers = [hit.paper for hit in retrieved.hits]
    for match in _NAMED_PAPER.finditer(question):
        name = DESCRIBING.sub("", match.group("name") or match.group("owner"))
        if coined(name) and sum(c.isalpha() for c in name) >= 2 and not any(its_name(name, p, spelled) for p in papers):
            return f"{name} paper"
    for match in _QUOTED.finditer(question):
        title = match.group("title").strip()
        written = f" {normalize_title(title)} "
        if len(written.split()) < _TITLE_WORDS:
            continue
        if not any(written in f" {normalize_title(f'{p.title} {p.abstract}')} " for p in papers):
            return f'paper "{title}"'
    return ""
