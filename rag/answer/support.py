"""How well a cited abstract backs one answer sentence: a verbatim quote of it, or the support proxy.

The support score is a **proxy** for entailment (no NLI model is available offline): it combines the
share of the sentence's content words found in the cited abstracts with the best embedding similarity
between the sentence and one sentence of a cited abstract. A sentence that quotes its source verbatim
is supported by construction, and so is a quote whose parts, joined with "…", each occur in one cited
abstract in that order (``rag.text.quote_parts``); a number that appears in no cited abstract makes a
sentence unsupported. ``rag.answer.citations.check_answer`` combines these into each sentence's verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.index.embeddings import Embedder
from rag.text import (
    MIN_PART_WORDS,
    list_label,
    normalize_verbatim,
    numbers_in,
    parts_in_order,
    quote_parts,
    split_sentences,
    strip_bullet,
    tokenize,
)
from rag.types import Paper, Verdict

SUPPORTED = 0.62
"""Support proxy at or above which a sentence counts as supported."""
WEAK = 0.45
"""Support proxy at or above which a sentence counts as weakly supported (below: unsupported)."""


def content(text: str) -> set[str]:
    """The content words of a text (``rag.text.tokenize``), as a set."""
    return set(tokenize(text))


def verdict_of(support: float) -> Verdict:
    """The verdict a support proxy earns: ``SUPPORTED`` and ``WEAK`` are the cut-offs."""
    if support >= SUPPORTED:
        return "supported"
    if support >= WEAK:
        return "weak"
    return "unsupported"


def strip_list_prefix(sentence: str, papers: Sequence[Paper]) -> str:
    """``- Title: quote`` -> ``quote`` when ``Title`` is one of the cited papers' titles."""
    label = list_label(sentence, [p.title for p in papers])
    return sentence[len(label) :].strip() or strip_bullet(sentence).strip()


@dataclass(slots=True)
class SourceView:
    """A cited paper as the checker reads it: its abstract's sentences (as written and normalised), content
    words and numbers, and the sentences' vectors once embedded."""

    paper: Paper
    sentences: list[str]
    normalised: list[str]
    content: set[str]
    numbers: set[str]
    joined: str = ""
    """The whole abstract, normalised (quotes that span sentences, gapped quotes)."""
    vectors: np.ndarray | None = None


def source_view(paper: Paper) -> SourceView:
    sents = [paper.abstract[s.start : s.end] for s in split_sentences(paper.abstract)] or [paper.abstract]
    return SourceView(
        paper,
        sents,
        [normalize_verbatim(s) for s in sents],
        content(f"{paper.title} {paper.abstract}"),
        numbers_in(f"{paper.title} {paper.abstract}"),
        normalize_verbatim(paper.abstract),
    )


def quoted_in(body: str, view: SourceView) -> list[int] | None:
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


def best_sentences(
    body: str, words: set[str], mine: Sequence[SourceView], embedder: Embedder | None
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
        scores = [len(words & content(s)) / len(words) if words else 0.0 for s in v.sentences]
        i = int(np.argmax(scores))
        per_source.append((scores[i], i))
    return per_source
