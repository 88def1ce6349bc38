"""The retrieval contracts every stage shares: the prepared question, a first-stage candidate, a reranked list
and the reranker protocol. The pipeline (``rag.pipeline``) spells the chain out once::

    prepare(question, filters) -> PreparedQuery
    candidates(pq)             -> list[Candidate]      (rag.retrieve.hybrid: BM25 + dense + sentence, fused)
    rerank(pq, candidates, k)  -> Ranked               (rag.retrieve.rerank: any Reranker)
    judge(pq, ranked, k)       -> Retrieved            (rag.retrieve.abstain: the abstention model)

Each stage takes and returns these typed values, so evals, fitting scripts and integrations compose the same
stages instead of writing the chain again."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from rag.retrieve.query import Query
from rag.types import Hit, Paper


@dataclass(frozen=True, slots=True)
class PreparedQuery:
    """A question made ready for retrieval, once: normalised, parsed, embedded, its filters resolved."""

    text: str
    """The normalised query text (``rag.text.normalize_query``)."""
    query: Query
    """Tokens, acronym expansion, names, numbers and idf weights (``rag.retrieve.query.parse_query``)."""
    vector: np.ndarray
    """The query's embedding (float32), computed once."""
    allowed: frozenset[str] | None = None
    """Ids of the papers the filters allow (None: every paper)."""
    timings: Mapping[str, float] = field(default_factory=dict)
    """Seconds spent preparing (``embed``)."""


@dataclass(slots=True)
class Candidate:
    """A paper in the candidate pool, with each stage's rank and score."""

    paper_id: str
    rrf: float = 0.0
    """Plain reciprocal-rank fusion score (``RRF_K``, equal weights): a reranker feature."""
    ranks: dict[str, int | None] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    sentence_scores: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    first_stage: float = 0.0
    """The first stage's fusion score (``FIRST_STAGE_K``, ``FIRST_STAGE_WEIGHTS``): candidates come in this order."""
    lexical: tuple[float, ...] | None = None
    """The paper's lexical and exact-match features for the query (``features.LEXICAL``), read from the index's
    lexicon by the retriever; None: the reranker computes them from the paper's text."""


class Ranked(list[Hit]):
    """Reranked hits, best first (a plain list to every caller), with what went wrong in this request:
    ``error`` is set when a reranker fell back to the feature order (e.g. the LLM was unreachable)."""

    __slots__ = ("error",)

    def __init__(self, hits: Iterable[Hit] = (), error: str | None = None) -> None:
        super().__init__(hits)
        self.error = error


class Reranker(Protocol):
    """The second stage: orders the first stage's candidates for a prepared query."""

    name: str

    def rerank(
        self, pq: PreparedQuery, candidates: Sequence[Candidate], papers: Mapping[str, Paper], k: int | None = None
    ) -> Ranked:
        """Hits for the candidates, best first: at least the best ``k`` (and two, for the abstention margin);
        ``None``: all of them. ``Ranked.error`` says why a fallback order was used in this request, if one was."""
        ...
