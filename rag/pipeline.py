"""The whole question-answering pipeline, wired from settings at the edge and passed down.

``Pipeline.open`` loads every model and index once; ``search``, ``ask`` and ``stream`` reuse them.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.extractive import Answerer, ExtractiveAnswerer
from rag.answer.llm import LLMAnswerer
from rag.errors import ConfigError, LLMError, QueryError
from rag.index.corpus import load_papers
from rag.index.embeddings import Embedder, make_embedder
from rag.index.ingest import IngestReport, ingest, refresh_keyword_index
from rag.index.store import Store, make_client
from rag.retrieve.features import AbstentionModel
from rag.retrieve.hybrid import HybridRetriever
from rag.retrieve.query import normalize_query
from rag.retrieve.rerank import Reranker, make_reranker
from rag.settings import Settings
from rag.types import Answer, Hit, Paper, Retrieved

MAX_QUERY_CHARS = 5000
RANKING_DEPTH = 10
"""How many ranked hits an ``Answer`` carries (hit@10, recall@10 in evals; uncited papers in the UI)."""


def clean_history(history: object) -> list[dict[str, str]]:
    """Validated chat history: a list of ``{"role": "user"|"assistant", "content": str}``."""
    if history is None:
        return []
    if not isinstance(history, list | tuple):
        raise QueryError("history must be a list of {'role': 'user'|'assistant', 'content': str} dicts")
    turns = []
    for i, turn in enumerate(history):
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant"):
            raise QueryError(f"history[{i}] must be a dict with role 'user' or 'assistant' and a content string")
        content = turn.get("content")
        if not isinstance(content, str):
            raise QueryError(f"history[{i}]['content'] must be a string")
        turns.append({"role": str(turn["role"]), "content": content})
    return turns


def clean_query(query: object) -> str:
    """A usable query string, or a ``QueryError`` saying what is wrong."""
    if not isinstance(query, str):
        raise QueryError(f"the question must be text, not {type(query).__name__}")
    text = " ".join(query.split())
    if not text:
        raise QueryError("the question is empty; type a question about the papers")
    return text[:MAX_QUERY_CHARS]


class Pipeline:
    """Retrieval, reranking and answering over one index."""

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
        self._filter_cache: dict[tuple[tuple[str, tuple[str, ...]], ...], frozenset[str]] = {}

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
        """Open the index (building it from the corpus first if it is empty) and load every model once."""
        embedder = embedder or make_embedder(settings, llm_client)
        client = chroma_client if chroma_client is not None else make_client(settings.data_dir, settings.chroma_url)
        store = Store(client, embedder.name)
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

    def retrieve(self, query: str, k: int | None = None, **filters: Any) -> Retrieved:
        """Reranked hits for a query and the abstention signal, with per-stage timings.

        Filters (see ``FILTERS``) restrict every stage to the matching papers; unknown names raise
        ``QueryError``. The query is encoded once; only the BM25 query is expanded with acronyms.
        """
        query = normalize_query(clean_query(query))
        if not query:
            raise QueryError("the question is empty; type a question about the papers")
        k = k or self.settings.top_k
        allowed = self.allowed_ids(filters)
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
        hits = hits[:k]
        return Retrieved(query, tuple(hits), confidence, abstain=not hits or confidence < threshold, timings=timings)

    def search(self, query: str, k: int = 10, **filters: Any) -> list[Hit]:
        """The ``k`` best papers for a query, best first. Filters: ``listing_date``, ``source``."""
        return list(self.retrieve(query, k, **filters).hits)

    def allowed_ids(self, filters: dict[str, Any]) -> frozenset[str] | None:
        """Ids of the papers passing every filter (None: no filter given)."""
        unknown = sorted(set(filters) - set(FILTERS))
        if unknown:
            raise QueryError(f"unknown filter {', '.join(map(repr, unknown))}; valid filters: {', '.join(FILTERS)}")
        active = {name: value for name, value in filters.items() if value is not None}
        if not active:
            return None
        key = tuple(sorted((name, _filter_values(name, v)) for name, v in active.items()))
        cached = self._filter_cache.get(key)
        if cached is None:
            checks = [(FILTERS[name], values) for name, values in key]
            cached = frozenset(
                pid for pid, paper in self.papers.items() if all(check(paper, values) for check, values in checks)
            )
            if len(self._filter_cache) > 256:
                self._filter_cache.clear()
            self._filter_cache[key] = cached
        return cached

    def stream(
        self, question: str, history: Sequence[dict[str, str]] | None = None, **options: Any
    ) -> Iterator[str | Answer]:
        """Text deltas of the answer, then the final ``Answer`` (always last, always yielded; its text is the
        authoritative one, with markers renumbered).

        The answerer sees the top ``k`` hits; ``Answer.hits`` holds the top ``RANKING_DEPTH`` (at least ``k``),
        so callers and evals see the ranking beyond the sources the answer used.

        Options: ``k`` (sources), ``answerer`` ("extractive" or "llm"), and retrieval filters.
        When the LLM fails, the error is reported in ``Answer.error`` and the extractive answer is given.
        """
        question = clean_query(question)
        turns = clean_history(history)
        k = int(options.pop("k", None) or self.settings.top_k)
        answerer = self._answerer(options.pop("answerer", None))
        started = time.perf_counter()
        try:
            standalone = answerer.condense(question, turns)
        except LLMError:
            answerer = self.fallback
            standalone = answerer.condense(question, turns)
        condensed = time.perf_counter()
        ranked = self.retrieve(standalone, max(k, RANKING_DEPTH), **options)
        retrieved = dataclasses.replace(ranked, hits=ranked.hits[:k])
        error: str | None = None
        final: Answer | None = None
        try:
            for item in answerer.stream(question, retrieved, turns):
                if isinstance(item, Answer):
                    final = item
                else:
                    yield item
        except LLMError as exc:
            error = str(exc)
            yield f"\n\n(The LLM failed: {error} Extractive answer instead:)\n\n"
            for item in self.fallback.stream(question, retrieved, turns):
                if isinstance(item, Answer):
                    final = item
                else:
                    yield item
        assert final is not None, "an answerer must end its stream with an Answer"
        timings = {"condense": condensed - started, **retrieved.timings, **final.timings}
        timings["total"] = time.perf_counter() - started
        yield dataclasses.replace(
            final, hits=ranked.hits, standalone_question=standalone, timings=timings, error=error or final.error
        )

    def ask(self, question: str, history: Sequence[dict[str, str]] | None = None, **options: Any) -> Answer:
        """Answer a question with checked citations (the last item of ``stream``)."""
        final: Answer | None = None
        for item in self.stream(question, history, **options):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    def _answerer(self, name: str | None) -> Any:
        if name is None:
            return self.answerer
        if name == "extractive":
            return self.fallback
        if name == "llm":
            if self.llm_answerer is None:
                raise ConfigError("no LLM is configured; set OPENAI_API_KEY (and OPENAI_BASE_URL for other servers)")
            return self.llm_answerer
        raise ConfigError(f"unknown answerer {name!r}; use 'extractive' or 'llm'")


def _by_listing_date(paper: Paper, values: tuple[str, ...]) -> bool:
    date = (paper.listing_date or "").casefold()
    return any(date == v.casefold() for v in values)


def _by_source(paper: Paper, values: tuple[str, ...]) -> bool:
    return any(source.startswith(v) for source in paper.sources for v in values)


FILTERS: dict[str, Callable[[Paper, tuple[str, ...]], bool]] = {
    "listing_date": _by_listing_date,
    "source": _by_source,
}
"""Retrieval filters: ``listing_date="Mar 21"`` (exact, case-insensitive), ``source="003_x.txt"`` (a
paper any of whose sources starts with it). A value may also be a list of alternatives."""


def _filter_values(name: str, value: Any) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list | tuple | set | frozenset) or not all(isinstance(v, str) for v in values):
        raise QueryError(f"filter {name!r} takes a string or a list of strings, not {type(value).__name__}")
    cleaned = tuple(sorted({" ".join(v.split()) for v in values}))
    if not cleaned or not all(cleaned):
        raise QueryError(f"filter {name!r} needs a non-empty value")
    return cleaned


def build_index(
    settings: Settings, store: Store, embedder: Embedder, paths: Sequence[Path] | None = None, *, progress: bool = True
) -> IngestReport:
    """Parse the corpus (all files, before any write) and ingest it."""
    papers = load_papers(paths or settings.corpus_paths)
    return ingest(papers, store, embedder, settings.data_dir, progress=progress)
