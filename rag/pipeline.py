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

import numpy as np

from rag.answer.base import Answerer, answer_texts, failed_notice, no_match
from rag.answer.extractive import ExtractiveAnswerer
from rag.answer.llm import LLMAnswerer
from rag.answer.roles import RoleBook, RoleModel
from rag.errors import ConfigError, LLMError, QueryError
from rag.index.embeddings import Embedder
from rag.index.ingest import refresh_keyword_index
from rag.index.opening import open_index
from rag.index.store import Store
from rag.request import (
    FILTERS,
    MAX_QUERY_CHARS,
    MAX_SEARCH_K,
    MAX_SOURCES,
    FilterKey,
    PaperFilter,
    Request,
    clean_history,
    clean_k,
    clean_query,
    filter_key,
)
from rag.retrieve.abstain import AbstentionModel
from rag.retrieve.base import Candidate, PreparedQuery, Ranked, Reranker
from rag.retrieve.hybrid import STAGES, HybridRetriever
from rag.retrieve.links import LinkIndex
from rag.retrieve.rerank import make_reranker
from rag.settings import Settings
from rag.stream import AnswerStream
from rag.text import normalize_query
from rag.types import Answer, AnswererName, Filters, Hit, Paper, Retrieved

__all__ = [
    "FILTERS", "MAX_QUERY_CHARS", "MAX_SEARCH_K", "MAX_SOURCES", "RANKING_DEPTH", "Pipeline", "Request",
    "clean_history", "clean_query", "make_reranker",
]  # fmt: skip

RANKING_DEPTH = 10
"""How many ranked hits an ``Answer`` carries (hit@10, recall@10 in evals; uncited papers in the UI)."""


class Pipeline:
    """Retrieval, reranking and answering over one index. Safe to share between threads.

    The chain, spelled out here once: ``prepare`` a question -> ``candidates`` -> ``rerank`` -> ``judge`` gives a
    ``Retrieved`` (``retrieve`` runs the four); an answerer turns it into a checked ``Answer`` (``stream``)."""

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
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.retriever = retriever
        self.reranker = reranker
        self.fallback = fallback
        self.llm_answerer = llm_answerer
        self.llm_client = llm_client
        """The OpenAI-compatible client the LLM answerer and reranker use (None: no LLM configured)."""
        self.answerer: Answerer = llm_answerer if (llm_answerer is not None and settings.use_llm) else fallback
        self.abstainer = AbstentionModel.load()
        self.paper_filter = PaperFilter(retriever.papers)
        self.links = LinkIndex(retriever.papers)
        """The indexed papers by arXiv id, DOI and web address: a question may name a paper by its link."""
        self.casing = retriever.casing
        """The corpus's spellings of its coined names: "dimat" in a question is read as "DIMAT"."""
        self.spelling = retriever.spelling
        """The corpus's words for a question's typos: "gradiants" is read as "gradients"."""
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

    @property
    def papers(self) -> dict[str, Paper]:
        return self.retriever.papers

    # --- the retrieval chain -----------------------------------------------------------------------------

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

    # --- answering ---------------------------------------------------------------------------------------

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

    def _spelled(self, text: str) -> str:
        """A question's words as the corpus spells them: typos corrected, then lower-case coined names cased."""
        return self.casing.restore(self.spelling.correct(text))

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
