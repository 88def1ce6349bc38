"""Second-stage rerankers behind one interface, built by name from ``RERANKERS`` (``RAG_RERANKER``).

* ``FeatureReranker`` (default, offline): a logistic model over per-candidate features (fusion,
  dense, sentence, lexical and exact-match groups), weights fitted by ``evals/fit_reranker.py`` and
  stored in ``rag/data/reranker.json``.
* ``CrossEncoderReranker``: a sentence-transformers ``CrossEncoder`` from a local path
  (``RAG_RERANKER_MODEL``) rescoring the top candidates.
* ``FusionReranker``: keeps the reciprocal-rank-fusion order (``RAG_RERANKER=none``).
* ``LLMReranker`` (optional, off by default): listwise reranking of the top few by the configured LLM.

Every reranker keeps the fusion's top ten papers in its top ten (``scoring.keep_first_stage``: it
reorders them and the deeper candidates, never pushes one out), so reranking cannot lose recall@10.
Every reranker attaches the same features to its hits, so the abstention model (``rag.retrieve.abstain``,
weights also in ``reranker.json``) works whichever reranker orders them. A reranker is
shared by every request: what went wrong in one request travels back with its result (``Ranked.error``),
never on the reranker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import ConfigError
from rag.prompts import render
from rag.retrieve.base import Candidate, PreparedQuery, Ranked, Reranker
from rag.retrieve.hits import FeatureScorer, protect_hits, replace_hit, to_hit
from rag.settings import Settings
from rag.types import Paper

__all__ = [
    "RERANKERS", "CrossEncoderReranker", "FeatureReranker", "FeatureScorer", "FusionReranker", "LLMReranker",
    "Ranked", "Reranker", "RerankerFactory", "load_cross_encoder", "make_reranker", "to_hit",
]  # fmt: skip


class FeatureReranker:
    """Learned logistic model over per-candidate features (weights in ``rag/data/reranker.json``)."""

    name = "features"
    order = "model"

    def __init__(self, scorer: FeatureScorer | None = None) -> None:
        self.scorer = scorer or FeatureScorer.load()

    def rerank(
        self, pq: PreparedQuery, candidates: Sequence[Candidate], papers: Mapping[str, Paper], k: int | None = None
    ) -> Ranked:
        return self.scorer.hits(pq.query, candidates, papers, self.order, k)


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
        self, pq: PreparedQuery, candidates: Sequence[Candidate], papers: Mapping[str, Paper], k: int | None = None
    ) -> Ranked:
        hits = self.scorer.hits(pq.query, candidates, papers, "model", max(k or 0, self.top_n))
        head, tail = hits[: self.top_n], hits[self.top_n :]
        if not head:
            return hits
        text = pq.text
        pairs = [(text, f"{h.paper.title}. {h.paper.abstract}") for h in head]
        scores = np.asarray(self.model.predict(pairs, show_progress_bar=False), dtype=np.float64).reshape(len(head), -1)
        ce = scores[:, -1]
        order = sorted(range(len(head)), key=lambda i: (-ce[i], head[i].paper.id))
        reranked = [
            replace_hit(head[i], float(ce[i]), {**head[i].features, "cross_encoder": float(ce[i])}) for i in order
        ]
        return Ranked(protect_hits(reranked + tail, candidates))


class LLMReranker:
    """Optional listwise reranking by an OpenAI-compatible chat model (``RAG_RERANKER=llm``; off by
    default): the feature model's top ``top_n`` are shown as numbered title + abstract snippets and the
    model answers with the numbers in order of relevance. Any failure (network, refusal, unparsable
    answer) keeps the feature order and says why in ``Ranked.error``; numbers the model leaves out keep
    their relative order after it."""

    name = "llm"

    def __init__(
        self,
        client: Any,
        model: str,
        scorer: FeatureScorer | None = None,
        top_n: int = 10,
        timeout: float = 30.0,
        prompts_dir: Path | None = None,
    ) -> None:
        self.client = client
        self.model = model
        self.scorer = scorer or FeatureScorer.load()
        self.top_n = top_n
        self.timeout = timeout
        self.prompts_dir = prompts_dir

    def rerank(
        self, pq: PreparedQuery, candidates: Sequence[Candidate], papers: Mapping[str, Paper], k: int | None = None
    ) -> Ranked:
        hits = self.scorer.hits(pq.query, candidates, papers, "model", max(k or 0, self.top_n))
        head, tail = hits[: self.top_n], hits[self.top_n :]
        if len(head) < 2:
            return hits
        text = pq.text
        listing = "\n\n".join(f"[{i}] {h.paper.title}\n{h.paper.abstract[:600]}" for i, h in enumerate(head, 1))
        prompt = render("rerank", self.prompts_dir, question=text, papers=listing)
        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=[{"role": "user", "content": prompt}],
                temperature=0,
                timeout=self.timeout,
            )
            answer = response.choices[0].message.content or ""
        except Exception as exc:  # the reranker is an optimisation: never fail the search
            return Ranked(hits, f"LLM reranker failed ({type(exc).__name__}: {exc}); kept the feature order")
        order: list[int] = []
        for number in re.findall(r"\d+", answer):
            i = int(number) - 1
            if 0 <= i < len(head) and i not in order:
                order.append(i)
        if not order:
            return Ranked(hits, f"LLM reranker gave no usable ranking ({answer[:80]!r}); kept the feature order")
        order += [i for i in range(len(head)) if i not in order]
        reranked = [
            replace_hit(head[i], 1.0 / (rank + 1), {**head[i].features, "llm_rank": float(rank + 1)})
            for rank, i in enumerate(order)
        ]
        return Ranked(protect_hits(reranked + tail, candidates))


def load_cross_encoder(path: Path) -> Any:
    """A ``CrossEncoder`` from a local folder (never the hub)."""
    if not path.exists():
        raise ConfigError(f"RAG_RERANKER_MODEL={path} does not exist; point it at a local CrossEncoder folder")
    from sentence_transformers import CrossEncoder

    return CrossEncoder(str(path), device="cpu", local_files_only=True)


RerankerFactory = Callable[[Settings, FeatureScorer, Any], Reranker]
"""Builds a reranker from the settings, the loaded feature weights and the LLM client (or None)."""


def _cross_encoder(settings: Settings, scorer: FeatureScorer, llm_client: Any) -> Reranker:
    if settings.reranker_model is None:
        raise ConfigError("RAG_RERANKER=cross-encoder needs RAG_RERANKER_MODEL (a local CrossEncoder folder)")
    return CrossEncoderReranker(settings.reranker_model, scorer)


def _llm(settings: Settings, scorer: FeatureScorer, llm_client: Any) -> Reranker:
    if llm_client is None:
        raise ConfigError("RAG_RERANKER=llm needs an LLM: set OPENAI_API_KEY (and OPENAI_BASE_URL for others)")
    return LLMReranker(
        llm_client, settings.llm_model, scorer, timeout=settings.llm_timeout, prompts_dir=settings.prompts_dir
    )


RERANKERS: dict[str, RerankerFactory] = {
    "features": lambda settings, scorer, llm_client: FeatureReranker(scorer),
    "none": lambda settings, scorer, llm_client: FusionReranker(scorer),
    "cross-encoder": _cross_encoder,
    "llm": _llm,
}
"""``RAG_RERANKER`` name -> factory. A new second stage registers here (and in ``Settings.reranker``)."""


def make_reranker(settings: Settings, llm_client: Any = None) -> Reranker:
    """The second stage the settings ask for (the feature weights are loaded once, here)."""
    factory = RERANKERS.get(settings.reranker)
    if factory is None:
        raise ConfigError(f"unknown reranker {settings.reranker!r} (RAG_RERANKER); valid names: {', '.join(RERANKERS)}")
    return factory(settings, FeatureScorer.load(), llm_client)
