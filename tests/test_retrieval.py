"""Hybrid retrieval, filters, query handling and ``Pipeline.search`` on a small index built with the
hashing embedder (fast), plus a few checks on the real index (marked slow)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from conftest import SMALL_PAPERS, HashEmbedder, make_paper

from rag.errors import QueryError
from rag.index.ingest import ingest
from rag.index.store import Store, open_chroma
from rag.pipeline import Pipeline
from rag.retrieve.fusion import FIRST_STAGE_K, FIRST_STAGE_WEIGHTS, RRF_K, rrf
from rag.retrieve.query import AcronymTable, mine_acronyms, parse_query
from rag.settings import Settings
from rag.text import normalize_query, query_names
from rag.types import Hit

EXTRA = [
    make_paper(
        "Large Language Models as Zero-Shot Rankers",
        "Large Language Models (LLMs) can rank passages without training. We study listwise prompting "
        "for passage ranking.",
        "c.txt:1",
        "Mar 17",
    ),
    make_paper(
        "Backward-Compatible Training for Image Retrieval",
        "We train a new embedding model whose features stay compatible with the old gallery, so the "
        "gallery need not be re-extracted. Backfilling is avoided.",
        "c.txt:2",
        "Mar 21",
    ),
]
PAPERS = [*SMALL_PAPERS, *EXTRA]
SAE, RIDG, SPEECH, GNN = (p.id for p in SMALL_PAPERS)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    data_dir = tmp_path_factory.mktemp("retrieval-index")
    embedder = HashEmbedder()
    store = Store(open_chroma(data_dir), embedder.name)
    ingest(PAPERS, store, embedder, data_dir, progress=False)
    return Pipeline.open(Settings(data_dir=data_dir), embedder=embedder, chroma_client=store.client, progress=False)


# ---- fusion ------------------------------------------------------------------------------------------
def test_rrf_exact_values_and_order() -> None:
    fused = rrf({"a": ["x", "y", "z"], "b": ["y", "x"], "c": ["z"]})
    assert fused == pytest.approx(
        {"x": 1 / 61 + 1 / 62, "y": 1 / 62 + 1 / 61, "z": 1 / 63 + 1 / 61}
    )
    assert RRF_K == 60
    order = sorted(fused, key=lambda pid: (-fused[pid], pid))
    assert order == ["x", "y", "z"]  # x and y tie exactly; the id breaks the tie
    assert rrf({"a": ["p"]}, k=0) == {"p": 1.0}


def test_weighted_first_stage_fusion_values() -> None:
    rankings = {"bm25": ["x", "y"], "dense": ["y", "x"], "sentence": ["z"]}
    first = rrf(rankings, FIRST_STAGE_K, FIRST_STAGE_WEIGHTS)
    k, w = FIRST_STAGE_K, FIRST_STAGE_WEIGHTS
    assert first == pytest.approx({"x": w["bm25"] / (k + 1) + w["dense"] / (k + 2),
                                   "y": w["bm25"] / (k + 2) + w["dense"] / (k + 1), "z": w["sentence"] / (k + 1)})
    assert first["x"] > first["y"]  # BM25 counts more: its first place beats the dense one's
    assert rrf(rankings, 2, {"dense": 3.0})["y"] == pytest.approx(1 / 4 + 3 / 3)  # unnamed rankings weigh 1


def test_candidates_come_in_first_stage_order_and_keep_plain_rrf(pipeline: Pipeline) -> None:
    cands = pipeline.candidates(pipeline.prepare("sparse autoencoder features"), 10)
    assert len(cands) > 2
    assert [c.first_stage for c in cands] == sorted((c.first_stage for c in cands), reverse=True)
    for c in cands:  # the reranker's "rrf" feature stays the plain fusion of the same stage ranks
        ranks = [r for r in c.ranks.values() if r is not None]
        assert c.rrf == pytest.approx(sum(1 / (RRF_K + r) for r in ranks))
        assert c.first_stage == pytest.approx(
            sum(FIRST_STAGE_WEIGHTS[s] / (FIRST_STAGE_K + r) for s, r in c.ranks.items() if r is not None))


def test_fusion_is_deterministic(pipeline: Pipeline) -> None:
    runs = [[(h.paper.id, h.score, tuple(sorted(h.ranks.items()))) for h in pipeline.search("sparse features", 6)]
            for _ in range(3)]
    assert runs[0] == runs[1] == runs[2]


# ---- search --------------------------------------------------------------------------------------
def test_known_query_returns_known_paper_first(pipeline: Pipeline) -> None:
    hits = pipeline.search("rationale invariance loss for domain generalization", 3)
    assert hits[0].paper.id == RIDG
    hits = pipeline.search("speech recognition tokenizer word error rate", 3)
    assert hits[0].paper.id == SPEECH


def test_hits_are_frozen_with_ranks_features_and_sentence_scores(pipeline: Pipeline) -> None:
    hit = pipeline.search("sparse autoencoders residual stream", 1)[0]
    assert isinstance(hit, Hit) and hit.paper.id == SAE
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.score = 0.0  # type: ignore[misc]
    assert set(hit.ranks) == {"bm25", "dense", "sentence"} and hit.ranks["bm25"] == 1
    assert {"rrf", "dense", "sent_max", "bm25", "name_match", "logit"} <= set(hit.features)
    assert len(hit.sentence_scores) == 3  # one per abstract sentence
    assert hit.sentence == "We train sparse autoencoders (SAEs) on the residual stream of a language model."
    assert hit.sentence_score == max(hit.sentence_scores)
    assert 0.0 <= hit.score <= 1.0


def test_acronym_expands_bm25_query(pipeline: Pipeline) -> None:
    parsed = pipeline.retriever.parse("What did the SAE paper find?")
    assert "autoencod" in parsed.bm25_tokens and "autoencod" not in parsed.tokens
    assert pipeline.search("What did the SAE paper find?", 1)[0].paper.id == SAE
    parsed = pipeline.retriever.parse("zero-shot ranking with large language models")
    assert "llm" in parsed.bm25_tokens


def test_query_is_encoded_once(pipeline: Pipeline) -> None:
    embedder = pipeline.embedder
    assert isinstance(embedder, HashEmbedder)
    calls: list[str] = []
    original = embedder.embed_query

    def spy(text: str) -> Any:
        calls.append(text)
        return original(text)

    embedder.embed_query = spy  # type: ignore[method-assign]
    try:
        pipeline.search("LLMs rank passages", 3)
    finally:
        del embedder.embed_query
    assert calls == ["LLMs rank passages"]


# ---- filters -------------------------------------------------------------------------------------
def test_listing_date_filter(pipeline: Pipeline) -> None:
    hits = pipeline.search("language model features", 10, listing_date="Mar 17")
    assert hits and {h.paper.listing_date for h in hits} == {"Mar 17"}
    assert SAE not in {h.paper.id for h in hits}
    assert {h.paper.id for h in pipeline.search("language model", 10, listing_date="Mar 21")} <= {
        p.id for p in PAPERS if p.listing_date == "Mar 21"
    }


def test_source_filter_matches_file_prefix(pipeline: Pipeline) -> None:
    hits = pipeline.search("sparse autoencoders", 10, source="b.txt")
    assert {h.paper.id for h in hits} == {SPEECH, GNN}
    assert pipeline.search("graph", 10, source="nope.txt") == []
    both = pipeline.search("sparse", 10, source="a.txt", listing_date="Mar 21")
    assert {h.paper.id for h in both} == {SAE, RIDG}


def test_unknown_filter_names_the_valid_ones(pipeline: Pipeline) -> None:
    with pytest.raises(QueryError, match=r"listing_date.*source"):
        pipeline.search("graph", 5, year="2024")
    with pytest.raises(QueryError):
        pipeline.search("graph", 5, source=3)


# ---- odd queries ---------------------------------------------------------------------------------
@pytest.mark.parametrize("query", ["", "   \n\t "])
def test_empty_query_raises(pipeline: Pipeline, query: str) -> None:
    with pytest.raises(QueryError):
        pipeline.search(query)


def test_long_and_non_english_queries_are_sane(pipeline: Pipeline) -> None:
    long_query = ("graph neural networks molecule property prediction " * 200)[:5000]
    assert len(long_query) == 5000
    hits = pipeline.search(long_query, 3)
    assert hits and all(isinstance(h, Hit) for h in hits) and hits[0].paper.id == GNN
    for query in ("¿Qué es un autocodificador disperso?", "稀疏自编码器是什么", "x" * 5000):
        hits = pipeline.search(query, 3)
        assert isinstance(hits, list) and all(isinstance(h, Hit) for h in hits)
        retrieved = pipeline.retrieve(query, 3)
        assert 0.0 <= retrieved.confidence <= 1.0
    with pytest.raises(QueryError, match="limit is 5,000"):  # over MAX_QUERY_CHARS: refused before any work
        pipeline.search("x" * 6000, 3)


def test_retrieve_reports_timings_and_confidence(pipeline: Pipeline) -> None:
    retrieved = pipeline.retrieve("graph neural networks for molecules", 2)
    assert set(retrieved.timings) == {"embed", "retrieve", "rerank"}
    assert len(retrieved.hits) == 2 and 0.0 <= retrieved.confidence <= 1.0


def test_abstain_threshold_setting_overrides(pipeline: Pipeline) -> None:
    original = pipeline.settings
    try:
        pipeline.settings = Settings(data_dir=original.data_dir, abstain_threshold=1.0)
        assert pipeline.retrieve("graph neural networks", 2).abstain
        pipeline.settings = Settings(data_dir=original.data_dir, abstain_threshold=0.0)
        assert not pipeline.retrieve("graph neural networks", 2).abstain
    finally:
        pipeline.settings = original


# ---- query handling ------------------------------------------------------------------------------
def test_mines_acronym_pairs_from_text() -> None:
    text = (
        "We train sparse autoencoders (SAEs) on activations. Large Language Models (LLMs) are used. "
        "We propose Max Suppression (MaxSup). Results (negative) vary."
    )
    pairs = mine_acronyms([text])
    assert pairs["sae"] == {"sparse autoencoders"}
    assert pairs["llm"] == {"large language models"}
    assert pairs["maxsup"] == {"max suppression"}
    assert "negative" not in pairs
    table = AcronymTable(pairs)
    assert "sparse autoencoders" in table.expand("How are SAEs trained?")
    assert "sae" in table.expand("how are sparse autoencoders trained")


def test_normalisation_and_query_parts() -> None:
    assert normalize_query("  Sparse\u2013autoencoders\u00a0 “SAE”\x00 ") == 'Sparse-autoencoders "SAE"'
    assert query_names("What does MaxSup do, and how does Chinchilla compare with SeerAttention-R?") == [
        "MaxSup", "Chinchilla", "SeerAttention-R",
    ]
    q = parse_query("trained on 0.4B tokens with 9x speedup and 42% savings")
    assert q.numbers == ("0.4", "9", "42")


def test_features_reward_exact_name_matches(pipeline: Pipeline) -> None:
    from rag.retrieve.features import FEATURES, featurize

    retriever = pipeline.retriever
    pq = pipeline.prepare("Which SAE features explain variance?")
    query = pq.query
    cands = retriever.candidates(pq, 10)
    x = featurize(query, cands, pipeline.papers)
    col = FEATURES.index("name_match")
    by_id = {c.paper_id: x[i, col] for i, c in enumerate(cands)}
    assert by_id[SAE] == 1.0 and by_id.get(GNN, 0.0) == 0.0


# ---- the real index (slow) -----------------------------------------------------------------------
@pytest.mark.slow
def test_real_index_known_papers(real_pipeline: Pipeline) -> None:
    hits = real_pipeline.search("What does MaxSup penalize instead of the ground-truth logit?", 5)
    assert hits[0].paper.title.startswith("MaxSup")
    retrieved = real_pipeline.retrieve("How does QLoRA fine-tune 4-bit quantized LLMs with NormalFloat?", 5)
    assert retrieved.abstain
    hits = real_pipeline.search("sparse autoencoders", 10, listing_date="Mar 21")
    assert hits and all(h.paper.listing_date == "Mar 21" for h in hits)


@pytest.mark.slow
def test_reranking_never_loses_a_gold_paper_of_the_fusion_top_ten(real_pipeline: Pipeline) -> None:
    """On every answerable validation item: each gold paper the first stage (RRF) ranked in its top ten is in
    the final top ten, so recall@10 is at least the fusion's; and the reranker still changes the order."""
    import json
    from pathlib import Path

    from rag.text import normalize_title

    root = Path(__file__).resolve().parent.parent
    by_title = {normalize_title(p.title): p.id for p in real_pipeline.papers.values()}
    items = [json.loads(line) for line in (root / "evals" / "dev_val.jsonl").read_text().splitlines() if line]
    fusion_recall, final_recall, reordered = [], [], 0
    for item in items:
        if not item["gold_titles"]:
            continue
        gold = {by_title[normalize_title(t)] for t in item["gold_titles"]}
        query = normalize_query(real_pipeline.fallback.condense(item["question"], item.get("history", [])))
        candidates = real_pipeline.candidates(real_pipeline.prepare(query))
        fusion_top = [c.paper_id for c in candidates[:10]]
        final_top = [h.paper.id for h in real_pipeline.retrieve(query, 10).hits]
        assert gold & set(fusion_top) <= set(final_top), item["id"]
        fusion_recall.append(len(gold & set(fusion_top)) / len(gold))
        final_recall.append(len(gold & set(final_top)) / len(gold))
        reordered += final_top != fusion_top
    assert np.mean(final_recall) >= np.mean(fusion_recall) >= 0.97
    assert reordered >= len(final_recall) // 2  # the reranker does reorder (the rule only bounds it)


def test_hnsw_paths_agree_with_the_in_memory_scan(pipeline: Pipeline) -> None:
    """Large indexes ask Chroma's HNSW index for the dense and sentence stages; on a small index both
    paths must give the same candidates and scores."""
    from rag.retrieve.hybrid import HybridRetriever

    scan = pipeline.retriever
    hnsw = HybridRetriever(scan.store, scan.keyword, dense_matrix_max=0, sentence_scan_max=0)
    assert hnsw.vectors.chunk_matrix is None and not hnsw.vectors.sentence_scan
    assert scan.vectors.chunk_matrix is not None and scan.vectors.sentence_scan
    for text in ("sparse autoencoders language model", "graph molecules"):
        pq = pipeline.prepare(text)
        a, b = scan.candidates(pq, 6), hnsw.candidates(pq, 6)
        assert [c.paper_id for c in a] == [c.paper_id for c in b]
        for x, y in zip(a, b, strict=True):
            assert x.scores == pytest.approx(y.scores, abs=1e-5)
            assert x.sentence_scores.tolist() == pytest.approx(y.sentence_scores.tolist(), abs=1e-5)
        filtered = hnsw.candidates(dataclasses.replace(pq, allowed=frozenset({GNN, SPEECH})), 6)
        assert {c.paper_id for c in filtered} <= {GNN, SPEECH}


def test_top_indices_and_paper_groups() -> None:
    from rag.retrieve.arrays import PaperGroups, top_indices

    scores = np.array([0.5, -np.inf, 0.9, 0.5, 0.1], dtype=np.float32)
    assert top_indices(scores, 3).tolist() == [2, 0, 3]  # tie 0.5: lower index first
    assert top_indices(scores, 10).tolist() == [2, 0, 3, 4]  # -inf is never returned
    assert top_indices(np.full(3, -np.inf), 2).tolist() == []
    groups = PaperGroups(np.array([2, 0, 2, 0]), n_papers=4)  # rows of papers 2, 0, 2, 0; 1 and 3 have none
    best = groups.max(np.array([0.1, 0.7, 0.4, 0.2], dtype=np.float32))
    assert best[[0, 2]].tolist() == pytest.approx([0.7, 0.4]) and np.isneginf(best[[1, 3]]).all()


def test_blas_limit_holds_for_overlapping_requests() -> None:
    """Requests overlap in the web app: once any request has run, every request computes on one BLAS
    thread, and no request leaving lifts the limit under another one still computing."""
    import threading

    threadpoolctl = pytest.importorskip("threadpoolctl")
    from rag.retrieve.arrays import SingleThreadBlas

    def blas_threads() -> set[int]:
        return {i["num_threads"] for i in threadpoolctl.ThreadpoolController().select(user_api="blas").info()}

    original = threadpoolctl.ThreadpoolController().select(user_api="blas").info()
    if not original:
        pytest.skip("no BLAS library loaded")
    threadpoolctl.threadpool_limits(limits=2, user_api="blas")  # a baseline above one
    if blas_threads() != {2}:
        pytest.skip("another thread controls the BLAS thread count")
    try:
        limit = SingleThreadBlas()
        with limit:
            assert blas_threads() == {1}
        assert blas_threads() == {1}  # leaving does not restore two threads under other requests
        a_left, b_in = threading.Event(), threading.Event()
        seen: dict[str, set[int]] = {}

        def request_a() -> None:
            with limit:
                b_in.wait(10)
                seen["a"] = blas_threads()
            a_left.set()

        def request_b() -> None:
            with limit:
                b_in.set()
                a_left.wait(10)
                seen["b after a left"] = blas_threads()

        threads = [threading.Thread(target=request_a), threading.Thread(target=request_b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert seen == {"a": {1}, "b after a left": {1}}
    finally:
        threadpoolctl.threadpool_limits(limits=original[0]["num_threads"], user_api="blas")


def test_sign_shortlist_paths_keep_candidates_and_give_them_exact_scores(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over ``SHORTLIST_MIN_ROWS`` rows the dense and sentence stages shortlist by sign bits; the candidates'
    own stage and sentence scores stay exact (here: a shortlist of 2 rows of each)."""
    from rag.retrieve import vectors
    from rag.retrieve.hybrid import HybridRetriever

    scan = pipeline.retriever
    monkeypatch.setattr(vectors, "SHORTLIST_MIN_ROWS", 2)
    monkeypatch.setattr(vectors, "SHORTLIST_SHARE", 0.0)
    short = HybridRetriever(scan.store, scan.keyword)
    assert short.vectors.chunk_shortlist is not None and short.vectors.sentence_shortlist is not None
    assert scan.vectors.chunk_shortlist is None and scan.vectors.sentence_shortlist is None
    pq = pipeline.prepare("sparse autoencoders language model")
    assert np.isfinite(short.vectors.sentence_sims(pq.vector)).sum() < len(short.vectors.sentence_matrix)
    exact = {c.paper_id: c for c in scan.candidates(pq, 50)}
    for c in short.candidates(pq, 50):
        assert c.scores == pytest.approx(exact[c.paper_id].scores, abs=1e-5)
        assert c.sentence_scores.tolist() == pytest.approx(exact[c.paper_id].sentence_scores.tolist(), abs=1e-5)
    assert short.candidates(pq, 1)[0].paper_id == scan.candidates(pq, 1)[0].paper_id


def test_asking_for_more_papers_never_reorders_the_first_ones(real_pipeline: Pipeline) -> None:
    """Above the candidate pool (50), the pool keeps its order and scores and the first stage's next papers
    follow: ``search(q, 100)[:10]`` used to differ from ``search(q, 10)`` for 88 of 205 questions."""
    for query in ("llm resampling w imperfect verifiers optimal number of samples",
                  "Which papers select training data for language models?", "graph"):  # fmt: skip
        few, many = real_pipeline.search(query, 10), real_pipeline.search(query, 100)
        assert len(many) == 100 and len({h.paper.id for h in many}) == 100
        assert [(h.paper.id, h.score) for h in many[:10]] == [(h.paper.id, h.score) for h in few], query


def test_a_name_typed_without_its_hyphen_finds_the_hyphenated_one() -> None:
    """A reviewer's "fraction of polysemantic heads gpt2 small" was refused while "gpt-2" was answered: BM25 reads
    "gpt2" and "gpt-2" as different tokens, and the name check missed "GPT-2 Small" for the name "GPT2"."""
    from rag.retrieve.features import _has_name, _name_pattern

    df = {"gpt-2": 12, "gpt2": 1, "llama-3": 2}
    query = parse_query("polysemantic heads GPT2 small", doc_freq=lambda t: (df.get(t, 0), 383))
    assert "gpt-2" in query.bm25_tokens and "gpt2" in query.tokens
    assert "llama-3" not in parse_query("llama3 gpt2", doc_freq=lambda t: (0, 383)).bm25_tokens  # nowhere
    assert _has_name(_name_pattern("GPT2"), "every head in gpt-2 small")
    assert _has_name(_name_pattern("GPT-2"), "on gpt2 small")
    assert not _has_name(_name_pattern("GPT2"), "a gpt-20b model")


def test_a_hyphen_left_out_of_a_name_still_answers(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    answer = real_pipeline.ask("fraction of polysemantic heads gpt2 small", answerer="extractive")
    assert not answer.abstained and "90%" in answer.text, answer.text
