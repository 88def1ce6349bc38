"""Reranking features and the learned models on them.

Per-candidate features in groups (fusion, dense, sentence, lexical, exact match), the logistic
model over them fitted by ``evals/fit_reranker.py`` (weights in ``rag/data/reranker.json``); the
abstention model on the ranked list is in ``rag.retrieve.abstain``.
"""

from __future__ import annotations

import itertools
import json
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from rag.resources import data_path
from rag.retrieve.base import Candidate
from rag.retrieve.query import Query
from rag.text import numbers_in, singular, tokenize
from rag.types import Paper

WEIGHTS_PATH = data_path("reranker.json")


FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "fusion": ("rrf", "rr_bm25", "rr_dense", "rr_sentence"),
    "dense": ("dense", "dense_gap"),
    "sentence": ("sent_max", "sent_top2", "sent_gap"),
    "lexical": ("bm25", "title_overlap", "doc_overlap", "idf_overlap", "bigram"),
    "exact": ("name_match", "name_title", "name_miss", "name_miss_frac", "number_match"),
}


FEATURES: tuple[str, ...] = tuple(f for group in FEATURE_GROUPS.values() for f in group)


@dataclass(frozen=True, slots=True)
class _PaperText:
    title_tokens: frozenset[str]
    tokens: frozenset[str]
    bigrams: frozenset[str]
    lower: str
    title_lower: str
    numbers: frozenset[str]


@lru_cache(maxsize=16384)
def _paper_text(title: str, abstract: str) -> _PaperText:
    body = tokenize(abstract)
    title_tokens = tokenize(title)
    everything = title_tokens + body
    return _PaperText(
        frozenset(title_tokens),
        frozenset(everything),
        frozenset(f"{a} {b}" for seq in (title_tokens, body) for a, b in itertools.pairwise(seq)),
        f"{title}\n{abstract}".lower(),
        title.lower(),
        frozenset(numbers_in(f"{title} {abstract}")),
    )


@lru_cache(maxsize=4096)
def _name_pattern(name: str) -> tuple[str, re.Pattern[str]]:
    """(lower-case core for a fast substring pre-check, whole-word pattern) of a query name."""
    core = singular(name).lower()
    return core, re.compile(r"(?<![a-z0-9])" + re.escape(core) + r"s?(?![a-z0-9])")


def _has_name(pattern: tuple[str, re.Pattern[str]], text: str) -> bool:
    return pattern[0] in text and pattern[1].search(text) is not None


@dataclass(frozen=True, slots=True)
class _QueryTerms:
    """What the lexical and exact-match features compare each paper with."""

    patterns: list[tuple[str, re.Pattern[str]]]
    tokens: set[str]
    idf: dict[str, float]
    idf_total: float
    bigrams: tuple[str, ...]
    numbers: tuple[str, ...]

    @classmethod
    def of(cls, query: Query) -> _QueryTerms:
        idf = dict(zip(query.tokens, query.idf, strict=True)) if query.idf else dict.fromkeys(query.tokens, 1.0)
        patterns = [_name_pattern(name) for name in query.names]
        return cls(patterns, set(query.tokens), idf, sum(idf.values()) or 1.0, query.bigrams, query.numbers)


def _lexical(text: _PaperText, q: _QueryTerms) -> tuple[float, ...]:
    """The lexical group but BM25 (title, document, idf overlap, bigrams) and the exact-match group."""
    title_overlap = doc_overlap = idf_overlap = 0.0
    if q.tokens:
        title_overlap = len(q.tokens & text.title_tokens) / len(q.tokens)
        doc_overlap = len(q.tokens & text.tokens) / len(q.tokens)
        idf_overlap = sum(w for t, w in q.idf.items() if t in text.tokens) / q.idf_total
    bigram = sum(b in text.bigrams for b in q.bigrams) / len(q.bigrams) if q.bigrams else 0.0
    name_match = name_title = name_miss = name_miss_frac = 0.0
    if q.patterns:
        found = sum(_has_name(p, text.lower) for p in q.patterns)
        name_match = found / len(q.patterns)
        name_miss = float(len(q.patterns) - found)
        name_miss_frac = 1.0 - name_match
        name_title = sum(_has_name(p, text.title_lower) for p in q.patterns) / len(q.patterns)
    number_match = sum(num in text.numbers for num in q.numbers) / len(q.numbers) if q.numbers else 0.0
    return (title_overlap, doc_overlap, idf_overlap, bigram, name_match, name_title, name_miss, name_miss_frac,
            number_match)


def featurize(query: Query, candidates: Sequence[Candidate], papers: Mapping[str, Paper]) -> np.ndarray:
    """The ``FEATURES`` matrix of the candidates (one row each), normalised per query where it matters."""
    n = len(candidates)
    x = np.zeros((n, len(FEATURES)), dtype=np.float64)
    if not n:
        return x
    terms = _QueryTerms.of(query)
    bm25 = [c.scores.get("bm25", 0.0) for c in candidates]
    dense = [c.scores.get("dense", 0.0) for c in candidates]
    sims = [sorted(c.sentence_scores.tolist(), reverse=True) for c in candidates]
    sent = [s[0] if s else 0.0 for s in sims]
    max_bm25, max_dense, max_sent = max(bm25), max(dense), max(sent)
    rows = []
    for i, c in enumerate(candidates):
        paper = papers[c.paper_id]
        r_bm25, r_dense, r_sent = c.ranks.get("bm25"), c.ranks.get("dense"), c.ranks.get("sentence")
        top2 = sims[i][:2]
        lexical = _lexical(_paper_text(paper.title, paper.abstract), terms)
        rows.append(
            (
                c.rrf * 60.0,
                1.0 / r_bm25 if r_bm25 else 0.0,
                1.0 / r_dense if r_dense else 0.0,
                1.0 / r_sent if r_sent else 0.0,
                dense[i],
                dense[i] - max_dense,
                sent[i],
                sum(top2) / len(top2) if top2 else 0.0,
                sent[i] - max_sent,
                bm25[i] / max_bm25 if max_bm25 > 0 else 0.0,
                *lexical,
            )
        )
    x[:] = rows  # columns in FEATURES order
    return x


def load_weights(path: Path = WEIGHTS_PATH, known: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """The fitted weights; a part whose features this code does not compute (``known``: part -> feature
    names, default the ranker's) is dropped (with a warning: rerun ``evals/fit_reranker.py``)."""
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    for part, names in (known or {"ranker": FEATURES}).items():
        if part in data and not set(data[part].get("features", ())) <= set(names):
            warnings.warn(f"{path}: {part} weights are stale; rerun python -m evals.fit_reranker", stacklevel=2)
            del data[part]
    return data


def hit_features(row: np.ndarray, logit: float, candidate: Candidate, query: Query) -> dict[str, float]:
    """What a hit carries in ``Hit.features``: its feature row, the model's logit, raw stage scores and
    query-level signals (``oov``)."""
    features = {name: float(v) for name, v in zip(FEATURES, row, strict=True)}
    features["logit"] = logit
    features["bm25_raw"] = float(candidate.scores.get("bm25", 0.0))
    features["oov"] = float(query.oov)
    features["q_names"] = float(len(query.names))
    features["q_numbers"] = float(len(query.numbers))
    return features
