"""The index snapshot: what an ingest leaves in the data dir is exactly what reading the store gives; a cold
start loads it without reading a vector back from Chroma; a stale or damaged snapshot is rebuilt from the
store. Real Chroma on disk, the hash embedder."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from conftest import HashEmbedder, make_paper

from rag.index import snapshot as snapshot_module
from rag.index.batch import embed_and_write
from rag.index.ingest import ingest, refresh_keyword_index
from rag.index.snapshot import Snapshot, current, snapshot_dir
from rag.index.spool import Spool
from rag.index.store import Store, open_chroma
from rag.retrieve.base import PreparedQuery
from rag.retrieve.hybrid import HybridRetriever
from rag.types import Paper


def _papers(n: int, tag: str = "") -> list[Paper]:
    return [
        make_paper(
            f"Paper {tag}{i}: On Topic {i % 7}",
            f"We study topic {i % 7} and method {i}{tag}. Results on benchmark {i % 5} improve. Code is public.",
        )
        for i in range(n)
    ]


def _store(data_dir: Path) -> Store:
    return Store(open_chroma(data_dir, fresh=True), HashEmbedder.name)


def _ingest(papers: list[Paper], data_dir: Path, **kw: object) -> None:
    ingest(papers, _store(data_dir), HashEmbedder(), data_dir, progress=False, **kw)  # type: ignore[arg-type]


def _saved(data_dir: Path) -> Snapshot | None:
    return Snapshot.load(snapshot_dir(data_dir, HashEmbedder.name), _store(data_dir).stamp())


def assert_same(a: Snapshot, b: Snapshot) -> None:
    assert a.papers == b.papers
    assert (a.chunk_ids, a.chunk_paper_ids, a.chunk_texts) == (b.chunk_ids, b.chunk_paper_ids, b.chunk_texts)
    np.testing.assert_array_equal(a.sentence_rows, b.sentence_rows)
    np.testing.assert_allclose(a.chunk_vectors, b.chunk_vectors, atol=1e-7)
    np.testing.assert_allclose(a.sentence_vectors, b.sentence_vectors, atol=1e-7)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_the_snapshot_an_ingest_leaves_is_what_the_store_holds(data_dir: Path) -> None:
    papers = _papers(40)
    _ingest(papers, data_dir, batch_size=7)
    saved = _saved(data_dir)
    assert saved is not None and len(saved.papers) == 40
    assert_same(saved, Snapshot.read(_store(data_dir)))
    long = make_paper("A Long One", " ".join(f"Sentence {i} is about part {i} of the work." for i in range(90)))
    changed = make_paper(papers[3].title, papers[3].abstract + " One more finding.")
    relabeled = dataclasses.replace(papers[4], listing_date="Feb 02")
    final = [*papers[:3], changed, relabeled, *papers[5:30], long, *_papers(5, "new")]
    _ingest(final, data_dir, batch_size=7)
    saved = _saved(data_dir)
    assert saved is not None and len(saved.chunk_ids) > len(saved.papers)  # the long paper has several chunks
    assert_same(saved, Snapshot.read(_store(data_dir)))
    assert saved.papers[relabeled.id].listing_date == "Feb 02"


def test_a_cold_start_reads_no_vector_from_the_store(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    papers = _papers(30)
    _ingest(papers, data_dir)
    store = _store(data_dir)
    expected = HybridRetriever(Store(open_chroma(data_dir, fresh=True), HashEmbedder.name), _keyword(data_dir))
    snapshot_module._memo.clear()
    for name in ("papers", "chunk_records", "chunk_texts", "chunk_vectors", "sentence_matrix", "state"):
        monkeypatch.setattr(Store, name, _refuse(name))
    retriever = HybridRetriever(store, refresh_keyword_index(store, data_dir))
    assert isinstance(retriever.vectors.sentence_matrix, np.memmap)
    query = HashEmbedder().embed_query("method 12 benchmark")
    text = "method 12 benchmark"
    got = retriever.candidates(PreparedQuery(text, retriever.parse(text), query), 10)
    want = expected.candidates(PreparedQuery(text, expected.parse(text), query), 10)
    assert [c.paper_id for c in got] == [c.paper_id for c in want] and got[0].paper_id == papers[12].id
    assert [c.scores for c in got] == [c.scores for c in want]


def _refuse(name: str):  # type: ignore[no-untyped-def]
    def refuse(self: Store, *args: object) -> object:
        raise AssertionError(f"Store.{name} read the index")

    return refuse


def _keyword(data_dir: Path):  # type: ignore[no-untyped-def]
    return refresh_keyword_index(_store(data_dir), data_dir)


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete", "meta"])
def test_a_damaged_snapshot_is_rebuilt_from_the_store(data_dir: Path, damage: str) -> None:
    _ingest(_papers(12), data_dir)
    folder = snapshot_dir(data_dir, HashEmbedder.name)
    target = folder / "sentence_vectors.npy"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:-100])
    elif damage == "flip":
        raw = bytearray(target.read_bytes())
        raw[-5] ^= 0xFF
        target.write_bytes(bytes(raw))
    elif damage == "delete":
        (folder / "papers.json").unlink()
    else:
        (folder / "meta.json").write_text("{not json")
    snapshot_module._memo.clear()
    store = _store(data_dir)
    assert _saved(data_dir) is None
    rebuilt = current(store, data_dir)
    assert_same(rebuilt, Snapshot.read(store))
    saved = _saved(data_dir)  # and saved again for the next start
    assert saved is not None
    assert_same(saved, rebuilt)


def test_another_writer_makes_the_snapshot_stale(data_dir: Path) -> None:
    papers = _papers(10)
    _ingest(papers, data_dir)
    other = _store(data_dir)
    embed_and_write(_papers(2, "other"), other, HashEmbedder())
    assert _saved(data_dir) is None
    store = _store(data_dir)
    fresh = current(store, data_dir)
    assert len(fresh.papers) == 12
    assert_same(fresh, Snapshot.read(store))


def test_a_killed_ingest_leaves_a_stale_snapshot_and_its_spool_is_cleared(data_dir: Path) -> None:
    papers = _papers(12)
    _ingest(papers[:4], data_dir)

    class Killed(HashEmbedder):
        def embed(self, texts: Sequence[str]) -> np.ndarray:
            if len(self.calls) == 2:
                raise RuntimeError("killed")
            return super().embed(texts)

    (data_dir / ".spool-left-by-a-dead-ingest").mkdir()
    with pytest.raises(RuntimeError, match="killed"):
        ingest(papers, _store(data_dir), Killed(), data_dir, batch_size=3, progress=False)
    assert _saved(data_dir) is None  # two batches were written: the old snapshot no longer matches
    assert not list(data_dir.glob(".spool-*"))
    store = _store(data_dir)
    assert len(current(store, data_dir).papers) == 10 == len(store.state())
    _ingest(papers, data_dir, batch_size=3)
    saved = _saved(data_dir)
    assert saved is not None and len(saved.papers) == 12
    assert_same(saved, Snapshot.read(_store(data_dir)))


def test_after_another_writer_only_the_first_cold_start_reads_the_store(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The manifest is stale until the next ingest; the snapshot a reader saves serves every later start."""
    _ingest(_papers(10), data_dir)
    embed_and_write(_papers(2, "other"), _store(data_dir), HashEmbedder())
    snapshot_module._memo.clear()
    first = _store(data_dir)
    before = HybridRetriever(first, refresh_keyword_index(first, data_dir))
    assert len(before.papers) == 12
    snapshot_module._memo.clear()
    for name in ("papers", "chunk_records", "chunk_texts", "chunk_vectors", "sentence_matrix", "state", "layout"):
        monkeypatch.setattr(Store, name, _refuse(name))
    store = _store(data_dir)
    again = HybridRetriever(store, refresh_keyword_index(store, data_dir))
    assert again.papers == before.papers and again.keyword.paper_ids == before.keyword.paper_ids


def test_a_spool_that_cannot_be_written_costs_only_a_read_of_the_store(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ingest(_papers(6), data_dir)
    real_init = Spool.__init__

    def unwritable(self: Spool, parent: Path) -> None:  # its folder becomes a path under a plain file
        real_init(self, parent)
        blocker = parent / "not-a-folder"
        blocker.write_text("")
        self.folder = blocker / "spool"

    monkeypatch.setattr(Spool, "__init__", unwritable)
    _ingest(_papers(9), data_dir)  # no error: the ingest itself is complete
    saved = _saved(data_dir)
    assert saved is not None and len(saved.papers) == 9
    assert_same(saved, Snapshot.read(_store(data_dir)))


def test_gather_reads_whole_memory_maps_by_offset_and_anything_else_by_index(tmp_path: Path) -> None:
    from rag.index.spool import _gather

    np.save(tmp_path / "old.npy", np.arange(40, dtype=np.float32).reshape(10, 4))
    mapped = np.load(tmp_path / "old.npy", mmap_mode="r")
    new = np.arange(100, 112, dtype=np.float32).reshape(3, 4)
    sources = np.array([(0, 1), (1, 0), (0, 3), (0, 7), (1, 2)])
    # a slice of a memory map keeps its parent's offset, so it must be indexed, never read by offset
    for old in (mapped, np.asarray(mapped).copy(), mapped[2:]):
        _gather(tmp_path / "out.npy", sources, old, new)
        expected = np.stack([old[1], new[0], old[3], old[7], new[2]])
        np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)
