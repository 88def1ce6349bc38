"""Answer shapes that fit the question: prose quotes, one line per listed paper, one line per compared method."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from rag.answer.notes import WEAKER_MATCHES, no_paper_sentence
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
    """The quote of ``pick`` as the answer shows it: a quote that starts mid-sentence opens with "…", one that
    stops before its sentence ends closes with "…"."""
    parts = quote_parts(pick.shown)
    if not parts:
        return pick.shown
    shown = f"{GAP.lstrip()}{pick.shown}" if not pick.text.startswith(parts[0]) else pick.shown
    end = pick.text.rfind(parts[-1])
    rest = pick.text[end + len(parts[-1]) :] if end >= 0 else ""
    return f"{shown.rstrip(' ,;:')}{GAP.rstrip()}" if rest.strip(" .!?\"'”’)]") else shown


def prose(picks: Sequence[Scored]) -> str:
    """Quotes one after another, each followed by the marker of its paper."""
    return " ".join(f"{quoted(p)} [{p.hit + 1}]" for p in picks)


def listing(per_paper: Mapping[int, Sequence[Scored]], retrieved: Retrieved,
            labels: Mapping[int, str] | None = None) -> str:
    """One line per paper with quotes, ``- Label: quote [n] quote [n]``, labelled by ``labels`` or the title."""
    lines = []
    for hit, quotes in per_paper.items():
        if quotes:
            label = labels[hit] if labels is not None else " ".join(retrieved.hits[hit].paper.title.split())
            lines.append(f"- {label}: " + prose(quotes))
    return "\n".join(lines)


def two_tier_listing(sure: Mapping[int, Sequence[Scored]], weaker: Mapping[int, Sequence[Scored]],
                     retrieved: Retrieved) -> str:
    """``listing`` of the sure matches, then, under ``WEAKER_MATCHES``, of the weaker ones."""
    lower = listing(weaker, retrieved)
    return "\n".join(part for part in (listing(sure, retrieved), WEAKER_MATCHES if lower else "", lower) if part)


def compare(lines: Mapping[int, Sequence[Scored]], labels: Mapping[int, str], missing: Sequence[str],
            retrieved: Retrieved) -> str:
    """``listing`` of the compared papers (``rag.answer.compose.contrast``) under their ``labels``, then a last
    line naming the compared names no retrieved paper is about."""
    notice = no_paper_sentence(list(missing))
    return "\n".join(part for part in (listing(lines, retrieved, labels), notice) if part)
