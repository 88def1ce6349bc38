"""Incremental ingest with the fake embedder: only changes are embedded, removals are deleted, each model
has its own index, the BM25 index follows the content, and an interrupted ingest resumes cleanly."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import HashEmbedder, make_paper

from rag.errors import ConfigError, RagError
from rag.index import ingest as ingest_module
from rag.index.batch import embed_and_write
from rag.index.chunking import chunk_paper
from rag.index.ingest import IngestReport, ingest, keyword_dir, refresh_keyword_index
from rag.index.keyword import KeywordIndex
from rag.index.store import Store, open_chroma
from rag.settings import BUNDLED_CORPUS
from rag.text import split_sentences
from rag.types import Paper


def n_texts(papers: Sequence[Paper]) -> int:
    """How many texts ingest embeds for these papers: every chunk and every abstract sentence."""
    return sum(len(chunk_paper(p)) + len(split_sentences(p.abstract)) for p in papers)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def _store(data_dir: Path, name: str = HashEmbedder.name) -> Store:
    return Store(open_chroma(data_dir), name)


def _docs(store: Store, collection: str, paper_id: str) -> list[str]:
    got = getattr(store, collection).get(where={"paper_id": paper_id}, include=["documents", "metadatas"])
    if collection == "sentences":  # stored as spans of the paper's abstract, without a document
        assert got["documents"] == [None] * len(got["ids"])
        if not got["ids"]:
            return []
        abstract = store.papers()[paper_id].abstract
        return [abstract[m["start"] : m["end"]] for m in sorted(got["metadatas"], key=lambda m: m["index"])]
    return list(got["documents"])


def test_first_ingest_adds_everything(data_dir: Path, small_papers: list[Paper], hash_embedder: HashEmbedder) -> None:
    store = _store(data_dir)
    report = ingest(small_papers, store, hash_embedder, data_dir, progress=False)
    n_sentences = sum(len(split_sentences(p.abstract)) for p in small_papers)
    assert report == IngestReport(
        added=4, updated=0, unchanged=0, removed=0, seconds=report.seconds, papers=4, chunks=4, sentences=n_sentences
    )
    assert sum(hash_embedder.calls) == n_texts(small_papers)
    assert store.state() == {p.id: p.content_hash for p in small_papers}
    assert report.summary().startswith("added 4, updated 0, unchanged 0, removed 0 in ")
    assert report.summary().endswith(f"index holds 4 papers, 4 chunks, {n_sentences} sentences")
    one = dataclasses.replace(report, papers=1, chunks=1, sentences=1)
    assert one.summary().endswith("index holds 1 paper, 1 chunk, 1 sentence")  # not "1 papers"
    for p in small_papers:
        assert _docs(store, "sentences", p.id) == [p.abstract[s.start : s.end] for s in split_sentences(p.abstract)]


def test_second_ingest_embeds_nothing(data_dir: Path, small_papers: list[Paper], hash_embedder: HashEmbedder) -> None:
    ingest(small_papers, _store(data_dir), hash_embedder, data_dir, progress=False)
    calls = list(hash_embedder.calls)
    before = _store(data_dir).chunks.get(include=["embeddings", "documents", "metadatas"])
    report = ingest(small_papers, _store(data_dir), hash_embedder, data_dir, progress=False)
    assert hash_embedder.calls == calls  # not called at all
    assert (report.added, report.updated, report.unchanged, report.removed, report.relabeled) == (0, 0, 4, 0, 0)
    after = _store(data_dir).chunks.get(include=["embeddings", "documents", "metadatas"])
    assert after["ids"] == before["ids"] and after["documents"] == before["documents"]
    assert after["metadatas"] == before["metadatas"]
    np.testing.assert_array_equal(np.asarray(after["embeddings"]), np.asarray(before["embeddings"]))


def test_changed_abstract_is_re_embedded(
    data_dir: Path, small_papers: list[Paper], hash_embedder: HashEmbedder
) -> None:
    store = _store(data_dir)
    ingest(small_papers, store, hash_embedder, data_dir, progress=False)
    old = small_papers[3]
    new = make_paper(old.title, "Quantum annealing schedules for zebrafish embryo imaging. A second sentence here.")
    assert new.id == old.id
    papers = [*small_papers[:3], new]
    hash_embedder.calls.clear()
    report = ingest(papers, store, hash_embedder, data_dir, progress=False)
    assert (report.added, report.updated, report.unchanged, report.removed) == (0, 1, 3, 0)
    assert hash_embedder.calls == [n_texts([new])]  # only the changed paper, in one call
    assert store.state()[new.id] == new.content_hash
    hits = store.dense_query(hash_embedder.embed_query("zebrafish embryo imaging quantum annealing"), 4)
    assert hits[0][0] == new.id
    assert _docs(store, "chunks", new.id) == [f"{new.title}\n{new.abstract}"]
    assert _docs(store, "sentences", new.id) == [
        "Quantum annealing schedules for zebrafish embryo imaging.",
        "A second sentence here.",
    ]
    assert store.papers()[new.id].abstract == new.abstract
    assert store.counts()["sentences"] == sum(len(split_sentences(p.abstract)) for p in papers)


def test_removed_paper_is_deleted(data_dir: Path, small_papers: list[Paper], hash_embedder: HashEmbedder) -> None:
    store = _store(data_dir)
    ingest(small_papers, store, hash_embedder, data_dir, progress=False)
    gone = small_papers[1]
    hash_embedder.calls.clear()
    report = ingest([p for p in small_papers if p is not gone], store, hash_embedder, data_dir, progress=False)
    assert (report.added, report.updated, report.unchanged, report.removed) == (0, 0, 3, 1)
    assert hash_embedder.calls == []
    assert gone.id not in store.state()
    assert _docs(store, "chunks", gone.id) == [] and _docs(store, "sentences", gone.id) == []
    assert report.sentences == sum(len(split_sentences(p.abstract)) for p in small_papers if p is not gone)
    hits = store.dense_query(hash_embedder.embed_query(gone.abstract), 10)
    assert gone.id not in {pid for pid, _ in hits}
    # the keyword index no longer knows it either
    assert gone.id not in refresh_keyword_index(store, data_dir).paper_ids


def test_another_embedder_builds_its_own_collections(
    data_dir: Path, small_papers: list[Paper], hash_embedder: HashEmbedder
) -> None:
    class OtherEmbedder(HashEmbedder):
        name = "other-model"

    first = _store(data_dir)
    ingest(small_papers, first, hash_embedder, data_dir, progress=False)
    before = first.chunks.get(include=["embeddings", "metadatas"])
    other = OtherEmbedder()
    second = _store(data_dir, other.name)
    report = ingest(small_papers[:2], second, other, data_dir, progress=False)
    assert (report.added, report.papers) == (2, 2)
    assert sum(other.calls) == n_texts(small_papers[:2])
    names = {c.name for c in first.client.list_collections()}
    assert names == {"chunks-hash-bow-256", "sentences-hash-bow-256", "chunks-other-model", "sentences-other-model"}
    # the first model's index is untouched, including papers the second ingest did not ask for
    assert _store(data_dir).state() == {p.id: p.content_hash for p in small_papers}
    after = _store(data_dir).chunks.get(include=["embeddings", "metadatas"])
    assert after["ids"] == before["ids"] and after["metadatas"] == before["metadatas"]
    np.testing.assert_array_equal(np.asarray(after["embeddings"]), np.asarray(before["embeddings"]))
    assert keyword_dir(data_dir, other.name) != keyword_dir(data_dir, hash_embedder.name)
    assert (keyword_dir(data_dir, other.name) / "meta.json").is_file()
    assert len(json.loads((keyword_dir(data_dir, hash_embedder.name) / "meta.json").read_text())["paper_ids"]) == 4


def test_keyword_index_rebuilt_only_when_content_changes(
    data_dir: Path, small_papers: list[Paper], hash_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds: list[int] = []
    real_build = KeywordIndex.build.__func__

    def counting_build(
        cls: type[KeywordIndex], paper_ids: Sequence[str], texts: Sequence[str], *rest: Any
    ) -> KeywordIndex:
        builds.append(len(texts))
        return real_build(cls, paper_ids, texts, *rest)

    monkeypatch.setattr(KeywordIndex, "build", classmethod(counting_build))
    store = _store(data_dir)
    meta_file = keyword_dir(data_dir, hash_embedder.name) / "meta.json"

    ingest(small_papers, store, hash_embedder, data_dir, progress=False)
    assert builds == [4]
    first = json.loads(meta_file.read_text())
    assert first["fingerprint"] == store.fingerprint()
    assert sorted(first["paper_ids"]) == sorted(p.id for p in small_papers)

    ingest(small_papers, store, hash_embedder, data_dir, progress=False)
    assert builds == [4]  # unchanged content: the saved index is reused
    assert json.loads(meta_file.read_text()) == first

    changed = make_paper(small_papers[0].title, "Xylophone orchestras tune transformers. Nothing else matters here.")
    ingest([changed, *small_papers[1:]], store, hash_embedder, data_dir, progress=False)
    assert builds == [4, 4]
    second = json.loads(meta_file.read_text())
    assert second["fingerprint"] != first["fingerprint"] and second["fingerprint"] == store.fingerprint()
    index = KeywordIndex.load(meta_file.parent, store.fingerprint())
    assert index is not None
    scores = index.scores("xylophone orchestras")
    assert index.paper_ids[int(np.argmax(scores))] == changed.id and scores.max() > 0
    assert KeywordIndex.load(meta_file.parent, first["fingerprint"]) is None  # the stale one is gone

    # a deleted (or corrupted) saved index is rebuilt on the next ingest even with no change
    meta_file.unlink()
    ingest([changed, *small_papers[1:]], store, hash_embedder, data_dir, progress=False)
    assert builds == [4, 4, 4]


def test_new_source_of_an_unchanged_paper_updates_the_record_without_embedding(
    data_dir: Path, small_papers: list[Paper], hash_embedder: HashEmbedder
) -> None:
    store = _store(data_dir)
    ingest(small_papers, store, hash_embedder, data_dir, progress=False)
    p = small_papers[3]
    seen_twice = Paper(p.id, p.title, p.abstract, (*p.sources, "new.txt:7"), "Mar 17", p.urls)
    hash_embedder.calls.clear()
    report = ingest([*small_papers[:3], seen_twice], store, hash_embedder, data_dir, progress=False)
    assert hash_embedder.calls == []
    assert (report.unchanged, report.updated, report.relabeled) == (4, 0, 1)
    assert "1 with new sources or dates" in report.summary()
    stored = _store(data_dir).papers()[p.id]
    assert stored.sources == ("b.txt:3", "new.txt:7") and stored.listing_date == "Mar 17"


def test_chunker_change_re_embeds_only_the_papers_it_affects(
    data_dir: Path, small_papers: list[Paper], hash_embedder: HashEmbedder
) -> None:
    """An index written by an older sentence splitter (here: one sentence per abstract) is healed by the
    next ingest, re-embedding only the papers whose chunks or sentences would now differ."""
    store = _store(data_dir)
    ingest(small_papers, store, hash_embedder, data_dir, progress=False)
    stale = small_papers[0]
    # what an older splitter would have stored: the whole abstract as one sentence
    from rag.index.store_records import StoredSentence
    from rag.types import Span

    chunks = chunk_paper(stale)
    vectors = hash_embedder.embed([c.text for c in chunks] + [stale.abstract])
    store.write([stale], chunks, vectors[:1], [StoredSentence(stale.id, 0, Span(0, len(stale.abstract)))], vectors[1:])
    assert store.state()[stale.id] == stale.content_hash  # same text: only the layout differs
    hash_embedder.calls.clear()
    report = ingest(small_papers, store, hash_embedder, data_dir, progress=False)
    assert (report.updated, report.unchanged) == (1, 3)
    assert hash_embedder.calls == [n_texts([stale])]
    assert len(_docs(store, "sentences", stale.id)) == len(split_sentences(stale.abstract)) == 3


def test_long_paper_gets_several_chunks_and_is_found(data_dir: Path, hash_embedder: HashEmbedder) -> None:
    abstract = " ".join(f"Paragraph {i} studies topic {i} with careful ablations on benchmark B{i}." for i in range(80))
    long_paper = make_paper("A Very Long Abstract", abstract + " Finally we discuss octopus camouflage.")
    store = _store(data_dir)
    report = ingest([long_paper], store, hash_embedder, data_dir, progress=False)
    n_chunks = len(chunk_paper(long_paper))
    assert n_chunks >= 2 and report.chunks == n_chunks and report.papers == 1
    assert store.dense_query(hash_embedder.embed_query("octopus camouflage"), 1)[0][0] == long_paper.id
    assert ingest([long_paper], store, hash_embedder, data_dir, progress=False).unchanged == 1


class FailingEmbedder(HashEmbedder):
    """Raises on the call number ``fail_on`` (1-based), as if the process died mid-ingest."""

    def __init__(self, fail_on: int) -> None:
        super().__init__()
        self.fail_on = fail_on

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if len(self.calls) + 1 == self.fail_on:
            self.calls.append(-1)
            raise RuntimeError("killed")
        return super().embed(texts)


def _many_papers(n: int) -> list[Paper]:
    return [
        make_paper(
            f"Paper Number {i}: A Study", f"We study problem {i} carefully. Results on task {i} improve. The end."
        )
        for i in range(n)
    ]


def test_interrupted_ingest_resumes_without_duplicates(data_dir: Path) -> None:
    papers = _many_papers(10)
    failing = FailingEmbedder(fail_on=3)
    with pytest.raises(RuntimeError, match="killed"):
        ingest(papers, _store(data_dir), failing, data_dir, batch_size=3, progress=False)
    store = _store(data_dir)
    assert set(store.state()) == {p.id for p in papers[:6]}  # two complete batches
    resumed = HashEmbedder()
    report = ingest(papers, store, resumed, data_dir, batch_size=3, progress=False)
    assert (report.added, report.unchanged) == (4, 6)
    assert sum(resumed.calls) == n_texts(papers[6:])
    clean_dir = data_dir.parent / "clean"
    clean = ingest(papers, _store(clean_dir), HashEmbedder(), clean_dir, progress=False)
    assert (
        (report.papers, report.chunks, report.sentences)
        == (clean.papers, clean.chunks, clean.sentences)
        == (10, 10, 30)
    )


def test_paper_half_written_when_interrupted_is_redone(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, hash_embedder: HashEmbedder
) -> None:
    """A crash between writing a batch's sentences and its chunks leaves sentences without a paper: the next
    ingest redoes those papers with no duplicate sentence records."""
    papers = _many_papers(6)
    store = _store(data_dir)
    real_write = Store.write
    writes: list[int] = []

    def write_then_die(self: Store, batch: Sequence[Paper], *args: object) -> None:
        writes.append(len(batch))
        if len(writes) == 2:
            self.chunks.upsert = _boom
        real_write(self, batch, *args)

    monkeypatch.setattr(Store, "write", write_then_die)
    with pytest.raises((RuntimeError, RagError), match="died"):  # the store may translate Chroma's failure
        ingest(papers, store, hash_embedder, data_dir, batch_size=3, progress=False)
    monkeypatch.setattr(Store, "write", real_write)
    store = _store(data_dir)
    assert set(store.state()) == {p.id for p in papers[:3]}
    assert store.all_paper_ids() == {p.id for p in papers}  # the second batch's sentences were written
    hash_embedder.calls.clear()
    report = ingest(papers, store, hash_embedder, data_dir, batch_size=3, progress=False)
    assert (report.added, report.unchanged, report.removed) == (3, 3, 0)
    assert sum(hash_embedder.calls) == n_texts(papers[3:])
    assert store.counts() == {"papers": 6, "chunks": 6, "sentences": 18}
    ids = store.sentences.get()["ids"]
    assert len(ids) == len(set(ids)) == 18


def _boom(**kwargs: object) -> None:
    raise RuntimeError("died")


def test_leftovers_of_papers_no_longer_wanted_are_removed(data_dir: Path, hash_embedder: HashEmbedder) -> None:
    papers = _many_papers(4)
    store = _store(data_dir)
    embed_and_write(papers[:2], store, hash_embedder)
    store.chunks.delete(where={"paper_id": papers[1].id})  # an incomplete paper
    with pytest.raises(ConfigError, match=r"would remove 1 of the 1 indexed papers"):
        ingest(papers[2:], store, hash_embedder, data_dir, progress=False)  # all the complete ones: needs prune
    report = ingest(papers[2:], store, hash_embedder, data_dir, progress=False, prune=True)
    assert report.removed == 1  # the complete one; the incomplete one is cleaned silently
    assert store.all_paper_ids() == {p.id for p in papers[2:]}


def test_ingest_of_nothing_empties_the_index_only_with_prune(
    data_dir: Path, small_papers: list[Paper], hash_embedder: HashEmbedder
) -> None:
    store = _store(data_dir)
    ingest(small_papers, store, hash_embedder, data_dir, progress=False)
    before = store.chunks.get(include=["documents", "metadatas"])
    with pytest.raises(ConfigError) as info:
        ingest([], store, hash_embedder, data_dir, progress=False)
    assert "would remove 4 of the 4 indexed papers" in str(info.value) and "rag ingest --prune" in str(info.value)
    added = f"To add papers, name the indexed ones' files too (the bundled corpus is {BUNDLED_CORPUS})"
    assert added in str(info.value)
    assert store.chunks.get(include=["documents", "metadatas"]) == before  # nothing was changed
    report = ingest([], store, hash_embedder, data_dir, progress=False, prune=True)
    assert (report.removed, report.papers, report.chunks, report.sentences) == (4, 0, 0, 0)
    assert refresh_keyword_index(store, data_dir).paper_ids == []


def test_progress_bar_goes_to_stderr(
    data_dir: Path, small_papers: list[Paper], hash_embedder: HashEmbedder, capsys: pytest.CaptureFixture[str]
) -> None:
    ingest(small_papers, _store(data_dir), hash_embedder, data_dir, progress=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "Embedding papers" in err and "4/4" in err
    assert ingest_module.keyword_dir(data_dir, "x/y") == data_dir / "bm25-x-y"
