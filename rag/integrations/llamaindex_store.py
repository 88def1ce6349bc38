"""The project's Chroma index, read through llama-index's own ``ChromaVectorStore`` (read-only).

``vector_store_index(pipeline)`` gives a ``VectorStoreIndex`` over the pipeline's chunk collection, with the
pipeline's embedder wrapped as a llama-index ``BaseEmbedding`` (``RagEmbedding``): the query is embedded by
the same model that embedded the chunks, nothing is downloaded and Chroma never embeds (the collection has
no embedding function; ``ChromaVectorStore`` always passes the query vector).

How the collection maps onto llama-index nodes (``ChromaVectorStore`` reads it through its legacy path,
since the records carry no ``_node_content``):

* node id = the Chroma record id, ``<paper id>:<chunk index>``; node text = the chunk text (Chroma's
  ``documents``: title and abstract, or a token-bounded part of them);
* node metadata = the record's metadata: ``paper_id``, ``chunk``, ``n_chunks``, ``content_hash``,
  ``listing_date`` ("" when unknown) and ``paper`` (the paper as JSON). The technical keys are hidden from the
  LLM and embedding views of the node, and ``node.ref_doc_id`` is the paper id;
* score = ``ChromaVectorStore``'s ``exp(-distance)`` over the collection's cosine distance, i.e.
  ``exp(cosine - 1)``, in (0, 1], monotone in the cosine;
* metadata filters work on the flat keys, e.g. ``MetadataFilters(filters=[ExactMatchFilter(key="listing_date",
  value="Mar 21")])``.

The store is **read-only**: the index is written by ``rag ingest`` only (chunks, sentence vectors and the BM25
index must stay in step), so ``add``/``delete``/``clear`` raise ``ReadOnlyStoreError``.

No llama-index global ``Settings`` is read or written: the embed model, the callback manager and the
(unused, read-only) transformations are all passed explicitly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core import VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import BaseNode, NodeRelationship, RelatedNodeInfo, TransformComponent
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryResult
from llama_index.vector_stores.chroma import ChromaVectorStore

from rag.errors import QueryError, RagError
from rag.integrations.llamaindex_nodes import default_pipeline

if TYPE_CHECKING:
    from rag.index.embeddings import Embedder
    from rag.pipeline import Pipeline

HIDDEN_KEYS = ["chunk", "n_chunks", "content_hash", "paper"]
"""Record metadata kept on the node but left out of what an LLM or an embedder sees."""


class ReadOnlyStoreError(RagError):
    """Something tried to write the project's index through llama-index."""

    def __init__(self, operation: str) -> None:
        super().__init__(
            f"the rag index is read-only through llama-index ({operation} refused): add papers to the corpus "
            "folder and run `rag ingest`, which keeps chunks, sentences and the BM25 index in step"
        )


class RagEmbedding(BaseEmbedding):
    """A project ``Embedder`` (MiniLM, OpenAI, or a test's hashing embedder) as a llama-index embed model."""

    _embedder: Any = PrivateAttr()

    def __init__(self, embedder: Embedder, **kwargs: Any) -> None:
        kwargs.setdefault("callback_manager", CallbackManager([]))
        super().__init__(model_name=embedder.name, **kwargs)
        self._embedder = embedder

    @classmethod
    def class_name(cls) -> str:
        return "RagEmbedding"

    def _get_query_embedding(self, query: str) -> Embedding:
        return [float(v) for v in self._embedder.embed_query(query)]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return [[float(v) for v in row] for row in self._embedder.embed(texts)]


class RagChromaVectorStore(ChromaVectorStore):
    """``ChromaVectorStore`` over the project's chunk collection: queries work, writes raise."""

    def __init__(self, chroma_collection: Any) -> None:
        super().__init__(chroma_collection=chroma_collection)

    @classmethod
    def class_name(cls) -> str:
        return "RagChromaVectorStore"

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """Chroma's nearest chunks; a ``similarity_top_k`` below 1 is a ``QueryError`` (Chroma raised a raw
        ``TypeError`` for 0)."""
        if query.similarity_top_k < 1:
            raise QueryError(f"similarity_top_k={query.similarity_top_k} asks for no node; ask for 1 or more",
                             "similarity_top_k")
        return _tidy(super().query(query, **kwargs))

    def add(self, nodes: Sequence[BaseNode], **add_kwargs: Any) -> list[str]:
        raise ReadOnlyStoreError("add")

    async def async_add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        raise ReadOnlyStoreError("add")

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        raise ReadOnlyStoreError("delete")

    async def adelete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        raise ReadOnlyStoreError("delete")

    def delete_nodes(self, node_ids: list[str] | None = None, filters: Any = None, **kwargs: Any) -> None:
        raise ReadOnlyStoreError("delete_nodes")

    async def adelete_nodes(self, node_ids: list[str] | None = None, filters: Any = None, **kwargs: Any) -> None:
        raise ReadOnlyStoreError("delete_nodes")

    def clear(self) -> None:
        raise ReadOnlyStoreError("clear")

    async def aclear(self) -> None:
        raise ReadOnlyStoreError("clear")


class _RefuseWrites(TransformComponent):
    """The index's ingestion transformation: inserting documents is refused before anything is embedded."""

    def __call__(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[BaseNode]:
        raise ReadOnlyStoreError("insert")


def _tidy(result: VectorStoreQueryResult) -> VectorStoreQueryResult:
    """Hide the technical metadata from the LLM/embed views and point ``ref_doc_id`` at the paper."""
    for node in result.nodes or []:
        node.excluded_llm_metadata_keys = list(HIDDEN_KEYS)
        node.excluded_embed_metadata_keys = list(HIDDEN_KEYS)
        paper_id = node.metadata.get("paper_id")
        if isinstance(paper_id, str):
            node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=paper_id)
    return result


def chroma_vector_store(pipeline: Pipeline | None = None) -> RagChromaVectorStore:
    """A read-only ``ChromaVectorStore`` over the pipeline's chunk collection (default: ``rag.default_pipeline()``)."""
    pipeline = pipeline if pipeline is not None else default_pipeline()
    return RagChromaVectorStore(pipeline.store.chunks)


def vector_store_index(pipeline: Pipeline | None = None) -> VectorStoreIndex:
    """A ``VectorStoreIndex`` over the read-only store, embedding queries with the pipeline's embedder.

    ``index.as_retriever(similarity_top_k=10)`` gives chunk nodes (several per paper are possible); compose it
    with ``RagReranker`` to reorder them by the project's feature model. Do not call ``as_query_engine()``
    without passing ``llm=``: llama-index would resolve its default (OpenAI) LLM."""
    pipeline = pipeline if pipeline is not None else default_pipeline()
    callbacks = CallbackManager([])
    return VectorStoreIndex.from_vector_store(
        chroma_vector_store(pipeline),
        embed_model=RagEmbedding(pipeline.embedder, callback_manager=callbacks),
        callback_manager=callbacks,
        transformations=[_RefuseWrites()],
    )
