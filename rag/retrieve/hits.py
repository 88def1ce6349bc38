"""Scoring candidates with the fitted feature model and turning them into ``Hit`` objects.

Shared by every reranker (``rag.retrieve.rerank``): ``FeatureScorer`` computes the features and the
model's logits, ``to_hit`` picks each paper's best sentence, and ``Ranked`` is the result type that
carries a per-request ``error`` next to the hits.

Reranking never loses first-stage recall: ``keep_first_stage`` puts the fusion's top
``FIRST_STAGE_DEPTH`` papers first (in the reranker's order among themselves), the rest after them, so
the final top ten holds every paper the fusion's top ten held; the reranker decides the order.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

import numpy as np

from rag.linear import LinearModel, sigmoid
from rag.retrieve.base import Candidate, Ranked
from rag.retrieve.features import FEATURES, WEIGHTS_PATH, featurize, hit_features, load_weights
from rag.retrieve.query import Query
from rag.types import Hit, Paper, Span

FIRST_STAGE_DEPTH = 10
"""The fusion's top this many papers stay in the final top this many (the recall guarantee)."""

T = TypeVar("T")


def keep_first_stage(order: Sequence[T], first_stage: Collection[T]) -> list[T]:
    """``order`` with the ``first_stage`` items moved in front, each group keeping its relative order:
    the first ``len(first_stage)`` places hold exactly the first-stage items present in ``order``."""
    kept = set(first_stage)
    return [i for i in order if i in kept] + [i for i in order if i not in kept]


def fusion_order(candidates: Sequence[Candidate]) -> list[int]:
    """Indices of ``candidates`` in the first stage's order: by ``first_stage`` score, then ``rrf``, then id (the
    order they come in from the retriever), so a caller who passes them in another order gets the same ranking."""
    return sorted(range(len(candidates)), key=lambda i: (-candidates[i].first_stage, -candidates[i].rrf,
                                                         candidates[i].paper_id))  # fmt: skip


def fusion_head(candidates: Sequence[Candidate]) -> set[str]:
    """Paper ids of the fusion's top ``FIRST_STAGE_DEPTH`` (``fusion_order``)."""
    return {candidates[i].paper_id for i in fusion_order(candidates)[:FIRST_STAGE_DEPTH]}


def protect_hits(hits: Sequence[Hit], candidates: Sequence[Candidate]) -> list[Hit]:
    """Reranked hits reordered by ``keep_first_stage`` against the candidates' fusion order."""
    head = fusion_head(candidates)
    return [h for h in hits if h.paper.id in head] + [h for h in hits if h.paper.id not in head]


@lru_cache(maxsize=8192)
def _spans(abstract: str) -> tuple[Span, ...]:
    from rag.text import split_sentences

    return tuple(split_sentences(abstract))


def to_hit(candidate: Candidate, paper: Paper, score: float, features: dict[str, float] | None = None) -> Hit:
    """A ``Hit`` for a candidate: its best sentence comes from the sentence similarities."""
    sims = candidate.sentence_scores
    spans = _spans(paper.abstract)
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
        sentence_scores=tuple(sims.tolist()),
    )


class FeatureScorer:
    """Features and the fitted ranking model's logits for candidates (shared by every reranker)."""

    def __init__(self, model: LinearModel | None = None) -> None:
        self.model = model or LinearModel.only(FEATURES, "rrf", 10.0)
        self._cols = [FEATURES.index(f) for f in self.model.features]

    @classmethod
    def load(cls, path: Path = WEIGHTS_PATH) -> FeatureScorer:
        data = load_weights(path).get("ranker")
        return cls(LinearModel.from_dict(data) if data else None)

    def score(
        self, query: Query, candidates: Sequence[Candidate], papers: Mapping[str, Paper]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(feature matrix, logits) of the candidates."""
        x = featurize(query, candidates, papers)
        logits = self.model.logits(x[:, self._cols]) if len(candidates) else np.zeros(0)
        return x, logits

    def hits(
        self,
        query: Query,
        candidates: Sequence[Candidate],
        papers: Mapping[str, Paper],
        order: str,
        k: int | None = None,
    ) -> Ranked:
        """The best ``k`` (default all) hits carrying their features, ordered by the model
        (``order="model"``, with the fusion's top ten kept in the top ten: ``keep_first_stage``) or by
        RRF (``"rrf"``)."""
        x, logits = self.score(query, candidates, papers)
        fused = fusion_order(candidates)
        if order == "model":
            idx = sorted(range(len(candidates)), key=lambda i: (-logits[i], candidates[i].paper_id))
            idx = keep_first_stage(idx, fused[:FIRST_STAGE_DEPTH])
        else:
            idx = fused
        out = Ranked()
        for i in idx[: max(k, 2) if k is not None else None]:
            c = candidates[i]
            logit = float(logits[i])
            features = hit_features(x[i], logit, c, query)
            score = float(sigmoid(logit)) if order == "model" else c.first_stage
            out.append(to_hit(c, papers[c.paper_id], score, features))
        return out


def replace_hit(hit: Hit, score: float, features: dict[str, float]) -> Hit:
    return dataclasses.replace(hit, score=score, features=features)
