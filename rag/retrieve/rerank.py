"""Second-stage rerankers behind one interface,.

* ``FeatureReranker`` (default, offline): a logistic model over per-candidate features (fusion,
  dense, sentence, lexical and exact-match groups), weights fitted by ``evals/fit_reranker.py`` and
  stored in ``rag/data/reranker.json``.
* ``CrossEncoderReranker``: a sentence-transformers ``CrossEncoder`` from a local path
  (``RAG_RERANKER_MODEL``) rescoring the top candidates.
* ``FusionReranker``: keeps the reciprocal-rank-fusion order (``RAG_RERANKER=none``).
* ``LLMReranker`` (optional, off by default): listwise reranking of the top few by the configured LLM.

Every reranker attaches the same features to its hits, so the abstention model (a logistic model on
the top hit's features, also in ``reranker.json``) works whichever reranker orders them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rag.answer.prompts import render
from rag.retrieve.features import (
    FEATURES,
    WEIGHTS_PATH,
    LinearModel,
    featurize,
    hit_features,
    load_weights,
)
from rag.retrieve.hybrid import Candidate
from rag.retrieve.query import Query, parse_query
from rag.types import Hit, Paper, Span


@lru_cache(maxsize=8192)
def _spans(abstract: str) -> tuple[Span, ...]:
    from rag.index.chunking import split_sentences

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
        self, query: str | Query, candidates: Sequence[Candidate], papers: Mapping[str, Paper]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(feature matrix, logits) of the candidates."""
        q = parse_query(query) if isinstance(query, str) else query
        x = featurize(q, candidates, papers)
        logits = self.model.logits(x[:, self._cols]) if len(candidates) else np.zeros(0)
        return x, logits

    def hits(
        self,
        query: str | Query,
        candidates: Sequence[Candidate],
        papers: Mapping[str, Paper],
        order: str,
        k: int | None = None,
    ) -> list[Hit]:
        """The best ``k`` (default all) hits carrying their features, ordered by the model
        (``order="model"``) or by RRF (``"rrf"``)."""
        q = parse_query(query) if isinstance(query, str) else query
        x, logits = self.score(q, candidates, papers)
        if order == "model":
            idx = sorted(range(len(candidates)), key=lambda i: (-logits[i], candidates[i].paper_id))
        else:
            idx = list(range(len(candidates)))
        out = []
        for i in idx[: max(k, 2) if k is not None else None]:
            c = candidates[i]
            logit = float(logits[i])
            features = hit_features(x[i], logit, c, q)
            score = 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0))) if order == "model" else c.rrf
            out.append(to_hit(c, papers[c.paper_id], score, features))
        return out


class Reranker(Protocol):
    name: str

    def rerank(
        self,
        query: str | Query,
        qvec: np.ndarray,
        candidates: Sequence[Candidate],
        papers: Mapping[str, Paper],
        k: int | None = None,
    ) -> list[Hit]:
        """Hits for the candidates, best first: at least the best ``k`` (and two, for the abstention
        margin); ``None``: all of them."""
        ...


class FeatureReranker:
    """Learned logistic model over per-candidate features (weights in ``rag/data/reranker.json``)."""

    name = "features"
    order = "model"

    def __init__(self, scorer: FeatureScorer | None = None) -> None:
        self.scorer = scorer or FeatureScorer.load()

    def rerank(
        self,
        query: str | Query,
        qvec: np.ndarray,
        candidates: Sequence[Candidate],
        papers: Mapping[str, Paper],
        k: int | None = None,
    ) -> list[Hit]:
        return self.scorer.hits(query, candidates, papers, self.order, k)


class FusionReranker(FeatureReranker):
    """No second stage: keeps the reciprocal-rank-fusion order (features still attached)."""

    name = "rrf"
    order = "rrf"

    def __init__(self, scorer: FeatureScorer | None = None) -> None:
        super().__init__(scorer or FeatureScorer())


class CrossEncoderReranker:
    """A local sentence-transformers ``CrossEncoder`` rescoring the feature model's top ``top_n``."""

    name = "cross-encoder"

    def __init__(self, model: Any, scorer: FeatureScorer | None = None, top_n: int = 20) -> None:
        if isinstance(model, str | Path):
            model = load_cross_encoder(Path(model))
        self.model = model
        self.scorer = scorer or FeatureScorer.load()
        self.top_n = top_n

    def rerank(
        self,
        query: str | Query,
        qvec: np.ndarray,
        candidates: Sequence[Candidate],
        papers: Mapping[str, Paper],
        k: int | None = None,
    ) -> list[Hit]:
        hits = self.scorer.hits(query, candidates, papers, "model", max(k or 0, self.top_n))
        head, tail = hits[: self.top_n], hits[self.top_n :]
        if not head:
            return hits
        text = query.text if isinstance(query, Query) else query
        pairs = [(text, f"{h.paper.title}. {h.paper.abstract}") for h in head]
        scores = np.asarray(self.model.predict(pairs, show_progress_bar=False), dtype=np.float64).reshape(len(head), -1)
        ce = scores[:, -1]
        order = sorted(range(len(head)), key=lambda i: (-ce[i], head[i].paper.id))
        reranked = []
        for i in order:
            h = head[i]
            reranked.append(_replace_hit(h, float(ce[i]), {**h.features, "cross_encoder": float(ce[i])}))
        return reranked + tail


class LLMReranker:
    """Optional listwise reranking by an OpenAI-compatible chat model (``RAG_RERANKER=llm``; off by
    default): the feature model's top ``top_n`` are shown as numbered title + abstract snippets and the
    model answers with the numbers in order of relevance. Any failure (network, refusal, unparsable
    answer) keeps the feature order; numbers the model leaves out keep their relative order after it."""

    name = "llm"

    def __init__(
        self, client: Any, model: str, scorer: FeatureScorer | None = None, top_n: int = 10, timeout: float = 30.0
    ) -> None:
        self.client = client
        self.model = model
        self.scorer = scorer or FeatureScorer.load()
        self.top_n = top_n
        self.timeout = timeout
        self.last_error: str | None = None

    def rerank(
        self,
        query: str | Query,
        qvec: np.ndarray,
        candidates: Sequence[Candidate],
        papers: Mapping[str, Paper],
        k: int | None = None,
    ) -> list[Hit]:
        hits = self.scorer.hits(query, candidates, papers, "model", max(k or 0, self.top_n))
        head, tail = hits[: self.top_n], hits[self.top_n :]
        if len(head) < 2:
            return hits
        text = query.text if isinstance(query, Query) else query
        listing = "\n\n".join(f"[{i}] {h.paper.title}\n{h.paper.abstract[:600]}" for i, h in enumerate(head, 1))
        self.last_error = None
        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=[{"role": "user", "content": render("rerank", question=text, papers=listing)}],
                temperature=0,
                timeout=self.timeout,
            )
            answer = response.choices[0].message.content or ""
        except Exception as exc:  # the reranker is an optimisation: never fail the search
            self.last_error = f"{type(exc).__name__}: {exc}"
            return hits
        order: list[int] = []
        for number in re.findall(r"\d+", answer):
            i = int(number) - 1
            if 0 <= i < len(head) and i not in order:
                order.append(i)
        if not order:
            self.last_error = f"unparsable ranking {answer[:80]!r}"
            return hits
        order += [i for i in range(len(head)) if i not in order]
        reranked = [
            _replace_hit(head[i], 1.0 / (rank + 1), {**head[i].features, "llm_rank": float(rank + 1)})
            for rank, i in enumerate(order)
        ]
        return reranked + tail


def _replace_hit(hit: Hit, score: float, features: dict[str, float]) -> Hit:
    import dataclasses

    return dataclasses.replace(hit, score=score, features=features)


def load_cross_encoder(path: Path) -> Any:
    """A ``CrossEncoder`` from a local folder (never the hub)."""
    from rag.errors import ConfigError

    if not path.exists():
        raise ConfigError(f"RAG_RERANKER_MODEL={path} does not exist; point it at a local CrossEncoder folder")
    from sentence_transformers import CrossEncoder

    return CrossEncoder(str(path), device="cpu", local_files_only=True)
