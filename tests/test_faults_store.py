"""Faults of the index, each made for real on a copy of a built index: damaged sqlite and HNSW files, damaged
BM25 files, vectors of another dimension, a read-only data dir (read-only bind mount), a full disk (a tiny
tmpfs), a data dir that is a file. Each ends in the exact ``RagError`` whose message names the fix, or is
healed, and a healed index gives the same vectors and the same search results as before the fault.

The index holds 400 papers (1,200 sentences): enough for Chroma to persist the sentence collection's HNSW
files (it keeps fewer than 1,000 records in its log only). Mount tests need root and are skipped with the
reason when mounting is not permitted.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import HashEmbedder, make_paper

from rag.errors import IndexDamagedError, RagError, StorageError
from rag.index.ingest import ingest, keyword_dir, refresh_keyword_index
from rag.index.store import Store, discard_index, open_chroma
from rag.index.store_files import vector_segments
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.types import Paper

WORDS = ["graph", "sparse", "speech", "vision", "robot", "protein", "market", "weather", "music", "chess"]
PAPERS = [
    make_paper(
        f"Study {i} of {WORDS[i % 10]} models with marker{i}",
        f"We study {WORDS[i % 10]} and {WORDS[(i * 3) % 10]} with method marker{i}. "
        f"It improves {WORDS[(i * 7) % 10]} accuracy by {i % 50} points. The code uses token{i % 37}.",
        f"corpus.txt:{i}",
    )
    for i in range(400)
]
QUERIES = ["marker17 graph", "sparse models with marker250", "token5 accuracy", "weather chess marker399"]


def _ingest(data_dir: Path, papers: list[Paper] = PAPERS, embedder: HashEmbedder | None = None):  # type: ignore[no-untyped-def]
    embedder = embedder or HashEmbedder()
    store = Store(open_chroma(data_dir, fresh=True), embedder.name, dim=embedder.dim)
    return store, ingest(papers, store, embedder, data_dir, progress=False)


def snapshot(data_dir: Path) -> dict[str, object]:
    """What the index serves: stored papers, every vector, BM25 scores and the pipeline's search results."""
    embedder = HashEmbedder()
    client = open_chroma(data_dir, fresh=True)
    store = Store(client, embedder.name)
    rows, matrix = store.sentence_matrix()
    chunk_ids, chunk_vectors = store.chunk_vectors()
    keyword = refresh_keyword_index(store, data_dir)
    pipeline = Pipeline.open(Settings(data_dir=data_dir), embedder=embedder, chroma_client=client, progress=False)
    return {
        "state": store.state(),
        "sentences": rows,
        "sentence_vectors": matrix.tobytes(),
        "chunks": chunk_ids,
        "chunk_vectors": chunk_vectors.tobytes(),
        "bm25": [keyword.scores(q).round(5).tolist() for q in QUERIES],
        "search": [[(h.paper.id, round(h.score, 5)) for h in pipeline.search(q, k=5)] for q in QUERIES],
    }


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    data_dir = tmp_path_factory.mktemp("fault-template") / "data"
    _ingest(data_dir)
    segments = {s.collection: s for s in vector_segments(data_dir)}
    assert segments["sentences-hash-bow-256"].persisted, "the sentence HNSW files must exist for these tests"
    return data_dir, snapshot(data_dir)


@pytest.fixture
def index(template: tuple[Path, dict[str, object]], tmp_path: Path) -> Path:
    """A fresh copy of the built index."""
    shutil.copytree(template[0], tmp_path / "data")
    return tmp_path / "data"


def _assert_message(exc: RagError, *needles: str) -> None:
    text = str(exc)
    assert "Traceback" not in text and "\n" not in text, text
    for needle in needles:
        assert needle in text, f"{needle!r} not in {text!r}"


def _sentence_folder(data_dir: Path) -> Path:
    return next(s.folder for s in vector_segments(data_dir) if s.collection == "sentences-hash-bow-256")


# ------------------------------------------------------------------------------------------ sqlite: not healable


def _truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 3)


def _garbage(path: Path) -> None:
    path.write_bytes(np.random.default_rng(0).bytes(path.stat().st_size))


def _bad_page(path: Path) -> None:
    with path.open("r+b") as fh:
        fh.seek(10 * 4096)
        fh.write(np.random.default_rng(1).bytes(4096))


@pytest.mark.parametrize("damage", [_truncate, _garbage, _bad_page], ids=["truncated", "garbage", "bad-page"])
def test_damaged_sqlite_names_the_rebuild_and_the_rebuild_restores_the_index(
    index: Path, template: tuple[Path, dict[str, object]], damage
) -> None:  # type: ignore[no-untyped-def]
    damage(index / "chroma" / "chroma.sqlite3")
    with pytest.raises(IndexDamagedError) as caught:
        open_chroma(index, fresh=True)
    _assert_message(caught.value, str(index / "chroma" / "chroma.sqlite3"), "is damaged", "rag ingest --rebuild")
    # what `rag ingest --rebuild` does: discard the Chroma files, ingest again
    discard_index(index)
    _, report = _ingest(index)
    assert (report.added, report.unchanged, report.papers) == (400, 0, 400)
    assert snapshot(index) == template[1]


# ------------------------------------------------------------------------------------------ HNSW: healed


def _delete_folder(folder: Path) -> None:
    shutil.rmtree(folder)


def _delete_level0(folder: Path) -> None:
    (folder / "data_level0.bin").unlink()


def _garbage_level0(folder: Path) -> None:  # makes chromadb 1.5.9 segfault when it loads the segment
    _garbage(folder / "data_level0.bin")


def _garbage_links(folder: Path) -> None:
    _garbage(folder / "link_lists.bin")


def _garbage_header(folder: Path) -> None:
    _garbage(folder / "header.bin")


def _garbage_pickle(folder: Path) -> None:
    _garbage(folder / "index_metadata.pickle")


def _flip_links(folder: Path) -> None:
    with (folder / "data_level0.bin").open("r+b") as fh:
        fh.seek(1164 * 100 + 8)
        fh.write(b"\xff" * 64)


@pytest.mark.parametrize(
    "damage",
    [_delete_folder, _delete_level0, _garbage_level0, _garbage_links, _garbage_header, _garbage_pickle, _flip_links],
    ids=["folder-deleted", "level0-deleted", "level0-garbage", "links-garbage", "header-garbage", "pickle-garbage",
         "links-out-of-range"],
)  # fmt: skip
def test_damaged_hnsw_files_are_healed_by_re_embedding(
    index: Path, template: tuple[Path, dict[str, object]], damage
) -> None:  # type: ignore[no-untyped-def]
    damage(_sentence_folder(index))
    embedder = HashEmbedder()
    store = Store(open_chroma(index, fresh=True), embedder.name, dim=embedder.dim)
    assert len(store.healed) == 1 and "vector files are damaged" in store.healed[0]
    assert "rag ingest" in store.healed[0] and str(index) in store.healed[0]
    assert store.is_empty() and store.counts() == {"papers": 0, "chunks": 0, "sentences": 0}
    report = ingest(PAPERS, store, embedder, index, progress=False)
    assert (report.added, report.unchanged) == (400, 0), "never 'unchanged' over a reset index"
    assert sum(embedder.calls) == 400 + 1200  # every chunk and sentence re-embedded
    assert Store(open_chroma(index, fresh=True), embedder.name).healed == []
    assert snapshot(index) == template[1]


def test_pipeline_open_heals_deleted_hnsw_files_by_rebuilding_from_the_corpus(tmp_path: Path) -> None:
    """Opening the app over an index whose HNSW files were deleted re-embeds the configured corpus."""
    corpus = tmp_path / "papers.jsonl"
    import json

    corpus.write_text("".join(json.dumps({"title": p.title, "abstract": p.abstract}) + "\n" for p in PAPERS))
    settings = Settings(data_dir=tmp_path / "data", corpus_paths=[corpus])
    first = Pipeline.open(settings, embedder=HashEmbedder(), progress=False)
    before = [[h.paper.id for h in first.search(q, k=3)] for q in QUERIES]
    shutil.rmtree(_sentence_folder(settings.data_dir))
    again = Pipeline.open(
        settings, embedder=HashEmbedder(), chroma_client=open_chroma(settings.data_dir, fresh=True), progress=False
    )
    assert [[h.paper.id for h in again.search(q, k=3)] for q in QUERIES] == before
    assert again.store.counts() == {"papers": 400, "chunks": 400, "sentences": 1200}


# ------------------------------------------------------------------------------------------ BM25: healed


def _bm25_files(data_dir: Path) -> list[Path]:
    return sorted(keyword_dir(data_dir, HashEmbedder.name).iterdir())


@pytest.mark.parametrize("which", ["data.csc.index.npy", "vocab.index.json", "params.index.json", "meta.json"])
@pytest.mark.parametrize("how", ["garbage", "truncated", "deleted"])
def test_damaged_bm25_files_are_rebuilt_on_open_and_by_ingest(
    index: Path, template: tuple[Path, dict[str, object]], which: str, how: str
) -> None:
    path = keyword_dir(index, HashEmbedder.name) / which
    assert path in _bm25_files(index)
    {"garbage": _garbage, "truncated": _truncate, "deleted": Path.unlink}[how](path)
    assert snapshot(index) == template[1]  # opening rebuilt it
    assert path.is_file()
    _garbage(path)
    _store, report = _ingest(index)  # and so does an ingest with nothing else to do
    assert (report.added, report.unchanged) == (0, 400)
    assert snapshot(index) == template[1]


def test_bm25_file_replaced_by_a_valid_but_different_array_is_rebuilt(
    index: Path, template: tuple[Path, dict[str, object]]
) -> None:
    path = keyword_dir(index, HashEmbedder.name) / "data.csc.index.npy"
    values = np.load(path)
    np.save(path, values[::-1].copy())  # loads fine, scores wrong: only the checksum tells
    assert snapshot(index) == template[1]


# ------------------------------------------------------------------------------------------ dimension mismatch


class HalfHash(HashEmbedder):
    """Same name as ``HashEmbedder``, other vector size: as if a model changed under the same key."""

    dim = 128


def test_vectors_of_another_dimension_are_re_embedded_into_a_fresh_collection(index: Path) -> None:
    embedder = HalfHash()
    store = Store(open_chroma(index, fresh=True), embedder.name, dim=embedder.dim)
    assert len(store.healed) == 1 and "256 dimensions" in store.healed[0] and "makes 128" in store.healed[0]
    report = ingest(PAPERS, store, embedder, index, progress=False)
    assert (report.added, report.unchanged) == (400, 0)
    _, matrix = store.sentence_matrix()
    assert matrix.shape == (1200, 128)
    pid = store.sentence_query(embedder.embed_query(PAPERS[17].abstract.split(". ")[0] + "."), 1)[0][0]
    assert pid == PAPERS[17].id


def test_a_query_or_write_of_another_dimension_names_the_fix(index: Path) -> None:
    """Without the embedder's size at open, the mismatch surfaces at the first use, as a message."""
    store = Store(open_chroma(index, fresh=True), HashEmbedder.name)
    with pytest.raises(IndexDamagedError) as caught:
        store.sentence_query(np.ones(128, dtype=np.float32), 3)
    _assert_message(caught.value, "another dimension", "rag ingest")
    small = HalfHash()
    from rag.index.batch import embed_and_write

    with pytest.raises(IndexDamagedError) as caught:
        embed_and_write([PAPERS[0]], store, small)
    _assert_message(caught.value, "another dimension", "rag ingest")


# ------------------------------------------------------------------------------------------ the disk


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"mount {' '.join(args)} is not permitted here: {result.stderr.strip()}")


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def read_only(index: Path, tmp_path: Path) -> Iterator[Path]:
    """The built index seen through a read-only bind mount (root ignores permissions, not a read-only mount)."""
    view = tmp_path / "ro"
    view.mkdir()
    _mount("--bind", str(index.parent), str(view))
    try:
        _mount("-o", "remount,bind,ro", str(view))
        yield view / "data"
    finally:
        _umount(view)


def test_read_only_data_dir_is_a_storage_error_naming_the_setting(read_only: Path) -> None:
    with pytest.raises(StorageError) as caught:
        open_chroma(read_only, fresh=True)
    _assert_message(caught.value, str(read_only), "cannot be written", "RAG_DATA_DIR", "cp -a")
    with pytest.raises(StorageError) as caught:  # a new data dir below a read-only one
        open_chroma(read_only / "new", fresh=True)
    _assert_message(caught.value, "RAG_DATA_DIR")
    with pytest.raises(StorageError):
        Pipeline.open(Settings(data_dir=read_only), embedder=HashEmbedder(), progress=False)


def test_full_disk_is_a_storage_error_and_the_ingest_resumes_exactly(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    _mount("-t", "tmpfs", "-o", "size=1200k", "tmpfs", str(disk))
    try:
        data_dir = disk / "data"
        embedder = HashEmbedder()
        store = Store(open_chroma(data_dir, fresh=True), embedder.name)
        with pytest.raises(StorageError) as caught:
            ingest(PAPERS, store, embedder, data_dir, batch_size=32, progress=False)
        _assert_message(caught.value, str(data_dir), "is full", "rag ingest")
        _mount("-o", "remount,size=64m", str(disk))  # space freed
        store = Store(open_chroma(data_dir, fresh=True), embedder.name)
        partial = store.state()  # the batches committed before the disk filled
        assert 0 < len(partial) < 400
        assert all(partial[p.id] == p.content_hash for p in PAPERS if p.id in partial)
        report = ingest(PAPERS, store, embedder, data_dir, progress=False)
        assert report.added == 400 - len(partial) and report.unchanged == len(partial)
        assert store.state() == {p.id: p.content_hash for p in PAPERS}
        assert store.counts() == {"papers": 400, "chunks": 400, "sentences": 1200}
        ids = store.sentences.get()["ids"]
        assert len(ids) == len(set(ids)) == 1200
    finally:
        _umount(disk)


def test_data_dir_that_is_a_file_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_text("not a directory")
    for data_dir in (path, path / "below"):
        with pytest.raises(StorageError) as caught:
            open_chroma(data_dir)
        _assert_message(caught.value, f"RAG_DATA_DIR={data_dir}", "is not a directory")
    assert path.read_text() == "not a directory"


def test_bm25_save_on_a_read_only_dir_is_a_storage_error(read_only: Path) -> None:
    from rag.index.keyword import KeywordIndex

    index = KeywordIndex.build(["p1"], ["A title\nan abstract about graphs"])
    with pytest.raises(StorageError) as caught:
        index.save(read_only / "bm25-x", "fp")
    _assert_message(caught.value, "cannot be written", "RAG_DATA_DIR")


def test_sound_hnsw_files_are_checked_once_until_written(index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A segment checked sound is not read again on the next open while its files are untouched; a write in
    place (same size, new mtime) is checked again and found."""
    from rag.index import store_files

    embedder = HashEmbedder()
    assert Store(open_chroma(index, fresh=True), embedder.name).healed == []
    folder = _sentence_folder(index)
    assert folder.name in json.loads((index / store_files.CHECKED).read_text())
    real = store_files._structure_problem
    calls: list[Path] = []
    monkeypatch.setattr(store_files, "_structure_problem", lambda f: calls.append(f) or real(f))
    assert Store(open_chroma(index, fresh=True), embedder.name).healed == []
    assert folder not in calls  # remembered
    _flip_links(folder)
    store = Store(open_chroma(index, fresh=True), embedder.name, dim=embedder.dim)
    assert folder in calls and len(store.healed) == 1 and "vector files are damaged" in store.healed[0]


def test_sound_sqlite_is_checked_once_until_written(index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``quick_check`` reads every page (1.3 s warm at 50,000 papers): a file checked sound, or left by a
    completed ``run_ingest``, is not checked again until written; damage in place (same size) is still found."""
    from rag.index import store_files
    from rag.index.ingest import run_ingest

    real = store_files._sqlite_problem
    calls: list[Path] = []
    monkeypatch.setattr(store_files, "_sqlite_problem", lambda path: calls.append(path) or real(path))
    open_chroma(index, fresh=True)
    open_chroma(index, fresh=True)
    assert len(calls) == 1  # the copy (a new inode) is checked once, then remembered
    corpus = index.parent / "papers.jsonl"
    corpus.write_text(json.dumps({"title": "A New Paper On Graphs", "abstract": "We study graphs. It works."}) + "\n")
    settings = Settings(data_dir=index, corpus_paths=[corpus])
    report = run_ingest(settings, HashEmbedder(), [corpus], prune=True, progress=False)
    assert report.added == 1
    calls.clear()
    open_chroma(index, fresh=True)
    assert calls == []  # the ingest's own writes need no check
    _bad_page(index / "chroma" / "chroma.sqlite3")
    with pytest.raises(IndexDamagedError):
        open_chroma(index, fresh=True)
    assert len(calls) == 1


def test_damage_during_a_noop_ingest_is_not_remembered(index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page damaged in place while a no-op ingest runs (after the open's check; no store write, so the stamp
    cannot tell) is not vouched for: an ingest that wrote nothing remembers nothing, and the next open says the
    index is damaged."""
    from rag.index import ingest as ingest_module

    corpus = index.parent / "papers.jsonl"
    corpus.write_text(json.dumps({"title": "A New Paper On Graphs", "abstract": "We study graphs. It works."}) + "\n")
    settings = Settings(data_dir=index, corpus_paths=[corpus])
    ingest_module.run_ingest(settings, HashEmbedder(), [corpus], prune=True, progress=False)
    real = ingest_module.refresh_keyword_index

    def then_damage(*args: object, **kwargs: object) -> object:
        out = real(*args, **kwargs)  # type: ignore[arg-type]
        _bad_page(index / "chroma" / "chroma.sqlite3")
        return out

    monkeypatch.setattr(ingest_module, "refresh_keyword_index", then_damage)
    report = ingest_module.run_ingest(settings, HashEmbedder(), [corpus], prune=True, progress=False)
    assert (report.added, report.updated, report.removed) == (0, 0, 0)
    with pytest.raises(IndexDamagedError):
        open_chroma(index, fresh=True)


def test_an_ingest_another_writer_interleaved_with_leaves_the_sqlite_file_to_be_checked(
    index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only an ingest that alone wrote the file vouches for it: after another client's write during the ingest,
    the next open runs ``quick_check`` again."""
    from rag.index import ingest as ingest_module
    from rag.index import store_files
    from rag.index.batch import embed_and_write

    real = ingest_module.ingest

    def with_a_stray_writer(*args: object, **kwargs: object) -> object:
        report = real(*args, **kwargs)  # type: ignore[arg-type]
        other = Store(open_chroma(index, fresh=True), HashEmbedder.name)
        embed_and_write([make_paper("A Stray Paper", "Written by someone else. Meanwhile.")], other, HashEmbedder())
        return report

    monkeypatch.setattr(ingest_module, "ingest", with_a_stray_writer)
    corpus = index.parent / "papers.jsonl"
    corpus.write_text(json.dumps({"title": "A New Paper On Graphs", "abstract": "We study graphs. It works."}) + "\n")
    ingest_module.run_ingest(Settings(data_dir=index, corpus_paths=[corpus]), HashEmbedder(), [corpus], prune=True,
                             progress=False)  # fmt: skip
    real_check = store_files._sqlite_problem
    calls: list[Path] = []
    monkeypatch.setattr(store_files, "_sqlite_problem", lambda path: calls.append(path) or real_check(path))
    open_chroma(index, fresh=True)
    assert len(calls) == 1


@pytest.mark.parametrize(("url", "port", "tls"), [("https://chroma.example.org", 443, True),
                                                  ("http://chroma.example.org", 8000, False),
                                                  ("https://chroma.example.org:9443", 9443, True)])
def test_a_chroma_url_without_a_port_takes_its_schemes_port(
    url: str, port: int, tls: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import chromadb

    seen: dict[str, object] = {}
    monkeypatch.setattr(chromadb, "HttpClient", lambda **kw: seen.update(kw) or object())
    open_chroma(tmp_path, url)
    assert (seen["host"], seen["port"], seen["ssl"]) == ("chroma.example.org", port, tls)


def test_a_file_another_writer_is_extending_is_not_called_truncated(tmp_path: Path) -> None:
    """A checkpoint of another process writes page 1 (with the new page count) before the pages that extend
    the file: for a moment the file is shorter than its header says. ``check_sqlite`` looks again before it calls
    the index truncated; a file that stays short is still damaged."""
    import sqlite3
    import threading
    import time

    from rag.index.store_files import SQLITE_FILE, check_sqlite, chroma_dir

    path = chroma_dir(tmp_path) / SQLITE_FILE
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x TEXT)")
        db.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 200)
    db.close()
    whole = path.read_bytes()
    page = int.from_bytes(whole[16:18], "big")
    path.write_bytes(whole[:-page])  # the last page not written yet
    writer = threading.Timer(0.3, lambda: path.write_bytes(whole))
    writer.start()
    started = time.monotonic()
    check_sqlite(tmp_path)  # waits for the writer instead of raising
    writer.join()
    assert time.monotonic() - started < 1.5
    path.write_bytes(whole[:-page])
    with pytest.raises(IndexDamagedError, match="truncated"):
        check_sqlite(tmp_path)


# ------------------------------------------------------------------------------------------ a writer at work


def test_a_reader_never_resets_an_index_another_ingest_is_writing(index: Path) -> None:
    """A tester's server opened the index while `rag ingest` rewrote its vector files, read them half written as
    "damaged", and reset both collections under the ingest (the user's added papers were gone); reads failing
    meanwhile were told to `rag ingest --rebuild`. While another process holds the ingest, a reader now gets a
    "retry in a moment" error and deletes nothing; once it is gone, real damage is healed as before."""
    from rag.errors import IngestBusyError
    from rag.index.lock import OWNER_NAME
    from rag.index.store_errors import Location, translate

    folder = _sentence_folder(index)
    _garbage_links(folder)
    writer = subprocess.Popen(["sleep", "60"])
    try:
        (index / OWNER_NAME).write_text(str(writer.pid), encoding="ascii")
        embedder = HashEmbedder()
        with pytest.raises(IngestBusyError, match=rf"an ingest \(pid {writer.pid}\) is writing .*retry in a moment"):
            Store(open_chroma(index, fresh=True), embedder.name, dim=embedder.dim)
        assert folder.is_dir() and (folder / "link_lists.bin").exists()  # nothing reset
        chroma = RuntimeError("Error executing plan: Internal error: Error finding id")
        assert isinstance(translate(chroma, Location(data_dir=index), "reading the index"), IngestBusyError)
    finally:
        writer.kill()
        writer.wait()
    assert not isinstance(translate(chroma, Location(data_dir=index), "reading the index"), IngestBusyError)
    store = Store(open_chroma(index, fresh=True), embedder.name, dim=embedder.dim)
    assert len(store.healed) == 1 and "vector files are damaged" in store.healed[0]
