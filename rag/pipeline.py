"""The whole question-answering pipeline, wired from settings at the edge and passed down.

``Pipeline.open`` loads every model and index once; ``search``, ``ask`` and ``stream`` reuse them. A
pipeline is shared by every request (the web app serves many chats at once): what one request needs lives
in its ``Request`` and in locals, never on the pipeline or its components.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Unpack

from rag.answer.base import Answerer, answer_texts, failed_notice, no_match
from rag.answer.extractive import ExtractiveAnswerer
from rag.answer.llm import LLMAnswerer
from rag.answer.roles import RoleBook, RoleModel
from rag.errors import ConfigError, LLMError
from rag.index.embeddings import Embedder
from rag.index.ingest import refresh_keyword_index
from rag.index.opening import open_index
from rag.index.store import Store
from rag.request import (
    FILTERS,
    MAX_QUERY_CHARS,
    MAX_SEARCH_K,
    MAX_SOURCES,
    Request,
    clean_history,
    clean_k,
    clean_query,
    filter_key,
)
from rag.retrieve.base import Reranker
from rag.retrieve.chain import RetrievalChain
from rag.retrieve.hybrid import HybridRetriever
from rag.retrieve.rerank import make_reranker
from rag.settings import Settings
from rag.stream import AnswerStream
from rag.text import normalize_query
from rag.types import Answer, AnswererName, Filters, Paper

__all__ = [
    "FILTERS", "MAX_QUERY_CHARS", "MAX_SEARCH_K", "MAX_SOURCES", "RANKING_DEPTH", "Pipeline", "Request",
    "clean_history", "clean_query", "make_reranker",
]  # fmt: skip

RANKING_DEPTH = 10
"""How many ranked hits an ``Answer`` carries (hit@10, recall@10 in evals; uncited papers in the UI)."""


class Pipeline(RetrievalChain):
    """Retrieval (``RetrievalChain``: ``prepare`` -> ``candidates`` -> ``rerank`` -> ``judge``) and answering over
    one index: an answerer turns the ``Retrieved`` into a checked ``Answer`` (``stream``). Safe to share between
    threads."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        embedder: Embedder,
        retriever: HybridRetriever,
        reranker: Reranker,
        fallback: ExtractiveAnswerer,
        llm_answerer: Answerer | None = None,
        llm_client: Any = None,
        role_book: RoleBook | None = None,
    ) -> None:
        super().__init__(settings, embedder, retriever, reranker)
        self.store = store
        self.fallback = fallback
        self.llm_answerer = llm_answerer
        self.llm_client = llm_client
        """The OpenAI-compatible client the LLM answerer and reranker use (None: no LLM configured)."""
        self.answerer: Answerer = llm_answerer if (llm_answerer is not None and settings.use_llm) else fallback
        self.role_book = role_book
        """Sentence roles of the indexed papers (None when the embedder's vectors are not the role model's)."""

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
        """Open the index (``rag.index.opening.open_index``: built from the corpus on a first run, never served
        half-rebuilt) and load every model once."""
        embedder, store = open_index(settings, embedder, chroma_client, llm_client, progress)
        retriever = HybridRetriever(store, refresh_keyword_index(store, settings.data_dir), data_dir=settings.data_dir)
        llm = LLMAnswerer(settings, llm_client, embedder) if llm_client is not None else None
        reranker = make_reranker(settings, llm_client)
        model = RoleModel.reading(embedder)
        book = RoleBook(model, retriever.sentence_vectors) if model is not None else None
        extractive = ExtractiveAnswerer(settings, embedder, roles=book.order if book is not None else None,
                                        acronyms=retriever.acronyms.pairs, is_name=retriever.names_word,
                                        is_unknown=retriever.unknown_word, names_paper=retriever.owned_name)
        return cls(settings, store, embedder, retriever, reranker, extractive, llm, llm_client, book)

    def request(
        self,
        question: str,
        history: Sequence[Mapping[str, str]] | None = None,
        *,
        k: int | None = None,
        answerer: AnswererName | None = None,
        **filters: Unpack[Filters],
    ) -> Request:
        """Check every input of a question (``QueryError``/``ConfigError`` say what is wrong) before any work,
        a link to a paper the index lacks included (``LinkIndex.resolve``), so ``/v1`` can answer with a status."""
        checked = clean_query(question)
        return Request(
            checked,
            tuple(clean_history(history)),
            clean_k(k, MAX_SOURCES, self.settings.top_k),
            self.answerer_named(answerer),
            filter_key(filters),
            self._spelled(self.links.resolve(normalize_query(checked))),
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
        configured one). Filters: see ``FILTERS`` (``since=2020``, ``author="Müller"``, ...). When the LLM fails, the
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
        answerer, asked = request.answerer, request.asked or request.question  # names as the corpus spells them
        turns = [{**t, "content": self._spelled(t["content"])} if t["role"] == "user" else t
                 for t in request.history]  # the earlier questions too: "dimat vs ties-merging" names two papers
        started = time.perf_counter()
        failed: str | None = None  # the LLM could not rewrite the follow-up: the fallback answers, and says why
        try:
            standalone = answerer.condense(asked, turns)
        except LLMError as exc:
            failed, answerer = str(exc), self.fallback
            standalone = answerer.condense(asked, turns)
            yield failed_notice(failed, lead="")
        condensed = time.perf_counter()
        pq = self.prepare(standalone, request.filters)
        if pq.allowed is not None and not pq.allowed:  # not "the corpus does not cover it": the filters exclude all
            text = no_match(self.paper_filter.missing_fields(request.filters))
            yield text
            yield Answer(request.question, text, (), True, answerer.name, (), standalone_question=standalone,
                         timings={"total": time.perf_counter() - started})  # fmt: skip
            return
        ranked = self._chain(pq, max(request.k, RANKING_DEPTH))
        retrieved = self.fallback.sources(asked, ranked, request.k, turns)  # with the papers it names
        if answerer is not self.fallback and self.fallback.owns(asked, retrieved, turns):
            answerer = self.fallback  # a record question: the LLM is not given the papers' records
        elif retrieved.abstain and answerer is not self.fallback and self.fallback.overrules(asked, retrieved, turns):
            retrieved = dataclasses.replace(retrieved, abstain=False)  # a plain comparison: the LLM answers it too
        error: str | None = None
        try:
            final = yield from answer_texts(answerer.stream(asked, retrieved, turns))
        except LLMError as exc:
            error = str(exc)
            yield failed_notice(error)
            final = yield from answer_texts(self.fallback.stream(asked, retrieved, turns))
        timings = {"condense": condensed - started, **retrieved.timings, **final.timings}
        timings["total"] = time.perf_counter() - started
        error = error or failed or final.error or retrieved.error
        citations = tuple(dataclasses.replace(c, roles=self.summary(c.paper)) for c in final.citations)
        yield dataclasses.replace(final, question=request.question, hits=ranked.hits, standalone_question=standalone,
                                  timings=timings, error=error, citations=citations)

    def summary(self, paper: Paper) -> tuple[tuple[str, int], ...]:
        """``(role, sentence index)`` of the paper's challenge, approach and outcome sentences (``Citation.roles``),
        from its stored sentence vectors; () without a role model or when the stored sentences do not line up."""
        return self.role_book.summary(paper) if self.role_book is not None else ()

    def answerer_named(self, name: str | None) -> Answerer:
        """The answerer ``name`` picks (None: the configured one); ``ConfigError`` for "llm" with no LLM configured."""
        if name is None:
            return self.answerer
        if name == "extractive":
            return self.fallback
        if name == "llm":
            if self.llm_answerer is None:
                raise ConfigError("no LLM is configured; set OPENAI_API_KEY (and OPENAI_BASE_URL for other servers)")
            return self.llm_answerer
        raise ConfigError(f"unknown answerer {name!r}; use 'extractive' or 'llm'")
