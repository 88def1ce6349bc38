"""Answer-level metrics of the eval harness (ranking metrics live in ``rag.evals.ranking``).

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

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from rag.answer.base import is_abstention
from rag.answer.notes import is_note
from rag.text import (
    WORD,
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
    tokenize,
    words,
)
from rag.types import Answer

PROXY_SUPPORT = 0.6
"""Share of a sentence's content words that must appear in its cited abstracts (lexical proxy tier)."""
KEY_FACT_WORDS = 0.6
"""Share of a key fact's content words that must appear in the answer."""
LEAD_WORDS = 40
"""How many words of an answer a reader takes in first: the span ``key_fact_first40`` looks at."""
NOT_STATED = re.compile(r"\bnot\s+stated\b|\bdoes\s+not\s+state\b", re.IGNORECASE)
"""What flags an answer as "the sources do not state it" when its first sentence holds it."""

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


# ------------------------------------------------------------------------------------------ content


def key_fact_present(fact: str, answer_text: str, threshold: float = KEY_FACT_WORDS) -> bool:
    """A key fact is present when every number in it appears in the answer, so does every code mixing letters
    and digits ("H100", "L2", "GPT-4o": an answer saying "A100" or "L1" does not hold it), and at least
    ``threshold`` of its written content words do (stemmed, stopwords out; a hyphenated word counts once, and
    is there when its parts are: "state-of-the-art" = "state of the art")."""
    text = strip_markers(answer_text)
    if not numbers_in(fact) <= numbers_in(text) or not _codes(fact) <= _codes(text):
        return False
    written = [parts for word in words(fact) if (parts := _parts(word))]
    if not written:
        return bool(numbers_in(fact) or _codes(fact))
    have = content_words(text)
    return sum(parts <= have for parts in written) / len(written) >= threshold


def _parts(word: str) -> set[str]:
    """The stemmed content tokens one written word stands for: its hyphen-free parts when it has any."""
    tokens = content_words(word)
    return {t for t in tokens if "-" not in t} or tokens


def _codes(text: str) -> set[str]:
    """Tokens that mix letters and digits ("h100", "l2", "4o"), hyphen-free."""
    return {t for t in tokenize(text) if "-" not in t and any(c.isdigit() for c in t) and any(c.isalpha() for c in t)}


def key_fact_recall(facts: Sequence[str], answer_text: str) -> float | None:
    """Share of the item's key facts present in the answer (None when the item lists none)."""
    if not facts:
        return None
    return sum(key_fact_present(f, answer_text) for f in facts) / len(facts)


def lead(answer_text: str, n: int = LEAD_WORDS) -> str:
    """The answer's opening up to the end of its ``n``-th word, citation markers removed (words as
    ``rag.text.words`` counts them, the count ``answer_words_*`` uses)."""
    text = strip_markers(answer_text)
    ends = [m.end() for m in WORD.finditer(text)]
    return text if len(ends) <= n else text[: ends[n - 1]]


def key_fact_first(facts: Sequence[str], answer_text: str, n: int = LEAD_WORDS) -> float | None:
    """1.0 when the answer's first ``n`` words (``lead``) hold at least one of the key facts by the
    ``key_fact_present`` rule, else 0.0; None when the item lists none."""
    if not facts:
        return None
    opening = lead(answer_text, n)
    return float(any(key_fact_present(f, opening) for f in facts))


def says_not_stated(answer_text: str) -> bool:
    """Whether the answer's first sentence says the sources do not state what was asked ("not stated",
    "does not state")."""
    first = next(iter(answer_sentences(answer_text)), "")
    return bool(NOT_STATED.search(strip_markers(first)))


def answer_f1(prediction: str, reference: str) -> float:
    """SQuAD-style token F1 between the answer (markers removed) and the reference answer, on stemmed
    content words (``rag.text.tokenize``), counting repeats."""
    pred = tokenize(strip_markers(prediction))
    ref = tokenize(reference)
    if not pred or not ref:
        return float(pred == ref)
    common: dict[str, int] = {}
    ref_counts: dict[str, int] = {}
    for t in ref:
        ref_counts[t] = ref_counts.get(t, 0) + 1
    for t in pred:
        if ref_counts.get(t, 0) > 0:
            ref_counts[t] -= 1
            common[t] = common.get(t, 0) + 1
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(pred)
    recall = overlap / len(ref)
    return 2 * precision * recall / (precision + recall)


# ---------------------------------------------------------------------------------------- abstention


def abstention_metrics(answerable: Sequence[bool], abstained: Sequence[bool]) -> dict[str, float | None]:
    """Abstention quality over items, "refusing" being the positive class.

    ``abstention_accuracy``: answerable items answered plus unanswerable items refused, over all items.
    ``over_abstention_rate``: answerable items refused, over answerable items.
    ``abstain_precision``: refusals that were on unanswerable items, over refusals (None: no refusal).
    ``abstain_recall``: unanswerable items refused, over unanswerable items (None: none in the set).
    """
    pairs = list(zip(answerable, abstained, strict=True))
    n = len(pairs)
    correct = sum(1 for a, r in pairs if a != r)
    n_answerable = sum(1 for a, _ in pairs if a)
    n_unanswerable = n - n_answerable
    refused = sum(1 for _, r in pairs if r)
    true_refusals = sum(1 for a, r in pairs if r and not a)
    return {
        "abstention_accuracy": correct / n if n else None,
        "over_abstention_rate": sum(1 for a, r in pairs if a and r) / n_answerable if n_answerable else None,
        "abstain_precision": true_refusals / refused if refused else None,
        "abstain_recall": true_refusals / n_unanswerable if n_unanswerable else None,
    }


# ------------------------------------------------------------------------------------------ helpers


def mean(values: Collection[float | None]) -> float | None:
    """Mean of the values that are not None (None when there are none)."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile ``q`` (0..100) of ``values`` (None when empty)."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)
