"""The Chroma store on its own: collections per embedder, complete-paper state, queries, deletes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import HashEmbedder, make_paper

from rag.index.batch import embed_and_write
from rag.index.chunking import chunk_paper
from rag.index.store import Store, embedder_key, open_chroma
from rag.index.store_records import StoredSentence
from rag.text import split_sentences
from rag.types import Paper, Span


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(open_chroma(tmp_path / "data"), HashEmbedder.name)


def _write(store: Store, papers: list[Paper], embedder: HashEmbedder | None = None) -> None:
    embed_and_write(papers, store, embedder or HashEmbedder())


def test_collections_are_named_after_the_embedder(store: Store, tmp_path: Path) -> None:
    names = {c.name for c in store.client.list_collections()}
    assert names == {"chunks-hash-bow-256", "sentences-hash-bow-256"}
    assert store.chunks.metadata["embedder"] == "hash-bow-256"
    assert (tmp_path / "data" / "chroma" / "chroma.sqlite3").is_file()
    assert embedder_key("openai-text-embedding-3-small") == "openai-text-embedding-3-small"
    assert embedder_key("org/model name:v2") == "org-model-name-v2"
    assert embedder_key("///") == "default"


def test_write_stores_chunks_sentences_and_the_paper(store: Store, small_papers: list[Paper]) -> None:
    _write(store, small_papers)
    n_sentences = sum(len(split_sentences(p.abstract)) for p in small_papers)
    assert store.counts() == {"papers": 4, "chunks": 4, "sentences": n_sentences}
    assert store.state() == {p.id: p.content_hash for p in small_papers}
    assert store.papers() == {p.id: p for p in small_papers}
    assert store.all_paper_ids() == {p.id for p in small_papers}
    ids, texts = store.chunk_texts()
    assert sorted(zip(ids, texts, strict=True)) == sorted((p.id, f"{p.title}\n{p.abstract}") for p in small_papers)
    vector_ids, vectors = store.chunk_vectors()  # same row order as chunk_texts
    assert vector_ids == ids and vectors.shape == (4, HashEmbedder.dim) and vectors.dtype == np.float32
    for text, vec in zip(texts, vectors, strict=True):
        np.testing.assert_allclose(vec, HashEmbedder().embed_query(text), atol=1e-6)

    rows, matrix = store.sentence_matrix()
    assert matrix.shape == (n_sentences, HashEmbedder.dim)
    assert rows == sorted(rows, key=lambda r: (r.paper_id, r.index))
    by_id = {p.id: p for p in small_papers}
    embedder = HashEmbedder()
    for row, vec in zip(rows, matrix, strict=True):
        paper = by_id[row.paper_id]
        assert row.span == split_sentences(paper.abstract)[row.index]
        text = paper.abstract[row.span.start : row.span.end]
        np.testing.assert_allclose(vec, embedder.embed_query(text), atol=1e-6)

    layout = store.layout()
    for p in small_papers:
        assert layout[p.id] == (tuple(c.text for c in chunk_paper(p)), tuple(split_sentences(p.abstract)))


def test_dense_query_ranks_the_matching_paper_first(store: Store, small_papers: list[Paper]) -> None:
    _write(store, small_papers)
    embedder = HashEmbedder()
    hits = store.dense_query(embedder.embed_query("sparse autoencoders interpretable features"), 4)
    assert hits[0][0] == small_papers[0].id
    assert len(hits) == 4 and len({pid for pid, _ in hits}) == 4
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1.0001
    # restricted to some papers
    allowed = [small_papers[2].id, small_papers[3].id]
    hits = store.dense_query(embedder.embed_query("molecule graph neural networks"), 10, allowed)
    assert [pid for pid, _ in hits] == [small_papers[3].id, small_papers[2].id]
    assert store.dense_query(embedder.embed_query("anything"), 5, []) == []


def test_sentence_query_returns_the_sentence_s_paper_and_exact_cosine(store: Store, small_papers: list[Paper]) -> None:
    _write(store, small_papers)
    embedder = HashEmbedder()
    sentence = "It is evaluated on LibriSpeech."  # the second sentence of the speech paper
    hits = store.sentence_query(embedder.embed_query(sentence), 3)
    assert len(hits) == 3 and hits[0] == (small_papers[2].id, pytest.approx(1.0, abs=1e-5))
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    # one row per sentence: the same paper may come back several times, its cosines as the matrix gives them
    rows, matrix = store.sentence_matrix()
    expected = sorted((float(v @ embedder.embed_query(sentence)) for v in matrix), reverse=True)[:3]
    assert [s for _, s in hits] == pytest.approx(expected, abs=1e-5)
    only = store.sentence_query(embedder.embed_query(sentence), 50, [small_papers[0].id])
    assert {pid for pid, _ in only} == {small_papers[0].id}
    assert len(only) == sum(r.paper_id == small_papers[0].id for r in rows)
    assert store.sentence_query(embedder.embed_query(sentence), 5, []) == []


def test_queries_on_an_empty_store(store: Store) -> None:
    assert store.is_empty()
    assert store.dense_query(np.ones(HashEmbedder.dim, dtype=np.float32), 5) == []
    assert store.sentence_query(np.ones(HashEmbedder.dim, dtype=np.float32), 5) == []
    assert store.counts() == {"papers": 0, "chunks": 0, "sentences": 0}
    assert store.sentence_matrix()[0] == []
    ids, vectors = store.chunk_vectors()
    assert ids == [] and vectors.shape == (0, 0)


def test_is_empty_follows_the_chunks(store: Store, small_papers: list[Paper]) -> None:
    _write(store, small_papers[:1])
    assert not store.is_empty()
    store.delete([small_papers[0].id])
    assert store.is_empty()


def test_delete_removes_chunks_and_sentences(store: Store, small_papers: list[Paper]) -> None:
    _write(store, small_papers)
    gone = small_papers[1]
    store.delete([gone.id])
    assert gone.id not in store.state() and gone.id not in store.all_paper_ids()
    assert store.sentences.get(where={"paper_id": gone.id})["ids"] == []
    assert store.chunks.get(where={"paper_id": gone.id})["ids"] == []
    assert store.counts()["papers"] == 3
    store.delete([])  # no-op
    assert store.counts()["papers"] == 3


def test_rewriting_a_paper_replaces_all_its_records(store: Store, small_papers: list[Paper]) -> None:
    _write(store, small_papers)
    old = small_papers[0]
    new = make_paper(old.title, "A single new sentence about autoencoders.", "a.txt:1")
    _write(store, [new])
    assert store.state()[old.id] == new.content_hash
    spans = store.sentences.get(where={"paper_id": old.id}, include=["metadatas"])["metadatas"]
    assert [new.abstract[m["start"] : m["end"]] for m in spans] == ["A single new sentence about autoencoders."]
    assert store.papers()[old.id].abstract == new.abstract


def test_state_ignores_incomplete_papers(store: Store) -> None:
    """A paper counts as stored only when every chunk is present with the same content hash."""
    long_abstract = " ".join(f"Sentence {i} is about topic number {i} in some detail." for i in range(120))
    paper = make_paper("A Long Paper", long_abstract)
    chunks = chunk_paper(paper)
    assert len(chunks) >= 2
    _write(store, [paper])
    assert store.state() == {paper.id: paper.content_hash}
    store.chunks.delete(ids=[chunks[-1].id])  # as if a crash lost the last chunk
    assert store.state() == {}
    assert paper.id in store.all_paper_ids()  # a leftover the next ingest cleans up


def test_state_rejects_mixed_hashes(store: Store, small_papers: list[Paper]) -> None:
    long_abstract = " ".join(f"Sentence {i} is about topic number {i} in some detail." for i in range(120))
    paper = make_paper("A Long Paper", long_abstract)
    _write(store, [paper])
    first = store.chunks.get(ids=[f"{paper.id}:0"], include=["metadatas"])
    store.chunks.update(ids=first["ids"], metadatas=[{**first["metadatas"][0], "content_hash": "different"}])
    assert store.state() == {}


def test_fingerprint_follows_content(store: Store, small_papers: list[Paper]) -> None:
    empty = store.fingerprint()
    _write(store, small_papers)
    full = store.fingerprint()
    assert full != empty and store.fingerprint() == full
    _write(store, [make_paper(small_papers[0].title, "Changed text about something else entirely.")])
    assert store.fingerprint() != full


def test_update_papers_changes_metadata_not_vectors(store: Store, small_papers: list[Paper]) -> None:
    _write(store, small_papers)
    before = store.chunks.get(include=["embeddings"])
    p = small_papers[2]
    moved = Paper(p.id, p.title, p.abstract, (*p.sources, "c.txt:9"), "Mar 1", p.urls)
    store.update_papers([moved])
    assert store.papers()[p.id] == moved
    assert store.state()[p.id] == p.content_hash
    after = store.chunks.get(include=["embeddings"])
    np.testing.assert_array_equal(np.asarray(before["embeddings"]), np.asarray(after["embeddings"]))
    meta = store.chunks.get(where={"paper_id": p.id}, include=["metadatas"])["metadatas"][0]
    assert meta["listing_date"] == "Mar 1"


def test_two_embedders_have_separate_collections(tmp_path: Path, small_papers: list[Paper]) -> None:
    client = open_chroma(tmp_path / "data")
    a = Store(client, "model-a")
    b = Store(client, "model-b")
    _write(a, small_papers)
    assert b.counts() == {"papers": 0, "chunks": 0, "sentences": 0}
    _write(b, small_papers[:1])
    assert a.counts()["papers"] == 4 and b.counts()["papers"] == 1
    b.delete([small_papers[0].id])
    assert a.state() == {p.id: p.content_hash for p in small_papers}


def test_store_persists_across_clients(tmp_path: Path, small_papers: list[Paper]) -> None:
    _write(Store(open_chroma(tmp_path / "data"), "hash"), small_papers)
    again = Store(open_chroma(tmp_path / "data"), "hash")
    assert again.state() == {p.id: p.content_hash for p in small_papers}


def test_stored_sentence_is_a_value() -> None:
    assert StoredSentence("p", 1, Span(0, 3)) == StoredSentence("p", 1, Span(0, 3))


def test_stamp_changes_with_every_write_and_only_then(store: Store, small_papers: list[Paper]) -> None:
    stamps = [store.stamp()]
    _write(store, small_papers)
    stamps.append(store.stamp())
    store.state(), store.papers(), store.sentence_matrix(), store.counts()  # reads leave it alone
    assert store.stamp() == stamps[-1]
    p = small_papers[2]
    store.update_papers([Paper(p.id, p.title, p.abstract, (*p.sources, "c.txt:9"), "Mar 1", p.urls)])
    stamps.append(store.stamp())
    store.delete([small_papers[0].id])
    stamps.append(store.stamp())
    assert len(set(stamps)) == 4
    # another client (as another process would) sees the same stamp
    assert Store(open_chroma(Path(store.location.data_dir or "")), store.embedder_name).stamp() == stamps[-1]


def test_reset_collections_change_the_stamp(tmp_path: Path, small_papers: list[Paper]) -> None:
    """A reset (heal, or `rag ingest --rebuild` dropping the collections) gives a new collection id."""
    store = Store(open_chroma(tmp_path / "data"), HashEmbedder.name)
    _write(store, small_papers)
    before = store.stamp()
    healed = Store(store.client, HashEmbedder.name, dim=HashEmbedder.dim + 1)
    assert healed.healed and "257" in healed.healed[0] and healed.is_empty()
    assert healed.stamp() != before and healed.stamp().split(":")[0] != before.split(":")[0]


_WRITE_ELSEWHERE = """
import sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from conftest import HashEmbedder, make_paper
from rag.index.batch import embed_and_write
from rag.index.store import Store, open_chroma
store = Store(open_chroma(Path({data_dir!r})), HashEmbedder.name)
papers = sorted(store.papers().values(), key=lambda p: p.id)[:300]
new = [make_paper(p.title, f"Zebra okapi number {{i}} replaced this abstract.") for i, p in enumerate(papers)]
embed_and_write(new, store, HashEmbedder())
"""


def test_a_fresh_client_reads_what_another_process_wrote_a_cached_one_does_not(tmp_path: Path) -> None:
    """Chroma caches a persisted HNSW segment per process: after another process rewrote papers, a client
    from the cache returns old vectors; ``open_chroma(fresh=True)`` (the app's reload) returns the new ones."""
    import subprocess
    import sys

    data_dir = tmp_path / "data"
    papers = [make_paper(f"Paper {i} on topic{i}", f"We study topic{i}. It has {i} parts. Fine.") for i in range(400)]
    store = Store(open_chroma(data_dir), HashEmbedder.name)
    for i in range(0, 400, 100):
        _write(store, papers[i : i + 100])
    _, before = store.sentence_matrix()
    assert before.shape == (1200, HashEmbedder.dim)
    script = _WRITE_ELSEWHERE.format(tests=str(Path(__file__).parent), data_dir=str(data_dir))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    fresh = Store(open_chroma(data_dir, fresh=True), HashEmbedder.name)
    rows, matrix = fresh.sentence_matrix()
    assert matrix.shape == (1200 - 300 * 2, HashEmbedder.dim)
    embedder = HashEmbedder()
    by_text = {s.paper_id: v for s, v in zip(rows, matrix, strict=True) if s.index == 0}
    replaced = sorted(fresh.papers().values(), key=lambda p: p.id)
    for paper in replaced:
        if paper.abstract.startswith("Zebra"):
            np.testing.assert_allclose(by_text[paper.id], embedder.embed_query(paper.abstract), atol=1e-6)
    cached_rows, cached = store.sentence_matrix()
    assert len(cached_rows) == len(rows)  # the record list is read from sqlite, fresh either way...
    assert not np.array_equal(cached, matrix), "...but the cached client's vectors are the old ones"
