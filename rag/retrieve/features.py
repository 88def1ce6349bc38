"""Reranking features and the learned models on them.

Per-candidate features in groups (fusion, dense, sentence, lexical, exact match), the logistic
model over them fitted by ``evals/fit_reranker.py`` (weights in ``rag/data/reranker.json``); the
abstention model on the ranked list is in ``rag.retrieve.abstain``.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from rag.index.lexicon import Lexicon
from rag.resources import data_path
from rag.retrieve.base import Candidate
from rag.retrieve.query import Query
from rag.text import singular
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


LEXICAL: tuple[str, ...] = FEATURE_GROUPS["lexical"][1:] + FEATURE_GROUPS["exact"]
"""The features read from a paper's words (``lexical_features``); the retriever computes them with its lexicon
and hands them on in ``Candidate.lexical``."""


@lru_cache(maxsize=4096)
def _name_pattern(name: str) -> tuple[str, re.Pattern[str]]:
    """(lower-case head for a fast substring pre-check, whole-word pattern) of a query name; a hyphen between its
    letters and digits is optional ("GPT2" is "GPT-2", "GPT-4" is "GPT4")."""
    core = singular(name).lower()
    loose = re.sub(r"(?<=[a-z])-?(?=\d)", "-?", re.escape(core).replace(r"\-", "-"))
    head = re.split(r"[-\d]", core, maxsplit=1)[0] or core
    return head, re.compile(r"(?<![a-z0-9])" + loose + r"s?(?![a-z0-9])")


def _has_name(pattern: tuple[str, re.Pattern[str]], text: str) -> bool:
    return pattern[0] in text and pattern[1].search(text) is not None


@dataclass(frozen=True, slots=True)
class _QueryTerms:
    """What the lexical and exact-match features compare each paper with: the query's distinct tokens, its
    bigrams and numbers as ids of the lexicon's vocabulary (-1: no paper holds it), and its names."""

    patterns: list[tuple[str, re.Pattern[str]]]
    tokens: tuple[int, ...]
    idf: tuple[float, ...]
    """The idf of each of ``tokens``."""
    idf_total: float
    bigrams: tuple[tuple[int, int], ...]
    numbers: tuple[int, ...]

    @classmethod
    def of(cls, query: Query, lexicon: Lexicon) -> _QueryTerms:
        idf = dict(zip(query.tokens, query.idf, strict=True)) if query.idf else dict.fromkeys(query.tokens, 1.0)
        pairs = (bigram.partition(" ") for bigram in query.bigrams)  # two tokens joined by a space
        return cls(
            [_name_pattern(name) for name in query.names],
            tuple(lexicon.id_of(t) for t in idf),
            tuple(idf.values()),
            sum(idf.values()) or 1.0,
            tuple((lexicon.id_of(a), lexicon.id_of(b)) for a, _, b in pairs),
            tuple(lexicon.id_of(n) for n in query.numbers),
        )


def lexical_features(query: Query, papers: Sequence[Paper], lexicon: Lexicon | None = None) -> list[tuple[float, ...]]:
    """The ``LEXICAL`` features of each paper for ``query``, read from ``lexicon`` (built for these papers
    alone when it is not given or lacks one of them): title, document and idf-weighted token overlap, bigram
    overlap, the exact-match group (names as whole words, numbers)."""
    if lexicon is None or any(p.id not in lexicon for p in papers):
        lexicon = Lexicon.build({p.id: p for p in papers})
    q = _QueryTerms.of(query, lexicon)
    rows = np.array([lexicon.row[p.id] for p in papers], dtype=np.int64)
    title = lexicon.has("title", rows, q.tokens)
    tokens = title | lexicon.has("body", rows, q.tokens)
    bigrams = lexicon.has_pairs("title", rows, q.bigrams) | lexicon.has_pairs("body", rows, q.bigrams)
    numbers = lexicon.has("numbers", rows, q.numbers)
    in_title, in_doc = title.sum(axis=1).tolist(), tokens.sum(axis=1).tolist()
    n_bigrams, n_numbers, found = bigrams.sum(axis=1).tolist(), numbers.sum(axis=1).tolist(), tokens.tolist()
    out: list[tuple[float, ...]] = []
    for i, paper in enumerate(papers):
        overlap = (0.0, 0.0, 0.0)
        if q.tokens:
            idf = sum(w for w, hit in zip(q.idf, found[i], strict=True) if hit) / q.idf_total
            overlap = (in_title[i] / len(q.tokens), in_doc[i] / len(q.tokens), idf)
        bigram = n_bigrams[i] / len(q.bigrams) if q.bigrams else 0.0
        number = n_numbers[i] / len(q.numbers) if q.numbers else 0.0
        out.append((*overlap, bigram, *_names(q.patterns, paper), number))
    return out


def _names(patterns: Sequence[tuple[str, re.Pattern[str]]], paper: Paper) -> tuple[float, float, float, float]:
    """(share of the query's names in the paper, share in its title, names missing, share missing)."""
    if not patterns:
        return 0.0, 0.0, 0.0, 0.0
    lower, title = f"{paper.title}\n{paper.abstract}".lower(), paper.title.lower()
    found = sum(_has_name(p, lower) for p in patterns)
    share = found / len(patterns)
    return share, sum(_has_name(p, title) for p in patterns) / len(patterns), float(len(patterns) - found), 1.0 - share


def featurize(query: Query, candidates: Sequence[Candidate], papers: Mapping[str, Paper]) -> np.ndarray:
    """The ``FEATURES`` matrix of the candidates (one row each), normalised per query where it matters."""
    n = len(candidates)
    x = np.zeros((n, len(FEATURES)), dtype=np.float64)
    if not n:
        return x
    lexical = _given_lexical(query, candidates, papers)
    bm25 = [c.scores.get("bm25", 0.0) for c in candidates]
    dense = [c.scores.get("dense", 0.0) for c in candidates]
    sims = [sorted(c.sentence_scores.tolist(), reverse=True) for c in candidates]
    sent = [s[0] if s else 0.0 for s in sims]
    max_bm25, max_dense, max_sent = max(bm25), max(dense), max(sent)
    rows = []
    for i, c in enumerate(candidates):
        r_bm25, r_dense, r_sent = c.ranks.get("bm25"), c.ranks.get("dense"), c.ranks.get("sentence")
        top2 = sims[i][:2]
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
                *lexical[i],
            )
        )
    x[:] = rows  # columns in FEATURES order
    return x


def _given_lexical(
    query: Query, candidates: Sequence[Candidate], papers: Mapping[str, Paper]
) -> list[tuple[float, ...]]:
    """The candidates' ``LEXICAL`` features: as the retriever computed them, else computed here."""
    given = [c.lexical for c in candidates]
    if all(values is not None for values in given):
        return [values for values in given if values is not None]
    return lexical_features(query, [papers[c.paper_id] for c in candidates])


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
