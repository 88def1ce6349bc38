"""Answer shapes that fit the question: a comparison gets one line per named method."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from rag.types import Retrieved


class Scored(Protocol):
    """A scored candidate sentence (``rag.answer.extractive.Pick``)."""

    @property
    def hit(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def relevance(self) -> float: ...


def missing_notice(names: Sequence[str]) -> str:
    """The plain statement that the corpus has no abstract about some named methods."""
    return f"No retrieved abstract covers {', '.join(names)}." if names else ""


def compare(entities: Sequence[str], picks: Sequence[Scored], retrieved: Retrieved) -> str:
    """``- Name: quote [n]`` for each named method: the most relevant sentence of the best-ranked paper whose
    title or abstract names it (a sentence naming it preferred). Names no paper covers are listed last."""
    lines: list[str] = []
    missing: list[str] = []
    used: set[int] = set()
    for name in entities:
        low = name.lower()
        papers = [
            h
            for h, hit in enumerate(retrieved.hits)
            if h not in used and low in f"{hit.paper.title} {hit.paper.abstract}".lower()
        ]
        if not papers:
            missing.append(name)
            continue
        best = papers[0]
        mine = sorted((p for p in picks if p.hit == best), key=lambda p: (-(low in p.text.lower()), -p.relevance))
        if not mine:
            missing.append(name)
            continue
        used.add(best)
        lines.append(f"- {name}: {mine[0].text} [{best + 1}]")
    if len(lines) < 2:
        return ""
    notice = missing_notice(missing)
    return "\n".join([*lines, *([notice] if notice else [])])
