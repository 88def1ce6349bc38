"""The retrieval chain, spelled out once: ``prepare`` a question -> ``candidates`` -> ``rerank`` -> ``judge`` gives a
``Retrieved`` (``retrieve`` runs the four). ``rag.pipeline.Pipeline`` adds answering on top.

Shared by every request: what one request needs lives in its ``PreparedQuery`` and in locals, never here."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Unpack

import numpy as np

from rag.errors import QueryError
from rag.index.embeddings import Embedder
from rag.request import MAX_SEARCH_K, FilterKey, PaperFilter, clean_k, clean_query, filter_key
from rag.retrieve.abstain import AbstentionModel
from rag.retrieve.base import Candidate, PreparedQuery, Ranked, Reranker
from rag.retrieve.hybrid import STAGES, HybridRetriever
from rag.retrieve.links import LinkIndex
from rag.settings import Settings
from rag.text import normalize_query
from rag.types import Filters, Hit, Paper, Retrieved


class RetrievalChain:
    """Retrieval, reranking and the abstention judgement over one index. Safe to share between threads."""

    def __init__(self, settings: Settings, embedder: Embedder, retriever: HybridRetriever, reranker: Reranker) -> None:
        self.settings = settings
        self.embedder = embedder
        self.retriever = retriever
        self.reranker = reranker
        self.abstainer = AbstentionModel.load()
        self.paper_filter = PaperFilter(retriever.papers)
        self.links = LinkIndex(retriever.papers)
        """The indexed papers by arXiv id, DOI and web address: a question may name a paper by its link."""
        self.casing = retriever.casing
        """The corpus's spellings of its coined names: "dimat" in a question is read as "DIMAT"."""
        self.spelling = retriever.spelling
        """The corpus's words for a question's typos: "gradiants" is read as "gradients"."""
        self.initials = retriever.initials
        """The corpus's phrases for acronyms it never writes: "LJP" is read as "legal judgment prediction"."""
        self.own_name: Callable[[str], bool] = retriever.owned_name
        """Whether a name is some paper's own ("OPERA"): with it "compare sentinel and opera" compares names."""

    @property
    def papers(self) -> dict[str, Paper]:
        return self.retriever.papers

    def prepare(
        self, question: str, filters: FilterKey | Mapping[str, Any] = (), *, vector: np.ndarray | None = None
    ) -> PreparedQuery:
        """A question (checked by ``request``, or here for its type) made ready for every stage, once:
        normalised, its links resolved, its typos spelled as the corpus does (``rag.retrieve.spelling``), its
        lower-case coined names cased as the corpus writes them (``rag.retrieve.casing``), parsed (acronyms, idf),
        embedded (unless ``vector`` is given), its filters (``filter_key``'s canonical form, or a dict such as
        ``{"since": 2020}``) resolved to the allowed paper ids.
        A follow-up's standalone query may be longer than a question may be, so the length is not checked here."""
        if not isinstance(question, str):
            raise QueryError(f"the question must be text, not {type(question).__name__}")
        text = self._spelled(self.links.resolve(normalize_query(question)))
        if not text:
            raise QueryError("the question is empty; type a question about the papers")
        allowed = self.paper_filter.allowed(filter_key(filters) if isinstance(filters, Mapping) else filters)
        started = time.perf_counter()
        query = self.retriever.parse(text)
        if vector is None:
            vector = np.asarray(self.embedder.embed_query(text), dtype=np.float32)
        return PreparedQuery(text, query, vector, allowed, {"embed": time.perf_counter() - started})

    def candidates(self, pq: PreparedQuery, n: int | None = None, stages: Sequence[str] = STAGES) -> list[Candidate]:
        """The first stage: up to ``n`` (default ``RAG_CANDIDATE_POOL``) papers fused from BM25, dense chunks and
        best sentences (``stages``), best first, among the papers ``pq.allowed`` names."""
        unknown = sorted(set(stages) - set(STAGES))
        if unknown:
            raise QueryError(f"unknown first stage {unknown[0]!r}; the stages are {', '.join(STAGES)}", "stages")
        return self.retriever.candidates(pq, n or self.settings.candidate_pool, stages)

    def rerank(self, pq: PreparedQuery, candidates: Sequence[Candidate], k: int | None = None) -> Ranked:
        """The second stage: the configured reranker's order (at least ``k`` hits; None: all)."""
        return self.reranker.rerank(pq, candidates, self.papers, k)

    def judge(self, pq: PreparedQuery, ranked: Ranked, k: int) -> Retrieved:
        """The top ``k`` hits with the abstention model's confidence that they answer the question, whether to
        abstain (``RAG_ABSTAIN_THRESHOLD`` or the fitted threshold), and the reranker's error if it fell back."""
        confidence = self.abstainer.confidence(ranked)
        top = tuple(ranked[:k])
        abstain = not top or confidence < self.abstain_threshold
        return Retrieved(pq.text, top, confidence, abstain, error=ranked.error)

    @property
    def abstain_threshold(self) -> float:
        """The confidence below which answers abstain: ``RAG_ABSTAIN_THRESHOLD``, else the fitted one."""
        threshold = self.settings.abstain_threshold
        return self.abstainer.threshold if threshold is None else threshold

    def retrieve(self, query: str | PreparedQuery, k: int | None = None, **filters: Unpack[Filters]) -> Retrieved:
        """Reranked hits for a query and the abstention signal, with per-stage timings: a string is checked and
        prepared once (``prepare``; filters, see ``FILTERS``, go with it), then the chain runs. A
        ``PreparedQuery`` carries its own filters."""
        k = clean_k(k, MAX_SEARCH_K, self.settings.top_k)
        if not isinstance(query, PreparedQuery):  # clean_query refuses what is not text
            query = self.prepare(clean_query(query), filter_key(filters))
        elif filters:
            raise QueryError("a PreparedQuery carries its filters; give them to Pipeline.prepare", "filters")
        return self._chain(query, k)

    def _chain(self, pq: PreparedQuery, k: int) -> Retrieved:
        """The one place the retrieval chain is spelled out: ``candidates`` -> ``rerank`` -> ``judge``. Asked for
        more than ``RAG_CANDIDATE_POOL`` papers, the pool is ranked as always and the first stage's next papers,
        reranked among themselves, follow: asking for more never reorders what a smaller ``k`` shows."""
        t0 = time.perf_counter()
        pool = self.settings.candidate_pool
        candidates = self.candidates(pq, pool)
        t1 = time.perf_counter()
        ranked = self.rerank(pq, candidates, k)
        if k > pool and len(ranked) >= pool:  # the pool's order stays as it is for any k; the next papers follow
            seen = {c.paper_id for c in candidates}
            more = [c for c in self.candidates(pq, k) if c.paper_id not in seen]
            ranked = Ranked([*ranked, *self.rerank(pq, more, None)] if more else ranked, ranked.error)
        retrieved = self.judge(pq, ranked, k)
        timings = {**pq.timings, "retrieve": t1 - t0, "rerank": time.perf_counter() - t1}
        return dataclasses.replace(retrieved, timings=timings)

    def search(self, query: str, k: int = 10, **filters: Unpack[Filters]) -> list[Hit]:
        """The ``k`` (1..``MAX_SEARCH_K``) best papers for a query, best first. Filters (``FILTERS``):
        ``since``, ``until``, ``author``, ``category``, ``listing_date``, ``source``."""
        return list(self.retrieve(query, k, **filters).hits)

    def allowed_ids(self, filters: Mapping[str, Any]) -> frozenset[str] | None:
        """Ids of the papers passing every filter (None: no filter given)."""
        return self.paper_filter.allowed(filter_key(filters))

    def _spelled(self, text: str) -> str:
        """A question's words as the corpus spells them: acronyms it never writes spelled out
        (``rag.retrieve.initials``), typos corrected, then lower-case coined names cased."""
        return self.casing.restore(self.spelling.correct(self.initials.spell(text)), self.own_name)
