"""What an answer holds, for the eval harness: its key facts (anywhere, and in its first words), whether it
says the sources do not state what was asked, and its token F1 against the reference answer. Pure functions
of strings, like ``rag.evals.metrics`` (the citation metrics); the definitions are the ones printed in
``report.md``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.text import WORD, answer_sentences, content_words, numbers_in, strip_markers, tokenize, words

KEY_FACT_WORDS = 0.6
"""Share of a key fact's content words that must appear in the answer."""
LEAD_WORDS = 40
"""How many words of an answer a reader takes in first: the span ``key_fact_first40`` looks at."""
NOT_STATED = re.compile(r"\bnot\s+stated\b|\bdoes\s+not\s+state\b", re.IGNORECASE)
"""What flags an answer as "the sources do not state it" when its first sentence holds it."""


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
