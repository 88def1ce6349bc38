"""Second-stage rerankers behind one interface."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from rag.retrieval import Candidate
from rag.types import Hit, Paper


class Reranker(Protocol):
    name: str

    def rerank(
        self, query: str, qvec: np.ndarray, candidates: Sequence[Candidate], papers: Mapping[str, Paper]
    ) -> list[Hit]: ...


def to_hit(candidate: Candidate, paper: Paper, score: float, features: dict[str, float] | None = None) -> Hit:
    """A ``Hit`` for a candidate: its best sentence comes from the sentence similarities."""
    from rag.chunking import split_sentences

    sims = candidate.sentence_scores
    spans = split_sentences(paper.abstract)
    best = int(np.argmax(sims)) if len(sims) else 0
    sentence = paper.abstract[spans[best].start : spans[best].end] if spans and best < len(spans) else paper.abstract
    return Hit(
        paper=paper,
        score=float(score),
        sentence=sentence,
        sentence_index=best,
        sentence_score=float(sims[best]) if len(sims) else 0.0,
        ranks=dict(candidate.ranks),
        features=dict(features if features is not None else candidate.scores),
        sentence_scores=tuple(float(x) for x in sims),
    )


class FusionReranker:
    """No second stage: keeps the reciprocal-rank-fusion order."""

    name = "rrf"

    def rerank(
        self, query: str, qvec: np.ndarray, candidates: Sequence[Candidate], papers: Mapping[str, Paper]
    ) -> list[Hit]:
        return [to_hit(c, papers[c.paper_id], c.rrf) for c in candidates]
