"""Quotes below the sentence: a sentence trimmed to the clauses that carry the question, parts joined with "…".

A sentence is cut into pieces at clause boundaries ("; ", ": ", ", which", ", while", ", whereas", ", and",
", achieving" and the like, and parentheses). Pieces that share the question's terms (or hold a number, when a
quantity is asked for) are kept; contiguous kept pieces stay one verbatim part, and parts with words left out
between them are joined with ``rag.text.GAP``. Every part is a substring of the sentence, so a trimmed quote
is verbatim from the abstract by construction (the checker verifies it again with ``rag.text.quote_parts``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rag.text import GAP, MIN_PART_WORDS, has_digit, tokenize

_BOUNDARY = re.compile(
    r"(?<=[;:])\s+|,\s+(?=(?:which|while|whereas|where|and|but|thereby|thus|yielding|achieving|enabling|allowing|"
    r"leading|resulting|outperforming|improving|reducing|making|providing|as well as|such as|including|"
    r"e\.g\.|i\.e\.)\b)|\s+(?=\()|(?<=\))(?=[\s,;.])",
)
"""Where a sentence may be cut: after ";" or ":", before a comma-introduced clause, around parentheses."""


ITEM_MARKER = r"\((?:[a-h]|[ivx]{1,4}|\d{1,2})\)"
"""An item's marker, "(a)", "(ii)", "(2)": it opens the item after it, not the clause before it."""
_ENUMERATOR = re.compile(rf"\s*{ITEM_MARKER}\s*")
ITEM = re.compile(rf"\s*{ITEM_MARKER}\s")
"""A piece that is an item of an enumeration: it opens with its marker ("(b) disagreement on the sign ...")."""


@dataclass(frozen=True, slots=True)
class Trim:
    """How a sentence is trimmed. Fitted on ``evals/dev_fit.jsonl``."""

    min_words: int = 22
    """Sentences this short are quoted whole."""
    keep_ratio: float = 0.34
    """A piece is kept when its term weight reaches this share of the best piece's."""
    min_piece_words: int = 4
    """Shorter pieces join the piece before them (so no part is a stray word or two)."""


def pieces(sentence: str, min_words: int = 4) -> list[tuple[int, int]]:
    """``(start, end)`` spans covering ``sentence`` end to end, cut at clause boundaries; a piece shorter than
    ``min_words`` words joins its neighbour, and an item's marker ("(a)", "(2)") the item it opens; no cut falls
    inside parentheses."""
    cuts = [0]
    depth = 0
    last = 0
    for match in _BOUNDARY.finditer(sentence):
        depth += sentence.count("(", last, match.start()) - sentence.count(")", last, match.start())
        last = match.start()
        if depth <= 0:
            cuts.append(match.end() if sentence[match.start()] != "," else match.start())
    cuts.append(len(sentence))
    spans = [(a, b) for a, b in itertools.pairwise(cuts) if sentence[a:b].strip()]
    merged: list[tuple[int, int]] = []
    start: int | None = None  # an enumerator waiting for its item: "(a)" opens "(a) interference due to ..."
    for a, b in spans:
        if _ENUMERATOR.fullmatch(sentence[a:b]):
            start = a if start is None else start
            continue
        a, start = (a if start is None else start), None
        if merged and len(sentence[a:b].split()) < min_words:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    if start is not None:  # an enumerator ends the sentence: it stays with what came before
        merged[-1:] = [(merged[-1][0] if merged else start, len(sentence))]
    if len(merged) > 1 and len(sentence[merged[0][0] : merged[0][1]].split()) < min_words:
        merged[0:2] = [(merged[0][0], merged[1][1])]
    return merged


def _clean(part: str) -> str:
    """A kept part without the punctuation and spaces at its edges that belong to the cut."""
    return part.strip().lstrip(",;: ").rstrip(",;: ").strip()


def trim(sentence: str, weights: Mapping[str, float], wants_number: bool, rule: Trim | None = None) -> str:
    """``sentence`` cut to the pieces that carry the question: its term ``weights`` (stemmed token -> weight),
    and numbers when ``wants_number``. The result is the sentence itself, or verbatim parts of it joined with
    ``GAP`` (in sentence order)."""
    rule = rule or Trim()
    if len(sentence.split()) < rule.min_words or not weights:
        return sentence
    spans = pieces(sentence, rule.min_piece_words)
    if len(spans) < 2:
        return sentence
    scores = []
    for a, b in spans:
        tokens = set(tokenize(sentence[a:b]))
        score = sum(w for t, w in weights.items() if t in tokens)
        if wants_number and has_digit(sentence[a:b]):
            score += max(weights.values())
        scores.append(score)
    best = max(scores)
    if best <= 0:
        return sentence
    keep = [s > 0 and s >= best * rule.keep_ratio for s in scores]
    return join_kept(sentence, spans, keep)


GAP_FILL_WORDS = 8
"""Words left out between two kept parts of one sentence are quoted after all when they are this few: a short gap
saves little length, and what it cuts is often the fact ("only a small portion … of the attention heads" cut
"(less than 5%)") or the grammar ("propose … loss" cut "an Auto-Quantized Contrastive Learning (AQCL)"). Chosen on
fitting sets only: 5 changed none of their figures; 8 and 12 raised the same ones (``comp2_fit`` first 40 words
0.400 -> 0.433, ``dev_fit`` key-fact recall 0.758 -> 0.760), 12 with longer answers (docs/evaluation.md)."""


def _bridged(sentence: str, spans: Sequence[tuple[int, int]], keep: Sequence[bool]) -> list[bool]:
    """``keep`` with each run of left-out spans between two kept ones kept too when it has at most
    ``GAP_FILL_WORDS`` words."""
    out = list(keep)
    kept = [i for i, k in enumerate(keep) if k]
    for a, b in itertools.pairwise(kept):
        if b > a + 1 and len(sentence[spans[a + 1][0] : spans[b - 1][1]].split()) <= GAP_FILL_WORDS:
            out[a + 1 : b] = [True] * (b - a - 1)
    return out


def join_kept(sentence: str, spans: Sequence[tuple[int, int]], keep: Sequence[bool]) -> str:
    """The kept ``spans`` of ``sentence``: contiguous kept spans as one verbatim part, parts joined with
    ``GAP``; the whole sentence when every span is kept (or no part is long enough to stand alone). A short run
    of left-out spans between kept ones is kept (``GAP_FILL_WORDS``)."""
    keep = _bridged(sentence, spans, keep)
    if all(keep):
        return sentence
    parts: list[str] = []
    run_start: int | None = None
    for (a, _), kept in zip([*spans, (len(sentence), len(sentence))], [*keep, False], strict=True):
        if kept and run_start is None:
            run_start = a
        if not kept and run_start is not None:
            parts.append(_clean(sentence[run_start:a]))
            run_start = None
    parts = [p for p in parts if len(p.split()) >= MIN_PART_WORDS]
    return GAP.join(parts) if parts else sentence
