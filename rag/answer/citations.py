"""Citation markers in answer text: renumbering, and checking each sentence against its sources (the
marker syntax and sentence rules are ``rag.text``'s).

Both answerers run their text through ``check_answer``: markers are normalised to ``[n]``, renumbered
by first use, markers that point at nothing retrieved are removed and reported, and every sentence is
checked against the abstracts it cites.

The support score is a **proxy** for entailment (no NLI model is available offline): it combines the
share of the sentence's content words found in the cited abstracts with the best embedding similarity
between the sentence and one sentence of a cited abstract. A sentence that quotes its source verbatim
is supported by construction, and so is a quote whose parts, joined with "…", each occur in one cited
abstract in that order (``rag.text.quote_parts``); a number that appears in no cited abstract makes a
sentence unsupported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.notes import is_note, is_record, names_paper, note_names, record_matches
from rag.index.embeddings import Embedder
from rag.text import (
    MARKER,
    MIN_PART_WORDS,
    answer_sentences,
    list_label,
    normalize_verbatim,
    numbers_in,
    parse_markers,
    parts_in_order,
    quote_parts,
    split_sentences,
    strip_bullet,
    strip_markers,
    tokenize,
)
from rag.types import Citation, Paper, SentenceCheck, Verdict

SUPPORTED = 0.62
"""Support proxy at or above which a sentence counts as supported."""
WEAK = 0.45
"""Support proxy at or above which a sentence counts as weakly supported (below: unsupported)."""


@dataclass(frozen=True, slots=True)
class Checked:
    """An answer text after checking: renumbered markers, the cited sources and per-sentence verdicts."""

    text: str
    citations: tuple[Citation, ...]
    checks: tuple[SentenceCheck, ...]
    removed_markers: tuple[int, ...]


def renumber(text: str, n_sources: int) -> tuple[str, list[int], tuple[int, ...]]:
    """Markers rewritten as ``[a]``/``[a, b]`` with sources numbered by first use.

    Returns the new text, ``order`` (``order[i]`` is the original number of new marker ``i + 1``) and the
    original numbers that pointed at no source (``> n_sources``), which are removed with the spaces right
    before them. Nothing else of the text changes; two markers that touch get a space between them."""
    order: list[int] = []
    removed: list[int] = []
    out = ""
    last = 0
    marker_end = taken_at = -1  # where the last written marker ends; where a removed marker's spaces were
    taken = ""
    for marker in parse_markers(text):
        out += text[last : marker.start]
        last = marker.end
        new: list[int] = []
        for number in marker.numbers:
            if number > n_sources:
                removed.append(number)
                continue
            if number not in order:
                order.append(number)
            if order.index(number) + 1 not in new:
                new.append(order.index(number) + 1)
        if not new:
            kept = out.rstrip(" \t")
            taken, taken_at, out = out[len(kept) :], len(kept), kept
            continue
        if len(out) == taken_at:
            out += taken
        elif len(out) == marker_end:
            out += " "
        out += "[" + ", ".join(str(n) for n in sorted(new)) + "]"
        marker_end = len(out)
    return out + text[last:], order, tuple(dict.fromkeys(removed))


_MARKER_LINE = re.compile(rf"[ \t]*\n[ \t]*((?:(?:{MARKER.pattern})[ \t]*)+)(?=\n|$)", re.IGNORECASE)


def _cited_sentences(text: str, titles: Sequence[str] = ()) -> list[tuple[str, tuple[int, ...], bool]]:
    """``(sentence, markers, inherited)`` for each sentence; a sentence without markers takes those of
    the next cited sentence of the same paragraph (``"Claim A. Claim B [1]."`` cites [1] for both).
    A list line ``- Title: quote`` keeps its title whole (titles may hold "?" or ".")."""
    out: list[tuple[str, tuple[int, ...], bool]] = []
    text = _MARKER_LINE.sub(r" \1", text)  # "Claim.\n[1]": a line of markers cites the line before it
    for paragraph in re.split(r"\n", text):
        pending: list[str] = []
        label = list_label(paragraph, titles)
        pieces = answer_sentences(paragraph[len(label) :])
        if label and pieces:
            pieces[0] = f"{label.strip()} {pieces[0]}"
        elif label:
            pieces = [label.strip()]
        for sentence in pieces:
            markers = tuple(dict.fromkeys(n for m in parse_markers(sentence) for n in m.numbers))
            if not markers:
                pending.append(sentence)
                continue
            out.extend((p, markers, True) for p in pending)
            pending = []
            out.append((sentence, markers, False))
        out.extend((p, (), False) for p in pending)
    return out


def _content(text: str) -> set[str]:
    return set(tokenize(text))


def _verdict(support: float) -> Verdict:
    if support >= SUPPORTED:
        return "supported"
    if support >= WEAK:
        return "weak"
    return "unsupported"


def _strip_list_prefix(sentence: str, papers: Sequence[Paper]) -> str:
    """``- Title: quote`` -> ``quote`` when ``Title`` is one of the cited papers' titles."""
    label = list_label(sentence, [p.title for p in papers])
    return sentence[len(label) :].strip() or strip_bullet(sentence).strip()


@dataclass(slots=True)
class _SourceView:
    paper: Paper
    sentences: list[str]
    normalised: list[str]
    content: set[str]
    numbers: set[str]
    joined: str = ""
    """The whole abstract, normalised (quotes that span sentences, gapped quotes)."""
    vectors: np.ndarray | None = None


def _quoted_in(body: str, view: _SourceView) -> list[int] | None:
    """The indices of ``view``'s sentences that ``body`` quotes, when it is verbatim from that abstract: whole
    (in one sentence, or across sentences), or as parts joined with "…" that occur in order
    (``rag.text.quote_parts``, ``parts_in_order``). None when it is not a verbatim quote of it."""
    quoted = normalize_verbatim(body.rstrip(" ."))
    if not quoted:
        return None
    inside = [i for i, s in enumerate(view.normalised) if quoted in s]
    if inside or quoted in view.joined:
        return inside
    parts = [normalize_verbatim(p.rstrip(" .")) for p in quote_parts(body)]
    # one part: a quote that starts or ends with "…" (the composer's later clause of a sentence, split off as
    # an answer sentence of its own); it still needs MIN_PART_WORDS words, as each part of a longer quote does
    if len(parts) == 1 and len(parts[0].split()) < MIN_PART_WORDS:
        return None
    if not parts or not parts_in_order(parts, view.joined):
        return None
    first = [next((i for i, s in enumerate(view.normalised) if p in s), -1) for p in parts]
    return sorted({i for i in first if i >= 0})


def _source_view(paper: Paper) -> _SourceView:
    sents = [paper.abstract[s.start : s.end] for s in split_sentences(paper.abstract)] or [paper.abstract]
    return _SourceView(
        paper,
        sents,
        [normalize_verbatim(s) for s in sents],
        _content(f"{paper.title} {paper.abstract}"),
        numbers_in(f"{paper.title} {paper.abstract}"),
        normalize_verbatim(paper.abstract),
    )


def _best_sentences(
    body: str, words: set[str], mine: Sequence[_SourceView], embedder: Embedder | None
) -> list[tuple[float, int]]:
    """Per cited source, (similarity, index) of its abstract sentence closest to ``body``: by sentence embeddings,
    or by content-word overlap without an embedder."""
    per_source = []
    if embedder is not None:
        qvec = np.asarray(embedder.embed([body])[0], dtype=np.float32)
        for v in mine:
            if v.vectors is None:
                v.vectors = np.asarray(embedder.embed(v.sentences), dtype=np.float32)
            sims = v.vectors @ qvec
            i = int(np.argmax(sims))
            per_source.append((float(sims[i]), i))
        return per_source
    for v in mine:
        scores = [len(words & _content(s)) / len(words) if words else 0.0 for s in v.sentences]
        i = int(np.argmax(scores))
        per_source.append((scores[i], i))
    return per_source


@dataclass(slots=True)
class _Tally:
    """Per cited source: its best support so far and the abstract sentences that back it."""

    support: list[float]
    quotes: list[list[int]]

    def add(self, marker: int, support: float, sentences: Sequence[int]) -> None:
        self.support[marker - 1] = max(self.support[marker - 1], support)
        self.quotes[marker - 1].extend(i for i in sentences if i not in self.quotes[marker - 1])


def _check_sentence(
    claim: str, markers: tuple[int, ...], note: str, views: Sequence[_SourceView], embedder: Embedder | None,
    tally: _Tally,
) -> SentenceCheck:
    """The verdict on one cited sentence (see ``check_answer``), recorded per source in ``tally``."""
    mine = [views[n - 1] for n in markers]
    body = _strip_list_prefix(claim, [v.paper for v in mine])
    quoted = {k: found for k, v in zip(markers, mine, strict=True) if (found := _quoted_in(body, v)) is not None}
    if quoted:
        for k, found_at in quoted.items():
            tally.add(k, 1.0, found_at)
        return SentenceCheck(claim, markers, "supported", 1.0, "verbatim quote" + note)
    missing = sorted(numbers_in(body) - set().union(*(v.numbers for v in mine)))
    words = _content(body)
    overlap = len(words & set().union(*(v.content for v in mine))) / len(words) if words else 0.0
    per_source = _best_sentences(body, words, mine, embedder)
    best_sim = max(s for s, _ in per_source)
    support = round(0.5 * overlap + 0.5 * best_sim, 4)
    verdict = _verdict(support)
    reason = f"word overlap {overlap:.2f}, best-sentence similarity {best_sim:.2f}"
    if missing:
        verdict, reason = "unsupported", f"numbers not in the cited abstracts: {', '.join(missing)}"
    for k, (sim, i) in zip(markers, per_source, strict=True):
        own = 0.5 * overlap + 0.5 * sim
        tally.add(k, min(own, WEAK - 0.01) if missing else own, [i] if sim > 0 else [])
    return SentenceCheck(claim, markers, verdict, support, reason + note)


def _check_note(claim: str, markers: tuple[int, ...], views: Sequence[_SourceView]) -> SentenceCheck:
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
    views = [_source_view(sources[n - 1]) for n in order]
    tally = _Tally([0.0] * len(views), [[] for _ in views])
    checks: list[SentenceCheck] = []
    for sentence, markers, inherited in _cited_sentences(new_text, [p.title for p in sources]):
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
        citations.append(Citation(position, view.paper, quote, indices, _verdict(support), support))
    return Checked(new_text, tuple(citations), tuple(checks), removed)
