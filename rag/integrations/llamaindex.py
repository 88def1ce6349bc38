"""The pipeline as LlamaIndex components, built on llama-index-core's own base classes.

* ``RagRetriever`` (``BaseRetriever``): the whole retrieval (hybrid first stage, reranker) as nodes, one per
  paper. Node id = paper id, text = title + "\\n" + abstract, score = the reranker's score; metadata: ``paper_id``,
  ``title``, ``listing_date``, ``sources``, ``urls``, ``evidence`` (the abstract's sentence that matches best),
  ``evidence_index``, ``evidence_score``, ``ranks`` (rank in each first-stage ranking, None when not in it),
  ``features`` (the reranker's features and logit) and ``confidence`` (the query's abstention signal).
* ``RagReranker`` (``BaseNodePostprocessor``): the project's feature reranker over nodes from any retriever
  (see its docstring for what a node must carry).
* ``RagQueryEngine`` (``CustomQueryEngine``): ``pipeline.ask`` as a ``Response``: text with checked ``[n]``
  markers, ``source_nodes`` = the cited papers in marker order.
* ``vector_store_index`` / ``chroma_vector_store``: the index read through ``ChromaVectorStore`` (read-only;
  see ``rag.integrations.llamaindex_store``).

Every component takes a ``Pipeline`` or, with none, uses ``rag.default_pipeline()``. None of them reads or
writes llama-index's global ``Settings`` (no default LLM or embed model is ever resolved).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, get_args

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import Response
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.callbacks import CallbackManager
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import NodeWithScore, QueryBundle

from rag.errors import ConfigError, QueryError
from rag.filters import filter_key
from rag.integrations.llamaindex_nodes import answer_response, default_pipeline, hit_node, paper_node
from rag.integrations.llamaindex_store import (
    RagChromaVectorStore,
    RagEmbedding,
    ReadOnlyStoreError,
    chroma_vector_store,
    vector_store_index,
)
from rag.linear import sigmoid
from rag.pipeline import Pipeline, clean_query
from rag.request import MAX_SEARCH_K, MAX_SOURCES, clean_k
from rag.retrieve.base import Candidate
from rag.retrieve.hits import fusion_head
from rag.retrieve.rerank import FeatureScorer
from rag.types import AnswererName, Paper

__all__ = [
    "RagChromaVectorStore", "RagEmbedding", "RagQueryEngine", "RagReranker", "RagRetriever", "ReadOnlyStoreError",
    "answer_response", "chroma_vector_store", "hit_node", "paper_node", "vector_store_index",
]  # fmt: skip


class RagRetriever(BaseRetriever):
    """``pipeline.retrieve`` as a LlamaIndex retriever: the ``k`` best papers, best first, one node each.

    ``filters`` are the pipeline's retrieval filters (``rag.request.FILTERS``). With ``abstain=True`` the
    retriever returns no nodes when the pipeline's abstention model says the corpus does not hold the answer;
    by default it returns the hits and leaves the decision to the caller (``metadata["confidence"]``)."""

    def __init__(
        self,
        pipeline: Pipeline | None = None,
        *,
        k: int | None = None,
        abstain: bool = False,
        callback_manager: CallbackManager | None = None,
        **filters: Any,
    ) -> None:
        super().__init__(callback_manager=callback_manager or CallbackManager([]))
        self.pipeline = pipeline if pipeline is not None else default_pipeline()
        self.k = _checked_k(k, MAX_SEARCH_K)
        filter_key(filters)  # a bad filter is refused here, not at the first query
        self.abstain = abstain
        self.filters = filters

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        retrieved = self.pipeline.retrieve(query_bundle.query_str, self.k, **self.filters)
        if self.abstain and retrieved.abstain:
            return []
        return [hit_node(hit, retrieved.confidence) for hit in retrieved.hits]


class RagReranker(BaseNodePostprocessor):
    """The project's feature reranker (``FeatureScorer``, the fitted logistic model) over nodes from any retriever.

    A node is reranked when it names a paper of the pipeline's index: by ``metadata["paper_id"]`` (what
    ``RagRetriever`` and ``ChromaVectorStore`` nodes over this index carry), else by its ``ref_doc_id`` or its
    node id. Its features are recomputed for the query from the index (BM25, dense and sentence scores and ranks,
    lexical and name matches), as ``pipeline.retrieve`` computes them (see ``paper_scores``), so the score does not
    depend on which retriever found the node, and over ``RagRetriever`` nodes it is the pipeline's own score. The
    new score is the model's probability, ``sigmoid(logit)``. Several nodes of one paper (chunks) all get the
    paper's score and keep their relative order. Like the pipeline (``rag.retrieve.hits.keep_first_stage``),
    papers in the first stage's top ten for the query come before the others, each part by score, so the order
    over ``RagRetriever`` nodes is the pipeline's own. ``filters`` (``rag.request.FILTERS``) restrict the pool the
    features are normalised over, as the same filters do in the pipeline (pass the retriever's filters).

    Nodes without a known paper are **kept after** the reranked ones, in their incoming order and with their
    incoming score. ``top_n`` (default: all) cuts the combined list. ``query_bundle`` is required."""

    pipeline: Any = Field(default=None, description="The rag Pipeline (None: rag.default_pipeline()).")
    top_n: int | None = Field(default=None, ge=1, description="Nodes kept after reranking (None: all).")

    filters: dict[str, Any] = Field(default_factory=dict, description="Retrieval filters (rag.request.FILTERS).")
    _scorer: FeatureScorer = PrivateAttr()

    def __init__(
        self,
        pipeline: Pipeline | None = None,
        *,
        top_n: int | None = None,
        scorer: FeatureScorer | None = None,
        callback_manager: CallbackManager | None = None,
        **filters: Any,
    ) -> None:
        if top_n is not None and (isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1):
            raise QueryError(f"top_n must be a whole number of at least 1 (or None: all), not {top_n!r}")
        filter_key(filters)
        fields: dict[str, Any] = {
            "pipeline": pipeline if pipeline is not None else default_pipeline(),
            "top_n": top_n,
            "filters": filters,
            "callback_manager": callback_manager or CallbackManager([]),
        }
        super().__init__(**fields)
        self._scorer = scorer or FeatureScorer.load()

    @classmethod
    def class_name(cls) -> str:
        return "RagReranker"

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        if query_bundle is None:
            raise QueryError("RagReranker needs the query: call postprocess_nodes(nodes, query_str=...)")
        pipeline: Pipeline = self.pipeline
        papers = pipeline.papers
        paper_of = [_paper_id(n, papers) for n in nodes]
        ids = list(dict.fromkeys(pid for pid in paper_of if pid is not None))
        scores, head, pooled = self.scored(query_bundle.query_str, ids)
        known = [i for i, pid in enumerate(paper_of) if pid is not None]
        # the pipeline's recall rule (``keep_first_stage``): the fusion's top ten go before the rest of the pool,
        # and the pool before papers outside it (``Pipeline._chain`` for k above the pool)
        known.sort(key=lambda i: (paper_of[i] not in head, paper_of[i] not in pooled, -scores[paper_of[i] or ""],
                                  paper_of[i] or "", i))  # fmt: skip
        out = [NodeWithScore(node=nodes[i].node, score=scores[paper_of[i] or ""]) for i in known]
        out += [n for n, pid in zip(nodes, paper_of, strict=True) if pid is None]
        return out[: self.top_n] if self.top_n is not None else out

    def paper_scores(self, query: str, paper_ids: Sequence[str]) -> dict[str, float]:
        """``paper id -> sigmoid(logit)`` of the feature model for papers of the index (see ``scored``)."""
        return self.scored(query, paper_ids)[0]

    def scored(self, query: str, paper_ids: Sequence[str]) -> tuple[dict[str, float], set[str], set[str]]:
        """(``paper id -> sigmoid(logit)`` of the feature model for papers of the index, the ids of the pool's
        fusion top ten, which the pipeline keeps ahead of the rest, the ids of the pool, which it keeps ahead of
        papers outside it; those get scores close to, not exactly, the pipeline's).

        The features are computed as the pipeline computes them: over its first-stage candidate pool for the
        query (``RAG_CANDIDATES`` papers, within ``filters``), so a paper of the pool gets the score the pipeline's
        reranker gives it. A paper outside the pool joins it with its stage scores and its ranks over the whole
        index (a second first-stage pass over every paper: fine for this corpus, costly for a very large one)."""
        if not paper_ids:
            return {}, set(), set()
        pipeline: Pipeline = self.pipeline
        pq = pipeline.prepare(clean_query(query), filter_key(self.filters))
        pool = pipeline.candidates(pq)
        pooled = {c.paper_id for c in pool}
        head = fusion_head(pool)
        missing = [pid for pid in paper_ids if pid not in pooled]
        if missing:
            everything = pipeline.candidates(dataclasses.replace(pq, allowed=None), len(pipeline.retriever.paper_ids))
            by_id = {c.paper_id: c for c in everything}
            pool = [*pool, *(by_id.get(pid) or Candidate(pid) for pid in missing)]
        _, logits = self._scorer.score(pq.query, pool, pipeline.papers)
        probs = sigmoid(logits)
        score = {c.paper_id: float(p) for c, p in zip(pool, probs, strict=True)}
        return {pid: score[pid] for pid in paper_ids}, head, pooled


def _paper_id(node: NodeWithScore, papers: Mapping[str, Paper]) -> str | None:
    """The index paper a node stands for, if any."""
    for pid in (node.node.metadata.get("paper_id"), node.node.ref_doc_id, node.node.node_id):
        if isinstance(pid, str) and pid in papers:
            return pid
    return None


class RagQueryEngine(CustomQueryEngine):
    """``pipeline.ask`` as a LlamaIndex query engine.

    ``query(question)`` returns a ``Response`` whose ``response`` is the answer text with its checked ``[n]``
    markers and whose ``source_nodes`` are exactly the cited papers, in marker order (node ``n-1`` is ``[n]``):
    score = the paper's retrieval score, metadata = the paper's fields plus ``marker``, ``quote`` (the cited
    sentence of the abstract), ``verdict`` (supported / weak / unsupported), ``support`` and
    ``sentence_indices`` (the answer sentences citing it). ``Response.metadata`` holds ``answerer``,
    ``abstained``, ``unsupported`` (texts of sentences their citations do not back), ``removed_markers``,
    ``error`` (an LLM failure that fell back to the extractive answer) and ``standalone_question``."""

    pipeline: Any = Field(default=None, description="The rag Pipeline (None: rag.default_pipeline()).")
    k: int | None = Field(default=None, description="Sources given to the answerer (None: RAG_TOP_K).")
    answerer: AnswererName | None = Field(default=None, description="'extractive' or 'llm' (None: the configured one).")
    filters: dict[str, Any] = Field(default_factory=dict, description="Retrieval filters (rag.request.FILTERS).")

    def __init__(
        self,
        pipeline: Pipeline | None = None,
        *,
        k: int | None = None,
        answerer: AnswererName | None = None,
        callback_manager: CallbackManager | None = None,
        **filters: Any,
    ) -> None:
        if answerer is not None and answerer not in get_args(AnswererName):
            raise ConfigError(f"unknown answerer {answerer!r}; use 'extractive' or 'llm' (or None: the configured one)")
        filter_key(filters)
        pipeline = pipeline if pipeline is not None else default_pipeline()
        pipeline.answerer_named(answerer)  # "llm" with no LLM configured: say so now, not at the first query
        fields: dict[str, Any] = {
            "pipeline": pipeline,
            "k": _checked_k(k, MAX_SOURCES),
            "answerer": answerer,
            "filters": filters,
            "callback_manager": callback_manager or CallbackManager([]),
        }
        super().__init__(**fields)

    def custom_query(self, query_str: str) -> Response:
        pipeline: Pipeline = self.pipeline
        answer = pipeline.ask(query_str, k=self.k, answerer=self.answerer, **self.filters)
        return answer_response(answer)


def _checked_k(k: object, upper: int) -> int | None:
    """``k`` checked as ``rag.ask``/``rag.search`` check it (a ``QueryError`` when not a whole number in
    ``1..upper``); None stays None (the pipeline's default)."""
    return None if k is None else clean_k(k, upper, 1)
