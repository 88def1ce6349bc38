"""The whole question-answering pipeline, wired from settings at the edge and passed down.

``Pipeline.open`` loads every model and index once; ``search``, ``ask`` and ``stream`` reuse them. A
pipeline is shared by every request (the web app serves many chats at once): what one request needs lives
in its ``Request`` and in locals, never on the pipeline or its components.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Unpack

import numpy as np

from rag.answer.base import Answerer
from rag.answer.extractive import ExtractiveAnswerer
from rag.answer.llm import LLMAnswerer
from rag.errors import ConfigError, LLMError, QueryError
from rag.index.corpus import load_papers
from rag.index.embeddings import Embedder, make_embedder
from rag.index.ingest import IngestReport, check_not_rebuilding, ingest, refresh_keyword_index
from rag.index.lock import ingest_lock
from rag.index.store import Store, make_client
from rag.request import (
    FILTERS,
    MAX_QUERY_CHARS,
    MAX_SEARCH_K,
    MAX_SOURCES,
    FilterKey,
    PaperFilter,
    clean_filters,
    clean_history,
    clean_k,
    clean_query,
    filter_key,
)
from rag.retrieve.abstain import AbstentionModel
from rag.retrieve.hybrid import HybridRetriever
from rag.retrieve.rerank import Reranker, make_reranker
from rag.settings import Settings
from rag.text import normalize_query
from rag.types import Answer, AnswererName, AnswerStream, Filters, Hit, Paper, Retrieved

__all__ = [
    "FILTERS", "MAX_QUERY_CHARS", "MAX_SEARCH_K", "MAX_SOURCES", "RANKING_DEPTH", "Pipeline", "Request",
    "build_index", "clean_history", "clean_query", "make_reranker",
]  # fmt: skip

RANKING_DEPTH = 10
"""How many ranked hits an ``Answer`` carries (hit@10, recall@10 in evals; uncited papers in the UI)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    """One checked question: everything ``stream`` needs beyond the shared, read-only pipeline."""

    question: str
    history: tuple[dict[str, str], ...]
    k: int
    answerer: Answerer
    filters: Filters
    """Checked, in canonical form."""


class Pipeline:
    """Retrieval, reranking and answering over one index. Safe to share between threads."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        embedder: Embedder,
        retriever: HybridRetriever,
        reranker: Reranker,
        fallback: Answerer,
        llm_answerer: Answerer | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.retriever = retriever
        self.reranker = reranker
        self.fallback = fallback
        self.llm_answerer = llm_answerer
        self.answerer: Answerer = llm_answerer if (llm_answerer is not None and settings.use_llm) else fallback
        self.abstainer = AbstentionModel.load()
        self.paper_filter = PaperFilter(retriever.papers)

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        chroma_client: Any = None,
        llm_client: Any = None,
        progress: bool = True,
    ) -> Pipeline:
        """Open the index (building it from the corpus first if it is empty) and load every model once. Raises
        ``IngestBusyError`` while a ``rag ingest --rebuild`` runs and ``IndexNotReadyError`` when one was
        interrupted (``check_not_rebuilding``): a half-rebuilt index is never served, nor built a second time."""
        embedder = embedder or make_embedder(settings, llm_client)
        check_not_rebuilding(settings.data_dir, embedder.name)
        client = chroma_client if chroma_client is not None else make_client(settings.data_dir, settings.chroma_url)
        store = Store(client, embedder.name, dim=embedder.dim)
        if store.is_empty():
            if progress:
                print("Building the index from the corpus (first run only)...", file=sys.stderr)
            build_index(settings, store, embedder, progress=progress)
        keyword = refresh_keyword_index(store, settings.data_dir)
        retriever = HybridRetriever(store, keyword)
        fallback = ExtractiveAnswerer(settings, embedder)
        llm = LLMAnswerer(settings, llm_client, embedder) if llm_client is not None else None
        return cls(settings, store, embedder, retriever, make_reranker(settings, llm_client), fallback, llm)

    @property
    def papers(self) -> dict[str, Paper]:
        return self.retriever.papers

    def retrieve(self, query: str, k: int | None = None, **filters: Unpack[Filters]) -> Retrieved:
        """Reranked hits for a query and the abstention signal, with per-stage timings.

        Filters (see ``FILTERS``) restrict every stage to the matching papers; unknown names raise
        ``QueryError``. The query is encoded once; only the BM25 query is expanded with acronyms.
        """
        k = clean_k(k, MAX_SEARCH_K, self.settings.top_k)
        return self._retrieve(clean_query(query), k, filter_key(filters))

    def _retrieve(self, query: str, k: int, filters: FilterKey) -> Retrieved:
        query = normalize_query(query)
        if not query:
            raise QueryError("the question is empty; type a question about the papers")
        allowed = self.paper_filter.allowed(filters)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        parsed = self.retriever.parse(query)
        qvec = np.asarray(self.embedder.embed_query(query), dtype=np.float32)
        t1 = time.perf_counter()
        timings["embed"] = t1 - t0
        candidates = self.retriever.candidates(parsed, qvec, max(self.settings.candidates, k), allowed)
        t2 = time.perf_counter()
        timings["retrieve"] = t2 - t1
        hits = self.reranker.rerank(parsed, qvec, candidates, self.papers, k)
        confidence = self.abstainer.confidence(hits)
        threshold = self.settings.abstain_threshold
        if threshold is None:
            threshold = self.abstainer.threshold
        timings["rerank"] = time.perf_counter() - t2
        top = tuple(hits[:k])
        return Retrieved(query, top, confidence, abstain=not top or confidence < threshold, timings=timings)

    def search(self, query: str, k: int = 10, **filters: Unpack[Filters]) -> list[Hit]:
        """The ``k`` (1..``MAX_SEARCH_K``) best papers for a query, best first. Filters: ``listing_date``,
        ``source`` (see ``FILTERS``)."""
        return list(self.retrieve(query, k, **filters).hits)

    def allowed_ids(self, filters: Mapping[str, Any]) -> frozenset[str] | None:
        """Ids of the papers passing every filter (None: no filter given)."""
        return self.paper_filter.allowed(filter_key(filters))

    def request(
        self,
        question: str,
        history: Sequence[Mapping[str, str]] | None = None,
        *,
        k: int | None = None,
        answerer: AnswererName | None = None,
        **filters: Unpack[Filters],
    ) -> Request:
        """Check every input of a question (``QueryError``/``ConfigError`` say what is wrong) before any work."""
        return Request(
            clean_query(question),
            tuple(clean_history(history)),
            clean_k(k, MAX_SOURCES, self.settings.top_k),
            self._answerer(answerer),
            clean_filters(filters),
        )

    def stream(
        self,
        question: str,
        history: Sequence[Mapping[str, str]] | None = None,
        *,
        k: int | None = None,
        answerer: AnswererName | None = None,
        **filters: Unpack[Filters],
    ) -> AnswerStream:
        """The answer as an ``AnswerStream``: iterate for text chunks, then read ``.answer``.

        The inputs are checked now (bad ones raise here, before anything is streamed); retrieval and answering
        run as the stream is consumed. ``k`` (1..``MAX_SOURCES``, default ``RAG_TOP_K``) sources go to the
        answerer; ``Answer.hits`` holds the top ``RANKING_DEPTH`` (at least ``k``), so callers and evals see
        the ranking beyond the sources the answer used. ``answerer``: "extractive", "llm" or None (the
        configured one). Filters: ``listing_date``, ``source`` (see ``FILTERS``). When the LLM fails, the
        error is reported in ``Answer.error`` and the extractive answer is given.
        """
        return AnswerStream(self._run(self.request(question, history, k=k, answerer=answerer, **filters)))

    def ask(
        self,
        question: str,
        history: Sequence[Mapping[str, str]] | None = None,
        *,
        k: int | None = None,
        answerer: AnswererName | None = None,
        **filters: Unpack[Filters],
    ) -> Answer:
        """Answer a question with checked citations (``stream(...).answer``; same parameters)."""
        return self.stream(question, history, k=k, answerer=answerer, **filters).answer

    def _run(self, request: Request) -> Iterator[str | Answer]:
        """Text deltas, then the final ``Answer`` (the answerer protocol), for one checked request."""
        answerer, turns = request.answerer, list(request.history)
        started = time.perf_counter()
        try:
            standalone = answerer.condense(request.question, turns)
        except LLMError:
            answerer = self.fallback
            standalone = answerer.condense(request.question, turns)
        condensed = time.perf_counter()
        ranked = self.retrieve(standalone, max(request.k, RANKING_DEPTH), **request.filters)
        retrieved = dataclasses.replace(ranked, hits=ranked.hits[: request.k])
        error: str | None = None
        final: Answer | None = None
        try:
            final = yield from _texts(answerer.stream(request.question, retrieved, turns))
        except LLMError as exc:
            error = str(exc)
            yield f"\n\n(The LLM failed: {error} Extractive answer instead:)\n\n"
            final = yield from _texts(self.fallback.stream(request.question, retrieved, turns))
        timings = {"condense": condensed - started, **retrieved.timings, **final.timings}
        timings["total"] = time.perf_counter() - started
        yield dataclasses.replace(
            final, hits=ranked.hits, standalone_question=standalone, timings=timings, error=error or final.error
        )

    def _answerer(self, name: str | None) -> Answerer:
        if name is None:
            return self.answerer
        if name == "extractive":
            return self.fallback
        if name == "llm":
            if self.llm_answerer is None:
                raise ConfigError("no LLM is configured; set OPENAI_API_KEY (and OPENAI_BASE_URL for other servers)")
            return self.llm_answerer
        raise ConfigError(f"unknown answerer {name!r}; use 'extractive' or 'llm'")


def _texts(items: Iterator[str | Answer]) -> Generator[str, None, Answer]:
    """Yield an answerer's text deltas and return its final ``Answer``."""
    for item in items:
        if isinstance(item, Answer):
            return item
        yield item
    raise AssertionError("an answerer must end its stream with an Answer")


def build_index(
    settings: Settings, store: Store, embedder: Embedder, paths: Sequence[Path] | None = None, *, progress: bool = True
) -> IngestReport:
    """Parse the corpus (all files, before any write) and ingest it, holding the data dir's write lock (a
    ``rag ingest`` or another app building the same index at the same time waits, then finds it built)."""
    papers = load_papers(paths or settings.corpus_paths)
    with ingest_lock(settings.data_dir, settings.ingest_lock_timeout):
        return ingest(papers, store, embedder, settings.data_dir, progress=progress)
