"""Checking an answer's citations: markers renumbered by first use, markers that point at nothing retrieved
removed and reported, and every sentence checked against the abstracts it cites.

Both answerers run their text through ``check_answer``. The marker rules are ``rag.answer.markers``'s; how
well an abstract backs a sentence (a verbatim quote, or the support proxy and its ``SUPPORTED`` / ``WEAK``
cut-offs) is ``rag.answer.support``'s; notes about the sources are checked by the name they give
(``rag.answer.notes``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.markers import cited_sentences, renumber
from rag.answer.notes import is_note, is_record, names_paper, note_names, record_matches
from rag.answer.support import (
    SUPPORTED,
    WEAK,
    SourceView,
    best_sentences,
    content,
    quoted_in,
    source_view,
    strip_list_prefix,
    verdict_of,
)
from rag.index.embeddings import Embedder
from rag.text import numbers_in, strip_markers
from rag.types import Citation, Paper, SentenceCheck, Verdict

__all__ = ["SUPPORTED", "WEAK", "Checked", "check_answer", "renumber"]


@dataclass(frozen=True, slots=True)
class Checked:
    """An answer text after checking: renumbered markers, the cited sources and per-sentence verdicts."""

    text: str
    citations: tuple[Citation, ...]
    checks: tuple[SentenceCheck, ...]
    removed_markers: tuple[int, ...]


@dataclass(slots=True)
class _Tally:
    """Per cited source: its best support so far and the abstract sentences that back it."""

    support: list[float]
    quotes: list[list[int]]

    def add(self, marker: int, support: float, sentences: Sequence[int]) -> None:
        self.support[marker - 1] = max(self.support[marker - 1], support)
        self.quotes[marker - 1].extend(i for i in sentences if i not in self.quotes[marker - 1])


def _check_sentence(
    claim: str, markers: tuple[int, ...], note: str, views: Sequence[SourceView], embedder: Embedder | None,
    tally: _Tally,
) -> SentenceCheck:
    """The verdict on one cited sentence (see ``check_answer``), recorded per source in ``tally``."""
    mine = [views[n - 1] for n in markers]
    body = strip_list_prefix(claim, [v.paper for v in mine])
    quoted = {k: found for k, v in zip(markers, mine, strict=True) if (found := quoted_in(body, v)) is not None}
    if quoted:
        for k, found_at in quoted.items():
            tally.add(k, 1.0, found_at)
        return SentenceCheck(claim, markers, "supported", 1.0, "verbatim quote" + note)
    missing = sorted(numbers_in(body) - set().union(*(v.numbers for v in mine)))
    words = content(body)
    overlap = len(words & set().union(*(v.content for v in mine))) / len(words) if words else 0.0
    per_source = best_sentences(body, words, mine, embedder)
    best_sim = max(s for s, _ in per_source)
    support = round(0.5 * overlap + 0.5 * best_sim, 4)
    verdict = verdict_of(support)
    reason = f"word overlap {overlap:.2f}, best-sentence similarity {best_sim:.2f}"
    if missing:
        verdict, reason = "unsupported", f"numbers not in the cited abstracts: {', '.join(missing)}"
    for k, (sim, i) in zip(markers, per_source, strict=True):
        own = 0.5 * overlap + 0.5 * sim
        tally.add(k, min(own, WEAK - 0.01) if missing else own, [i] if sim > 0 else [])
    return SentenceCheck(claim, markers, verdict, support, reason + note)


def _check_note(claim: str, markers: tuple[int, ...], views: Sequence[SourceView]) -> SentenceCheck:
    """The verdict on a note (``rag.answer.notes``): one that names a paper ("The X abstract does not state ...",
    "Yes: <title>") is supported when every source it cites is that paper; one about coverage ("No retrieved
    abstract covers X") claims nothing from a source."""
    name = note_names(claim)
    if not name:
        return SentenceCheck(claim, markers, "supported", 1.0, "note on what the sources cover, not a claim")
    mine = [views[n - 1] for n in markers]
    if is_record(claim):
        if len(mine) == 1 and record_matches(claim, mine[0].paper) and names_paper(name, mine[0].paper.title, ""):
            return SentenceCheck(claim, markers, "supported", 1.0, "the cited paper's own record")
        return SentenceCheck(claim, markers, "unsupported", 0.0, "record note whose values are not the cited paper's")
    if mine and all(names_paper(name, v.paper.title, v.paper.abstract) for v in mine):
        return SentenceCheck(claim, markers, "supported", 1.0, "note naming the paper it cites, not a quote")
    return SentenceCheck(claim, markers, "unsupported", 0.0, "note naming a paper it does not cite")


def check_answer(
    text: str,
    sources: Sequence[Paper],
    embedder: Embedder | None = None,
    *,
    require_citations: bool = True,
) -> Checked:
    """Renumber ``text``'s markers by first use, drop those pointing past ``sources`` (reported in
    ``removed_markers``), and give every sentence a verdict against the sources it cites.

    A sentence is *supported* when it quotes a cited abstract verbatim, or when its support proxy
    (mean of content-word overlap with the cited abstracts and the best sentence-embedding similarity)
    is at least ``SUPPORTED``; *weak* at least ``WEAK``; otherwise, or when a number in it appears in no
    cited abstract or title, or when it cites nothing (and ``require_citations``), *unsupported*."""
    new_text, order, removed = renumber(text, len(sources))
    views = [source_view(sources[n - 1]) for n in order]
    tally = _Tally([0.0] * len(views), [[] for _ in views])
    checks: list[SentenceCheck] = []
    for sentence, markers, inherited in cited_sentences(new_text, [p.title for p in sources]):
        claim = strip_markers(sentence)
        if not claim or not re.search(r"[A-Za-z0-9]", claim):
            continue
        if is_note(claim):
            checks.append(_check_note(claim, markers, views))
            continue
        if not markers:
            verdict: Verdict = "unsupported" if require_citations else "weak"
            checks.append(SentenceCheck(claim, (), verdict, 0.0, "cites no source"))
            continue
        note = " (markers of the next sentence)" if inherited else ""
        checks.append(_check_sentence(claim, markers, note, views, embedder, tally))
    citations = []
    for position, view in enumerate(views, start=1):
        indices = tuple(sorted(tally.quotes[position - 1]))
        quote = " ".join(view.sentences[i] for i in indices)
        support = round(tally.support[position - 1], 4)
        citations.append(Citation(position, view.paper, quote, indices, verdict_of(support), support))
    return Checked(new_text, tuple(citations), tuple(checks), removed)
