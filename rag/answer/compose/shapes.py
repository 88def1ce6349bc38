"""Answer shapes that fit the question: prose quotes, one line per listed paper, one line per compared method."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from rag.text import GAP, quote_parts
from rag.types import Retrieved


class Scored(Protocol):
    """A scored candidate sentence (``rag.answer.compose.evidence.Pick``)."""

    @property
    def hit(self) -> int: ...
    @property
    def index(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def shown(self) -> str: ...
    @property
    def relevance(self) -> float: ...


def quoted(pick: Scored) -> str:
    """The quote of ``pick`` as the answer shows it: a quote that starts mid-sentence opens with "…"."""
    parts = quote_parts(pick.shown)
    starts_inside = bool(parts) and not pick.text.startswith(parts[0])
    return f"{GAP.lstrip()}{pick.shown}" if starts_inside else pick.shown


def prose(picks: Sequence[Scored]) -> str:
    """Quotes one after another, each followed by the marker of its paper."""
    return " ".join(f"{quoted(p)} [{p.hit + 1}]" for p in picks)


def listing(per_paper: Mapping[int, Sequence[Scored]], retrieved: Retrieved) -> str:
    """One line per paper, ``- Title: quote [n] quote [n]``."""
    lines = []
    for hit, quotes in per_paper.items():
        title = " ".join(retrieved.hits[hit].paper.title.split())
        lines.append(f"- {title}: " + prose(quotes))
    return "\n".join(lines)


def missing_notice(names: Sequence[str]) -> str:
    """The plain statement that the corpus has no abstract about some named methods."""
    return f"No retrieved abstract covers {', '.join(names)}." if names else ""


def compare(entities: Sequence[str], picks: Sequence[Scored], retrieved: Retrieved) -> str:
    """``- Title: quote [n]`` for each named method: the most relevant sentence (one naming the method
    preferred) of the best-ranked paper whose title names it, else of the best-ranked one whose abstract does.
    Names no retrieved abstract mentions at all are stated in a last line. "" unless two methods get a line, or
    one does and another is missing."""
    lines: list[str] = []
    missing: list[str] = []
    used: set[int] = set()
    for name in entities:
        low = name.lower()
        hits = retrieved.hits
        papers = [h for h, hit in enumerate(hits) if h not in used and low in hit.paper.title.lower()]
        papers = papers or [h for h, hit in enumerate(hits) if h not in used and low in hit.paper.abstract.lower()]
        if not any(low in f"{hit.paper.title} {hit.paper.abstract}".lower() for hit in hits):
            missing.append(name)
        mine = sorted(
            (p for p in picks if papers and p.hit == papers[0]),
            key=lambda p: (-(low in p.text.lower()), -p.relevance),
        )
        if not mine:
            continue
        best = papers[0]
        used.add(best)
        title = " ".join(hits[best].paper.title.split())
        lines.append(f"- {title}: {quoted(mine[0])} [{best + 1}]")
    if len(lines) < 2 and not (lines and missing):
        return ""
    notice = missing_notice(missing)
    return "\n".join([*lines, *([notice] if notice else [])])
