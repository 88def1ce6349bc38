"""The ingest manifest: a re-ingest reads it instead of every stored record while it matches the store, and
falls back to reading the index, losing nothing, when it does not (another writer, a killed ingest, a damaged
or edited file). Real Chroma on disk, the hash embedder."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from conftest import HashEmbedder, make_paper

from rag.errors import RagError
from rag.index import plan as plan_module
from rag.index.batch import embed_and_write
from rag.index.ingest import ingest, refresh_keyword_index, stored_state
from rag.index.manifest import Manifest, manifest_path
from rag.index.store import Store, open_chroma
from rag.index.store_records import paper_record
from rag.types import Paper

READS = ("state", "layout", "papers", "all_paper_ids")


def _papers(n: int, tag: str = "") -> list[Paper]:
    return [
        make_paper(f"Paper {tag}{i}: On Topic {i}", f"We study topic {i}{tag} at length. It works well. Done {i}.")
        for i in range(n)
    ]


def _store(data_dir: Path) -> Store:
    return Store(open_chroma(data_dir, fresh=True), HashEmbedder.name)


def _truth(store: Store) -> tuple[dict[str, str], dict[str, Paper], set[str], dict[str, int]]:
    return store.state(), store.papers(), store.all_paper_ids(), store.counts()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def forbid_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Makes every full read of the index fail loudly; returns the names of those attempted."""
    attempted: list[str] = []
    for name in READS:

        def refuse(self: Store, *args: object, _name: str = name) -> object:
            attempted.append(_name)
            raise AssertionError(f"Store.{_name} read the whole index")

        monkeypatch.setattr(Store, name, refuse)
    return attempted


def _ingest(papers: Sequence[Paper], data_dir: Path, embedder: HashEmbedder | None = None, **kw: object):  # type: ignore[no-untyped-def]
    return ingest(papers, _store(data_dir), embedder or HashEmbedder(), data_dir, progress=False, **kw)  # type: ignore[arg-type]


def test_ingest_writes_a_manifest_matching_the_store(data_dir: Path) -> None:
    papers = _papers(5)
    _ingest(papers, data_dir)
    store = _store(data_dir)
    manifest = Manifest.load(manifest_path(data_dir, HashEmbedder.name), store.stamp())
    assert manifest is not None
    assert manifest.state() == store.state() == {p.id: p.content_hash for p in papers}
    assert stored_state(store, data_dir) == store.state()


def test_noop_and_small_changes_read_no_stored_record(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    papers = _papers(8)
    _ingest(papers, data_dir)
    no_reads = forbid_reads(monkeypatch)
    embedder = HashEmbedder()
    report = _ingest(papers, data_dir, embedder)
    assert (report.unchanged, report.added, embedder.calls, report.papers) == (8, 0, [], 8)
    changed = make_paper(papers[1].title, papers[1].abstract + " A new sentence.")
    relabeled = dataclasses.replace(papers[2], listing_date="Jan 01", sources=("moved.txt:9",))
    new = _papers(2, "new")
    report = _ingest([papers[0], changed, relabeled, *papers[3:7], *new], data_dir)
    assert (report.added, report.updated, report.relabeled, report.removed, report.papers) == (2, 1, 1, 1, 9)
    assert no_reads == []
    monkeypatch.undo()
    clean_dir = data_dir.parent / "clean"
    final = [papers[0], changed, relabeled, *papers[3:7], *new]
    _ingest(final, clean_dir)
    assert _truth(_store(data_dir)) == _truth(_store(clean_dir))
    keyword = refresh_keyword_index(_store(data_dir), data_dir)
    assert keyword.paper_ids == refresh_keyword_index(_store(clean_dir), clean_dir).paper_ids


def test_another_writer_makes_the_manifest_stale(data_dir: Path) -> None:
    papers = _papers(6)
    _ingest(papers, data_dir)
    other = _store(data_dir)  # another process: deletes one paper and writes one the inputs do not have
    other.delete([papers[0].id])
    stray = _papers(1, "stray")
    embed_and_write(stray, other, HashEmbedder())
    assert Manifest.load(manifest_path(data_dir, HashEmbedder.name), _store(data_dir).stamp()) is None
    report = _ingest(papers, data_dir)
    assert (report.added, report.removed, report.papers) == (1, 1, 6)
    assert _store(data_dir).state() == {p.id: p.content_hash for p in papers}


def test_a_write_killed_midway_has_already_changed_the_stamp(data_dir: Path) -> None:
    papers = _papers(4)
    _ingest(papers, data_dir)
    store = _store(data_dir)
    before = store.stamp()

    def die(*args: object, **kwargs: object) -> None:
        raise RuntimeError("died")

    store.chunks.upsert = die  # sentences written, chunks never
    with pytest.raises((RuntimeError, RagError), match="died"):
        embed_and_write([make_paper(papers[0].title, "A different abstract. Two sentences.")], store, HashEmbedder())
    assert _store(data_dir).stamp() != before
    report = _ingest(papers, data_dir)  # the stale manifest is ignored: the half-written paper is redone
    assert (report.added, report.unchanged, report.papers) == (1, 3, 4)  # its old records were deleted first
    assert _store(data_dir).state() == {p.id: p.content_hash for p in papers}


class KilledAt(HashEmbedder):
    def __init__(self, call: int) -> None:
        super().__init__()
        self.call = call

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if len(self.calls) + 1 == self.call:
            raise RuntimeError("killed")
        return super().embed(texts)


def test_a_killed_ingest_leaves_no_trusted_manifest_and_resumes(data_dir: Path) -> None:
    papers = _papers(9)
    _ingest(papers[:3], data_dir)
    with pytest.raises(RuntimeError, match="killed"):
        _ingest(papers, data_dir, KilledAt(2), batch_size=2)
    store = _store(data_dir)
    assert Manifest.load(manifest_path(data_dir, HashEmbedder.name), store.stamp()) is None
    assert len(store.state()) == 5  # the first three and one batch of two
    report = _ingest(papers, data_dir, batch_size=2)
    assert (report.added, report.unchanged, report.papers) == (4, 5, 9)


def test_a_writer_during_the_ingest_means_no_manifest(data_dir: Path) -> None:
    papers = _papers(6)
    stray = _papers(1, "stray")[0]

    class Meddler(HashEmbedder):
        def embed(self, texts: Sequence[str]) -> np.ndarray:
            if len(self.calls) == 1:  # between two batches, another client writes a paper
                embed_and_write([stray], _store(data_dir), HashEmbedder())
            return super().embed(texts)

    _ingest(papers, data_dir, Meddler(), batch_size=2)
    assert not manifest_path(data_dir, HashEmbedder.name).exists()
    report = _ingest(papers, data_dir)  # reads the index: the stray paper is found and removed
    assert (report.removed, report.papers) == (1, 6)
    assert Manifest.load(manifest_path(data_dir, HashEmbedder.name), _store(data_dir).stamp()) is not None


@pytest.mark.parametrize(
    "damage",
    [b"", b"\x00\xff garbage", b'{"sha256": "00", "body": "{}"}', b"[1, 2]", b'{"sha256": 1}'],
    ids=["empty", "binary", "bad-checksum", "list", "fields"],
)
def test_a_damaged_manifest_is_read_around(data_dir: Path, damage: bytes) -> None:
    papers = _papers(5)
    _ingest(papers[:4], data_dir)
    manifest_path(data_dir, HashEmbedder.name).write_bytes(damage)
    report = _ingest(papers, data_dir)
    assert (report.added, report.unchanged, report.papers) == (1, 4, 5)
    assert _store(data_dir).state() == {p.id: p.content_hash for p in papers}


def test_an_edited_manifest_with_a_valid_checksum_but_old_stamp_is_ignored(data_dir: Path) -> None:
    papers = _papers(4)
    _ingest(papers, data_dir)
    path = manifest_path(data_dir, HashEmbedder.name)
    stale = Manifest.load(path, _store(data_dir).stamp())
    assert stale is not None
    _store(data_dir).delete([papers[0].id])  # changes the stamp
    Manifest("not-the-stamp", stale.layout_version, stale.entries).save(path)
    report = _ingest(papers, data_dir)
    assert (report.added, report.papers) == (1, 4)


def test_layout_rechecked_only_when_the_layout_code_changes(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    papers = _papers(3)
    _ingest(papers, data_dir)
    path = manifest_path(data_dir, HashEmbedder.name)
    stamp = _store(data_dir).stamp()
    good = Manifest.load(path, stamp)
    assert good is not None
    wrong = dict(good.entries)  # as if paper 0 had been stored by an older chunker
    wrong[papers[0].id] = dataclasses.replace(wrong[papers[0].id], layout="0" * 16)
    Manifest(stamp, good.layout_version, wrong).save(path)
    assert _ingest(papers, data_dir).updated == 0  # same layout code: layouts are trusted
    stamp = _store(data_dir).stamp()
    Manifest(stamp, good.layout_version, wrong).save(path)
    monkeypatch.setattr(plan_module, "layout_version", lambda: "a-new-chunker")
    report = _ingest(papers, data_dir)
    assert (report.updated, report.unchanged) == (1, 2)
    saved = json.loads(json.loads(path.read_text())["body"])
    assert saved["layout_version"] == "a-new-chunker"


def test_paper_record_is_to_dict() -> None:
    full = Paper(
        "p1", "T", "A.", ("a.json:1",), "Mar 21", ("https://x.org",), ("Ada Lovelace", "Alan Turing"), 2021,
        "2021-03-02", "NeurIPS", ("cs.CL", "cs.LG"), "2103.00001", "10.1/x", "https://arxiv.org/abs/2103.00001",
    )  # fmt: skip
    for paper in (full, make_paper("Only A Title", "And an abstract.")):
        assert json.dumps(paper_record(paper)) == json.dumps(paper.to_dict())
        assert Paper.from_dict(paper_record(paper)) == paper


def test_a_noop_reports_the_counts_the_manifest_recorded(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counting Chroma's records costs 1.5 s at 50,000 papers: a no-op reads the counts recorded with the
    manifest at the same stamp, and they are the store's."""
    papers = _papers(6)
    first = _ingest(papers, data_dir)
    truth = _store(data_dir).counts()
    assert (first.papers, first.chunks, first.sentences) == (truth["papers"], truth["chunks"], truth["sentences"])

    def refuse(self: Store, papers: int | None = None) -> dict[str, int]:
        raise AssertionError("a no-op counted the store")

    monkeypatch.setattr(Store, "counts", refuse)
    again = _ingest(papers, data_dir)
    assert (again.unchanged, again.papers, again.chunks, again.sentences) == (6, *truth.values())


def test_a_manifest_written_before_counts_were_recorded_is_still_trusted(data_dir: Path) -> None:
    """An index from before the counts: its manifest (no ``counts`` field) still spares the reads, and the
    no-op counts the store instead."""
    papers = _papers(4)
    _ingest(papers, data_dir)
    path = manifest_path(data_dir, HashEmbedder.name)
    body = json.loads(json.loads(path.read_text())["body"])
    del body["counts"]
    text = json.dumps(body, separators=(",", ":"))
    path.write_text(json.dumps({"sha256": hashlib.sha256(text.encode()).hexdigest(), "body": text}))
    old = Manifest.load(path, _store(data_dir).stamp())
    assert old is not None and old.counts is None and len(old.entries) == 4
    report = _ingest(papers, data_dir)
    truth = _store(data_dir).counts()
    assert (report.unchanged, report.papers, report.chunks, report.sentences) == (4, *truth.values())


@pytest.mark.parametrize("counts", ["1e400", "Infinity", '"12"', "[-5, -1]", "[2.9, 3.7]", "[1]", "{}", "[true, 1]"])
def test_checksummed_counts_that_are_not_two_counts_make_the_manifest_stale(data_dir: Path, counts: str) -> None:
    """A manifest whose checksum matches but whose counts are not two non-negative integers (an infinity that
    ``int`` cannot convert, a string, negatives, fractions) is damage: stale, never an error, and the next
    ingest counts the store itself."""
    papers = _papers(3)
    _ingest(papers, data_dir)
    path = manifest_path(data_dir, HashEmbedder.name)
    text = json.loads(path.read_text())["body"].replace(
        json.dumps(json.loads(json.loads(path.read_text())["body"])["counts"], separators=(",", ":")), counts
    )
    path.write_text(json.dumps({"sha256": hashlib.sha256(text.encode()).hexdigest(), "body": text}))
    assert Manifest.load(path, _store(data_dir).stamp()) is None
    report, truth = _ingest(papers, data_dir), _store(data_dir).counts()
    assert (report.unchanged, report.papers, report.chunks, report.sentences) == (3, *truth.values())
