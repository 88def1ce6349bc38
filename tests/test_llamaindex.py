"""The LlamaIndex components, composed in llama-index's own engines over real pipelines (Chroma on disk,
BM25, the fitted feature reranker; HashEmbedder for speed, the real index in one slow test)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SMALL_PAPERS, open_hash_pipeline
from llama_index.core import Settings as LlamaSettings
from llama_index.core.base.response.schema import Response
from llama_index.core.callbacks import CallbackManager
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.response_synthesizers.no_text import NoText
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle, TextNode
from llama_index.core.vector_stores import ExactMatchFilter, MetadataFilters
from test_pipeline import EXTRA  # nine near-duplicate sparse-autoencoder papers

import rag
from rag.errors import ConfigError, QueryError, RagError
from rag.index.corpus import paper_id
from rag.integrations.llamaindex import (
    RagEmbedding,
    RagQueryEngine,
    RagReranker,
    RagRetriever,
    ReadOnlyStoreError,
    chroma_vector_store,
    vector_store_index,
)
from rag.pipeline import Pipeline
from rag.retrieve.features import FEATURES

PAPERS = [*SMALL_PAPERS, *EXTRA]
RATIONALE = paper_id("Domain Generalization via Rationale Invariance")
SAE = paper_id("Sparse Autoencoders Find Interpretable Features in Language Models")
NUMBERS_QUERY = "What does the SAE variance explain 42.5%?"
"""A query for which the feature model scores a paper the fusion ranked 11th above some of the fusion's top ten
(the number and name features); the recall rule keeps it 11th."""
REORDER_QUERY = "We study sparse autoencoders with variant number 2."
"""A query whose feature-model order of the fusion's top ten differs from the fusion order."""
MARKER = re.compile(r"\[(\d+)\]")


@pytest.fixture(autouse=True)
def _llama_settings_untouched() -> Iterator[None]:
    """No component may resolve llama-index's default LLM / embed model or set any other global."""
    names = [name for name in vars(LlamaSettings) if name.startswith("_")]
    assert all(getattr(LlamaSettings, name) is None for name in names)
    yield
    touched = {name: getattr(LlamaSettings, name) for name in names if getattr(LlamaSettings, name) is not None}
    assert not touched, f"llama-index Settings mutated: {touched}"
    assert LlamaSettings._llm is None and LlamaSettings._embed_model is None


def no_llm_engine(retriever: RagRetriever, *postprocessors: RagReranker) -> RetrieverQueryEngine:
    """llama-index's RetrieverQueryEngine with a synthesizer that writes no text (so no LLM is called)."""
    callbacks = CallbackManager([])
    synthesizer = NoText(llm=MockLLM(), callback_manager=callbacks)
    return RetrieverQueryEngine(
        retriever,
        response_synthesizer=synthesizer,
        node_postprocessors=list(postprocessors),
        callback_manager=callbacks,
    )


def query(engine: RagQueryEngine, question: str) -> Response:
    response = engine.query(question)
    assert isinstance(response, Response)  # not streaming
    return response


@pytest.fixture
def fusion_pipeline(tmp_path: Path) -> Pipeline:
    """The 13 papers with no second stage (``RAG_RERANKER=none``): hits come in reciprocal-rank-fusion order."""
    return open_hash_pipeline(tmp_path / "fusion", PAPERS, reranker="none")


@pytest.fixture
def feature_pipeline(tmp_path: Path) -> Pipeline:
    """The same 13 papers with the default feature reranker."""
    return open_hash_pipeline(tmp_path / "features", PAPERS)


def test_retriever_nodes_are_the_pipelines_papers_with_evidence_ranks_and_features(hash_pipeline: Pipeline) -> None:
    query = "rationale invariance loss for domain generalization"
    nodes = RagRetriever(hash_pipeline, k=3).retrieve(query)
    hits = hash_pipeline.search(query, 3)
    assert [n.node.node_id for n in nodes] == [h.paper.id for h in hits]
    assert nodes[0].node.node_id == RATIONALE
    for node, hit in zip(nodes, hits, strict=True):
        meta = node.node.metadata
        assert node.score == pytest.approx(hit.score)
        assert node.node.get_content() == f"{hit.paper.title}\n{hit.paper.abstract}"
        assert meta["paper_id"] == hit.paper.id and meta["title"] == hit.paper.title
        assert meta["listing_date"] == hit.paper.listing_date and meta["sources"] == list(hit.paper.sources)
        assert meta["evidence"] == hit.sentence and meta["evidence"] in hit.paper.abstract
        assert meta["ranks"] == hit.ranks and set(meta["ranks"]) == {"bm25", "dense", "sentence"}
        assert set(FEATURES) <= set(meta["features"]) and "logit" in meta["features"]
    assert "invariance loss" in nodes[0].node.metadata["evidence"]
    llm_view = nodes[0].node.get_content(MetadataMode.LLM)
    assert "paper_id: " + RATIONALE in llm_view and "Rationale Invariance" in llm_view
    assert "features" not in llm_view and "ranks" not in llm_view


def test_retriever_filters_and_abstention(hash_pipeline: Pipeline) -> None:
    march_17 = RagRetriever(hash_pipeline, k=4, listing_date="Mar 17").retrieve("sparse autoencoders features")
    assert [n.node.metadata["title"] for n in march_17] == ["Fast Tokenization for Speech Recognition"]
    off_topic = "What is the capital of France?"
    assert hash_pipeline.retrieve(off_topic, 3).abstain
    assert RagRetriever(hash_pipeline, k=3, abstain=True).retrieve(off_topic) == []
    kept = RagRetriever(hash_pipeline, k=3).retrieve(off_topic)
    assert len(kept) == 3 and all(n.node.metadata["confidence"] < 0.5 for n in kept)


@pytest.mark.parametrize("question", [NUMBERS_QUERY, REORDER_QUERY])
def test_retriever_and_reranker_in_a_retriever_query_engine_reproduce_the_feature_reranker(
    fusion_pipeline: Pipeline, feature_pipeline: Pipeline, question: str
) -> None:
    fused = [n.node.node_id for n in RagRetriever(fusion_pipeline, k=len(PAPERS)).retrieve(question)]
    expected = feature_pipeline.search(question, len(PAPERS))
    by_score = [h.paper.id for h in sorted(expected, key=lambda h: (-h.score, h.paper.id))]
    if question == REORDER_QUERY:
        assert fused[:10] != [h.paper.id for h in expected][:10]  # the reranker reorders the fusion top ten
    else:  # the recall rule has work to do: a paper the fusion ranked 11th outscores some of its top ten
        assert by_score != [h.paper.id for h in expected] and set(by_score[:10]) != set(fused[:10])
    assert set(h.paper.id for h in expected[:10]) == set(fused[:10])  # the fusion top ten stay the top ten
    engine = no_llm_engine(RagRetriever(fusion_pipeline, k=len(PAPERS)), RagReranker(fusion_pipeline))
    response = engine.query(question)
    assert [n.node.node_id for n in response.source_nodes] == [h.paper.id for h in expected]
    assert [n.score for n in response.source_nodes] == pytest.approx([h.score for h in expected])
    assert sorted(n.node.node_id for n in engine.retrieve(QueryBundle(question))) == sorted(fused)

    top3 = no_llm_engine(RagRetriever(fusion_pipeline, k=len(PAPERS)), RagReranker(fusion_pipeline, top_n=3))
    assert [n.node.node_id for n in top3.retrieve(QueryBundle(question))] == [h.paper.id for h in expected[:3]]


def test_reranker_over_the_pipelines_own_top_k_gives_the_pipelines_scores(feature_pipeline: Pipeline) -> None:
    nodes = RagRetriever(feature_pipeline, k=4).retrieve(NUMBERS_QUERY)  # 4 of the 13-paper candidate pool
    reranked = RagReranker(feature_pipeline).postprocess_nodes(nodes, query_str=NUMBERS_QUERY)
    assert [n.node.node_id for n in reranked] == [n.node.node_id for n in nodes]
    assert [n.score for n in reranked] == pytest.approx([n.score for n in nodes])
    assert all(a.node is b.node for a, b in zip(reranked, nodes, strict=True))


def test_reranker_with_the_retrievers_filters_scores_as_the_filtered_pipeline(
    fusion_pipeline: Pipeline, feature_pipeline: Pipeline
) -> None:
    query = "sparse autoencoders learn features of language models"
    nodes = RagRetriever(fusion_pipeline, k=9, source="c.txt").retrieve(query)
    assert {n.node.metadata["sources"][0].split(":")[0] for n in nodes} == {"c.txt"}
    filtered = RagReranker(fusion_pipeline, source="c.txt").postprocess_nodes(nodes, query_str=query)
    expected = feature_pipeline.search(query, 9, source="c.txt")
    assert [n.node.node_id for n in filtered] == [h.paper.id for h in expected]
    assert [n.score for n in filtered] == pytest.approx([h.score for h in expected])
    unfiltered = RagReranker(fusion_pipeline).postprocess_nodes(nodes, query_str=query)
    assert [n.score for n in unfiltered] != pytest.approx([h.score for h in expected])  # the pool matters


def test_reranker_over_chroma_vector_store_nodes_keeps_unknown_nodes_last(feature_pipeline: Pipeline) -> None:
    query = "rationale invariance loss"
    chunks = vector_store_index(feature_pipeline).as_retriever(similarity_top_k=5).retrieve(query)
    stranger = NodeWithScore(node=TextNode(id_="not-a-paper", text="A web page about rationale."), score=0.99)
    reranked = RagReranker(feature_pipeline).postprocess_nodes([stranger, *chunks], query_str=query)
    assert reranked[-1] is stranger and reranked[-1].score == 0.99
    ranked = reranked[:-1]
    assert sorted(n.node.node_id for n in ranked) == sorted(n.node.node_id for n in chunks)
    pipeline_scores = {h.paper.id: h.score for h in feature_pipeline.search(query, len(PAPERS))}
    assert ranked[0].node.metadata["paper_id"] == RATIONALE
    scores = [n.score or 0.0 for n in ranked]
    assert scores == sorted(scores, reverse=True)
    for node in ranked:  # the same probability the pipeline's reranker gives the paper
        assert node.score == pytest.approx(pipeline_scores[node.node.metadata["paper_id"]])


def test_reranker_needs_the_query(hash_pipeline: Pipeline) -> None:
    nodes = RagRetriever(hash_pipeline, k=2).retrieve("graph neural networks")
    with pytest.raises(QueryError, match="needs the query"):
        RagReranker(hash_pipeline).postprocess_nodes(nodes)
    assert RagReranker(hash_pipeline).postprocess_nodes([], query_str="graph neural networks") == []


def test_query_engine_response_cites_exactly_its_source_nodes(hash_pipeline: Pipeline) -> None:
    question = "What do sparse autoencoders learn and how much variance do their features explain?"
    response = query(RagQueryEngine(hash_pipeline, k=3), question)
    answer = hash_pipeline.ask(question, k=3)
    assert response.response == answer.text
    markers = [int(m) for m in MARKER.findall(response.response or "")]
    assert markers and set(markers) == set(range(1, len(response.source_nodes) + 1))
    cited = sorted(answer.citations, key=lambda c: c.marker)
    assert [n.node.node_id for n in response.source_nodes] == [c.paper.id for c in cited]
    assert response.source_nodes[0].node.node_id == SAE
    hit_score = {h.paper.id: h.score for h in answer.hits}
    for i, node in enumerate(response.source_nodes, start=1):
        meta = node.node.metadata
        assert meta["marker"] == i
        assert meta["verdict"] in ("supported", "weak", "unsupported")
        assert meta["quote"] and meta["quote"] in node.node.get_content()
        assert node.score == pytest.approx(hit_score[node.node.node_id])
    assert "42.5%" in response.response
    assert response.metadata == {
        "answerer": "extractive", "abstained": False, "unsupported": [c.text for c in answer.unsupported],
        "removed_markers": list(answer.removed_markers), "error": None,
        "standalone_question": answer.standalone_question,
    }  # fmt: skip


def test_query_engine_checks_the_answerer_name(hash_pipeline: Pipeline) -> None:
    with pytest.raises(ConfigError, match="'extractive' or 'llm'"):
        RagQueryEngine(hash_pipeline, answerer="gpt")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):  # no LLM configured: said when built, not at query()
        RagQueryEngine(hash_pipeline, answerer="llm")


def test_query_engine_abstains_with_no_sources(hash_pipeline: Pipeline) -> None:
    response = query(RagQueryEngine(hash_pipeline), "What is the capital of France?")
    assert response.metadata is not None and response.metadata["abstained"] is True
    assert response.source_nodes == [] and not MARKER.search(response.response or "")


def test_components_default_to_the_package_pipeline(hash_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rag, "_pipeline", hash_pipeline)
    retriever = RagRetriever()
    assert retriever.pipeline is hash_pipeline
    assert retriever.retrieve("speech recognition tokenizer")[0].node.metadata["title"].startswith("Fast Tokeniz")
    response = query(RagQueryEngine(), "How much faster is the speech recognition tokenizer?")
    assert "3.5x" in (response.response or "")
    assert RagReranker().pipeline is hash_pipeline
    assert chroma_vector_store().client is hash_pipeline.store.chunks


def test_chroma_vector_store_reads_the_project_collection(hash_pipeline: Pipeline) -> None:
    index = vector_store_index(hash_pipeline)
    nodes = index.as_retriever(similarity_top_k=3).retrieve("rationale invariance loss for domain generalization")
    top = nodes[0].node
    assert top.metadata["paper_id"] == RATIONALE and top.ref_doc_id == RATIONALE
    assert top.node_id == f"{RATIONALE}:0"
    paper = hash_pipeline.papers[RATIONALE]
    assert top.get_content().startswith(paper.title) and paper.abstract[:40] in top.get_content()
    scores = [n.score or 0.0 for n in nodes]
    assert scores == sorted(scores, reverse=True) and 0.0 < scores[-1] <= scores[0] <= 1.0
    assert "content_hash" not in top.get_content(MetadataMode.LLM)

    march_17 = MetadataFilters(filters=[ExactMatchFilter(key="listing_date", value="Mar 17")])
    filtered = index.as_retriever(similarity_top_k=3, filters=march_17).retrieve("rationale invariance")
    assert {n.node.metadata["paper_id"] for n in filtered} == {paper_id("Fast Tokenization for Speech Recognition")}
    with pytest.raises(QueryError, match="similarity_top_k=0 asks for no node"):  # was Chroma's raw TypeError
        index.as_retriever(similarity_top_k=0).retrieve("rationale invariance")


def test_embedding_wrapper_is_the_pipelines_embedder(hash_pipeline: Pipeline) -> None:
    embedding = RagEmbedding(hash_pipeline.embedder)
    text = "sparse autoencoders on the residual stream"
    assert embedding.model_name == hash_pipeline.embedder.name
    assert embedding.get_query_embedding(text) == pytest.approx(hash_pipeline.embedder.embed_query(text).tolist())
    batch = embedding.get_text_embedding_batch([text, "graph neural networks"])
    assert batch[1] == pytest.approx(hash_pipeline.embedder.embed(["graph neural networks"])[0].tolist())


def test_the_store_is_read_only_through_llama_index(hash_pipeline: Pipeline) -> None:
    store = chroma_vector_store(hash_pipeline)
    before = hash_pipeline.store.chunks.count()
    node = TextNode(id_="intruder", text="Not a paper.", embedding=[0.0] * hash_pipeline.embedder.dim)
    for write in (
        lambda: store.add([node]),
        lambda: store.delete(RATIONALE),
        lambda: store.delete_nodes([f"{RATIONALE}:0"]),
        lambda: store.clear(),
        lambda: vector_store_index(hash_pipeline).insert_nodes([node]),
    ):
        with pytest.raises(ReadOnlyStoreError, match="rag ingest"):
            write()
    assert issubclass(ReadOnlyStoreError, RagError)
    assert hash_pipeline.store.chunks.count() == before


@pytest.mark.slow
def test_end_to_end_on_the_real_index(real_pipeline: Pipeline) -> None:
    question = (
        "In the rationale invariance paper on domain generalization, how is each sample's decision rationale "
        "represented and what loss is introduced?"
    )
    engine = no_llm_engine(RagRetriever(real_pipeline, k=10), RagReranker(real_pipeline, top_n=5))
    nodes = engine.retrieve(QueryBundle(question))
    assert len(nodes) == 5 and nodes[0].node.node_id == RATIONALE
    assert "rationale" in nodes[0].node.metadata["evidence"].lower()
    top10 = RagRetriever(real_pipeline, k=10).retrieve(question)
    own = RagReranker(real_pipeline).postprocess_nodes(top10, query_str=question)
    assert [n.node.node_id for n in own] == [h.paper.id for h in real_pipeline.search(question, 10)]

    chunks = vector_store_index(real_pipeline).as_retriever(similarity_top_k=10).retrieve(question)
    assert RATIONALE in [n.node.metadata["paper_id"] for n in chunks[:3]]
    reranked = RagReranker(real_pipeline).postprocess_nodes(chunks, query_str=question)
    assert reranked[0].node.metadata["paper_id"] == RATIONALE

    response = query(RagQueryEngine(real_pipeline), question)
    assert response.source_nodes and response.source_nodes[0].node.node_id == RATIONALE
    markers = {int(m) for m in MARKER.findall(response.response or "")}
    assert markers == set(range(1, len(response.source_nodes) + 1))
    assert response.source_nodes[0].node.metadata["verdict"] == "supported"


def test_the_documented_vector_store_example_puts_its_paper_first(real_pipeline: Pipeline) -> None:
    """docs/llamaindex.md: "Which paper penalizes the top-1 logit?" over 50 dense chunks, reranked: MaxSup first.
    With the 20 chunks the page first showed, MaxSup (dense rank 21) was not in the pool."""
    question = "Which paper penalizes the top-1 logit?"
    chunks = vector_store_index(real_pipeline).as_retriever(similarity_top_k=50).retrieve(question)
    best = RagReranker(real_pipeline, top_n=5).postprocess_nodes(chunks, query_str=question)
    assert real_pipeline.papers[best[0].node.metadata["paper_id"]].title.startswith("MaxSup")


def test_components_take_a_callback_manager_and_check_k_and_filters_when_built(hash_pipeline: Pipeline) -> None:
    """``callback_manager`` is LlamaIndex's own keyword, never a retrieval filter; ``k``/``top_n`` and filters
    are checked as ``rag.ask`` checks them, when the component is built."""
    from llama_index.core.callbacks.base_handler import BaseCallbackHandler

    class Traces(BaseCallbackHandler):
        def __init__(self) -> None:
            super().__init__([], [])
            self.started: list[str | None] = []

        def start_trace(self, trace_id: str | None = None) -> None:
            self.started.append(trace_id)

        def end_trace(self, trace_id: str | None = None, trace_map: Any = None) -> None:
            pass

        def on_event_start(self, *args: Any, **kwargs: Any) -> str:
            return ""

        def on_event_end(self, *args: Any, **kwargs: Any) -> None:
            pass

    debug = Traces()
    engine = RagQueryEngine(hash_pipeline, k=2, callback_manager=CallbackManager([debug]))
    assert engine.query("What do sparse autoencoders explain?").source_nodes
    assert debug.started == ["query"]
    reranker = RagReranker(hash_pipeline, callback_manager=CallbackManager([debug]))
    assert reranker.callback_manager.handlers == [debug]
    for bad in (True, 5.5, "5", 0, 21):
        with pytest.raises(QueryError):
            RagQueryEngine(hash_pipeline, k=bad)
    for bad in (True, 0, 2.0):
        with pytest.raises(QueryError):
            RagReranker(hash_pipeline, top_n=bad)
    with pytest.raises(QueryError, match="since"):
        RagRetriever(hash_pipeline, since="soon")
    with pytest.raises(QueryError):
        RagRetriever(hash_pipeline, k=101)


def test_reranker_beyond_the_candidate_pool_keeps_the_pools_order(real_pipeline: Pipeline) -> None:
    """For k above the 50-paper pool the pipeline ranks the pool as always and puts the next papers after it; the
    reranker over those nodes gives the pool's papers the same order and scores, ahead of the rest."""
    query = "sparse attention instead of softmax"
    nodes = RagRetriever(real_pipeline, k=100).retrieve(query)
    reranked = RagReranker(real_pipeline).postprocess_nodes(nodes, query_str=query)
    pool = real_pipeline.settings.candidate_pool
    assert [n.node.node_id for n in reranked[:pool]] == [n.node.node_id for n in nodes[:pool]]
    assert [n.score for n in reranked[:pool]] == pytest.approx([n.score for n in nodes[:pool]])
    assert {n.node.node_id for n in reranked[pool:]} == {n.node.node_id for n in nodes[pool:]}
