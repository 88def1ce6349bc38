"""Sentence-level answer metrics of the eval harness: faithfulness and citation quality (what an answer holds,
such as its key facts: ``rag.evals.facts``; metrics over a set of items: ``rag.evals.stats``; ranking metrics:
``rag.evals.ranking``).

Every function here is pure: it takes an ``Answer`` (or plain strings) and returns numbers, so each metric
can be tested on hand-made cases. The definitions below are the ones printed in ``report.md``.

Faithfulness and citation quality are measured per *answer sentence* (the text between sentence
boundaries, with its ``[n]`` markers), against the abstracts of the papers those markers cite, on three
support tiers:

``exact``
    the sentence minus its markers, normalised (case, accents, punctuation), is a substring of one
    cited abstract, or its parts joined with "…" all are, in order, within one cited abstract. Verbatim
    quoting: strict, but blind to paraphrase.
``proxy``
    the citation checker's verdict (``Answer.checks``) is "supported": numbers consistent and support score
    over its threshold. When an answerer gives no checks, a lexical stand-in is used: every number of the
    sentence appears in the cited abstracts and at least ``PROXY_SUPPORT`` of its content words (stemmed) do.
    A proxy, not a judgement of meaning.
``judge``
    an LLM splits the sentence into claims and says whether the cited text supports each one (see
    ``rag.evals.judge.LLMJudge``); only when an LLM is configured.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from rag.answer.base import is_abstention
from rag.answer.notes import is_note
from rag.text import (
    answer_sentences,
    content_words,
    list_label,
    markers_in,
    normalize_title,
    numbers_in,
    parts_in_order,
    quote_parts,
    strip_bullet,
    strip_markers,
)
from rag.types import Answer

PROXY_SUPPORT = 0.6
"""Share of a sentence's content words that must appear in its cited abstracts (lexical proxy tier)."""

Tier = str
TIERS: tuple[Tier, ...] = ("exact", "proxy", "judge")


@dataclass(frozen=True, slots=True)
class Unit:
    """One answer sentence: text without markers, the markers it carries, and the checker's verdict."""

    text: str
    markers: tuple[int, ...]
    verdict: str | None = None


def answer_units(answer: Answer) -> list[Unit]:
    """The answer's sentences with their markers. Uses ``Answer.checks`` when the answerer gave them
    (the citation checker's segmentation and verdicts), else splits ``Answer.text``. A list bullet and a
    leading "Cited paper title:" label are presentation, not claims, and are dropped from the sentence; a note
    about the sources ("The X abstract does not state ...", "Yes: <title>", ``rag.answer.notes``) is not a
    claim and is dropped. The abstention sentence is not an answer sentence; an abstained answer has none."""
    if answer.abstained:
        return []
    titles = [c.paper.title for c in answer.citations]
    if answer.checks:
        units = [
            Unit(strip_markers(c.text), tuple(c.markers) or tuple(markers_in(c.text)), c.verdict) for c in answer.checks
        ]
    else:
        units = split_answer(answer.text)
    units = [Unit(strip_label(u.text, titles), u.markers, u.verdict) for u in units]
    units = [u for u in units if not is_title_fragment(u.text, titles) and not is_note(u.text)]
    return [u for u in units if normalize_title(u.text) and not is_abstention(u.text)]


def strip_label(sentence: str, titles: Sequence[str] = ()) -> str:
    """``sentence`` without a leading list bullet and a leading ``Title:`` label naming one of ``titles``
    (``rag.text.list_label``), or the end of one, when a ``?`` in the title made the sentence splitter cut it."""
    label = list_label(sentence, titles)
    if label:
        return sentence[len(label) :].strip()
    plain = strip_bullet(sentence).strip().lstrip("*_ ")
    normalized = [normalize_title(t) for t in titles if normalize_title(t)]
    colons = [i for i, ch in enumerate(plain) if ch == ":"]
    for i in reversed(colons):
        label = normalize_title(plain[:i])
        if label and any(t.endswith(label) for t in normalized):
            return plain[i + 1 :].strip()
    return strip_bullet(sentence).strip()


def is_title_fragment(sentence: str, titles: Sequence[str]) -> bool:
    """Whether ``sentence`` is only (a piece of) a cited paper's title: a label, not a claim."""
    text = normalize_title(sentence)
    return bool(text) and any(text in normalize_title(t) for t in titles)


def split_answer(text: str) -> list[Unit]:
    """Sentences of an answer text (``rag.text.answer_sentences``: a marker right after a sentence's full
    stop, ``... loss. [1] Next ...``, belongs to the sentence before it) with their markers."""
    units = [Unit(strip_markers(s), tuple(markers_in(s))) for s in answer_sentences(text)]
    return [u for u in units if normalize_title(u.text)]


# ---------------------------------------------------------------------------------------- support


def exact_support(sentence: str, sources: Sequence[str]) -> bool:
    """Exact tier: the normalised sentence is a substring of one normalised source text, or its parts joined
    with "…" (``rag.text.quote_parts``) each are, in order, within one source (whole words)."""
    text = strip_markers(sentence)
    needle = normalize_title(text)
    if not needle:
        return False
    parts = [f" {p} " for p in (normalize_title(q) for q in quote_parts(text)) if p]
    for source in sources:
        haystack = f" {normalize_title(source)} "
        if f" {needle} " in haystack or (len(parts) > 1 and parts_in_order(parts, haystack)):
            return True
    return False


def lexical_support(sentence: str, sources: Sequence[str], threshold: float = PROXY_SUPPORT) -> bool:
    """Lexical proxy: every number of the sentence appears in the sources, and at least ``threshold``
    of its content words (stemmed) do."""
    if not sources:
        return False
    joined = " ".join(sources)
    if not numbers_in(sentence) <= numbers_in(joined):
        return False
    words = content_words(sentence)
    if not words:
        return True
    return len(words & content_words(joined)) / len(words) >= threshold


Support = Callable[[str, Sequence[str]], bool]
"""Whether a sentence is supported by a set of source texts."""


@dataclass(frozen=True, slots=True)
class CitationScores:
    """Per-answer citation metrics on one tier; None when there is nothing to score."""

    faithfulness: float | None
    """Share of answer sentences supported by the sources they cite (uncited sentences: unsupported)."""
    recall: float | None
    """ALCE citation recall: share of sentences whose cited set supports them (same as faithfulness at
    sentence level; reported under both names as ALCE does)."""
    precision: float | None
    """ALCE citation precision: share of (sentence, citation) pairs where the citation is needed — the
    cited set supports the sentence and either this citation alone supports it or the set without it
    does not. Markers pointing at no source count as not needed."""
    sentences: int
    citations: int


def citation_scores(
    units: Sequence[Unit],
    sources: Mapping[int, str],
    support: Support,
    sentence_supported: Sequence[bool | None] | None = None,
) -> CitationScores:
    """Faithfulness, citation recall and precision of one answer on one tier.

    ``sources`` maps a marker to the cited text; ``support(sentence, texts)`` is the tier's test.
    ``sentence_supported`` overrides the set-level verdict per sentence (the checker's verdicts for the
    proxy tier); ``support`` is still used for the leave-one-out test of precision.
    """
    if not units:
        return CitationScores(None, None, None, 0, 0)
    supported = 0
    needed = 0
    total = 0
    for i, unit in enumerate(units):
        markers = list(dict.fromkeys(unit.markers))
        texts = [sources[m] for m in markers if m in sources]
        if sentence_supported is not None and sentence_supported[i] is not None:
            ok = bool(sentence_supported[i]) and bool(texts)
        else:
            ok = bool(texts) and support(unit.text, texts)
        supported += ok
        for m in markers:
            total += 1
            if not ok or m not in sources:
                continue
            others = [sources[o] for o in markers if o != m and o in sources]
            if support(unit.text, [sources[m]]) or not (others and support(unit.text, others)):
                needed += 1
    share = supported / len(units)
    return CitationScores(share, share, needed / total if total else None, len(units), total)


def invalid_markers(answer: Answer) -> tuple[int, int]:
    """(markers pointing at no citation, all markers): markers in the text with no ``Citation`` of that
    number, plus markers the citation checker already removed (``Answer.removed_markers``)."""
    valid = {c.marker for c in answer.citations}
    found = markers_in(answer.text)
    bad = sum(1 for m in found if m not in valid) + len(answer.removed_markers)
    return bad, len(found) + len(answer.removed_markers)

