"""The store against a real Chroma server (`chroma run`), reached over HTTP through ``open_chroma``."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from conftest import HashEmbedder, free_port, make_paper

from rag.errors import IndexNotReadyError
from rag.index.batch import prepare
from rag.index.ingest import ingest
from rag.index.store import Store, open_chroma
from rag.retrieve.base import PreparedQuery
from rag.types import Paper

MANY = [
    make_paper(f"Server paper {i} about topic{i}", f"We study topic{i} on a server. It holds {i} records. Done {i}.")
    for i in range(150)
]


def _chroma_cli() -> str | None:
    local = Path(sys.executable).parent / "chroma"
    return str(local) if local.is_file() else shutil.which("chroma")


def _start_server(path: Path, port: int) -> subprocess.Popen[bytes]:
    """``chroma run`` on ``path``, once it answers its heartbeat."""
    cli = _chroma_cli()
    if cli is None:
        pytest.skip("the `chroma` CLI is not installed (it comes with the chromadb package)")
    log = (path / "server.log").open("a")
    server = subprocess.Popen(
        [cli, "run", "--path", str(path / "db"), "--port", str(port), "--host", "127.0.0.1"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    deadline = time.monotonic() + 60
    while True:
        if server.poll() is not None:
            pytest.fail(f"chroma run exited with {server.returncode}: {(path / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.kill()
            pytest.fail("the chroma server did not answer its heartbeat within 60 s")
        time.sleep(0.2)


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    server = _start_server(path, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(server)


@pytest.mark.slow
def test_ingest_and_query_through_a_chroma_server(chroma_url: str, small_papers: list[Paper], tmp_path: Path) -> None:
    embedder = HashEmbedder()
    store = Store(open_chroma(tmp_path / "unused", chroma_url), embedder.name)
    report = ingest(small_papers, store, embedder, tmp_path, progress=False)
    assert (report.added, report.papers, report.chunks) == (4, 4, 4)
    assert not (tmp_path / "unused").exists()  # nothing on disk: the server holds the index

    hits = store.dense_query(embedder.embed_query("graph neural networks molecule property prediction"), 4)
    assert hits[0][0] == small_papers[3].id
    hits = store.dense_query(embedder.embed_query("rationale invariance domain generalization"), 4)
    assert hits[0][0] == small_papers[1].id

    # a second client sees the same index; a second ingest embeds nothing
    again = Store(open_chroma(tmp_path, chroma_url), embedder.name)
    assert again.state() == {p.id: p.content_hash for p in small_papers}
    calls = list(embedder.calls)
    assert ingest(small_papers, again, embedder, tmp_path, progress=False).unchanged == 4
    assert embedder.calls == calls
    # a removal goes through too
    report = ingest(small_papers[:3], again, embedder, tmp_path, progress=False)
    assert report.removed == 1 and again.sentences.get(where={"paper_id": small_papers[3].id})["ids"] == []


@pytest.mark.slow
def test_unreachable_server_is_an_index_not_ready_error(tmp_path: Path) -> None:
    if _chroma_cli() is None:
        pytest.skip("the `chroma` CLI is not installed")
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(IndexNotReadyError) as caught:
        Store(open_chroma(tmp_path, url), "x")
    message = str(caught.value)
    assert f"cannot reach the Chroma server at {url}" in message and "chroma run --path" in message
    assert "RAG_CHROMA_URL" in message and "Traceback" not in message


@pytest.mark.slow
def test_server_killed_mid_ingest_names_the_fix_and_the_resumed_ingest_is_exact(tmp_path: Path) -> None:
    """kill -9 of the server while a batch is half written (its sentences stored, its chunks not): the ingest
    fails with a message naming the fix; after a restart on the same path, the rerun completes exactly."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _start_server(tmp_path, port)
    embedder = HashEmbedder()
    try:
        store = Store(open_chroma(tmp_path, url), embedder.name)
        real_write = Store.write
        batches: list[int] = []

        def write_and_kill_on_third(self: Store, papers, *args):  # type: ignore[no-untyped-def]
            batches.append(len(papers))
            if len(batches) == 3:
                real_upsert = self.chunks.upsert

                def kill_then_upsert(**kwargs):  # type: ignore[no-untyped-def]
                    server.send_signal(signal.SIGKILL)
                    server.wait()
                    return real_upsert(**kwargs)

                self.chunks.upsert = kill_then_upsert
            return real_write(self, papers, *args)

        Store.write = write_and_kill_on_third  # type: ignore[method-assign]
        try:
            with pytest.raises(IndexNotReadyError) as caught:
                ingest(MANY, store, embedder, tmp_path, batch_size=20, progress=False)
        finally:
            Store.write = real_write  # type: ignore[method-assign]
        message = str(caught.value)
        assert f"cannot reach the Chroma server at {url}" in message, message
        assert "chroma run --path" in message and "rag ingest" in message and "Traceback" not in message
        assert len(batches) == 3

        server = _start_server(tmp_path, port)  # same data, same port
        store = Store(open_chroma(tmp_path, url), embedder.name)
        stored = store.state()
        assert len(stored) == 40  # two whole batches; the third's sentences are leftovers
        assert len(store.all_paper_ids()) == 60
        embedder.calls.clear()
        report = ingest(MANY, store, embedder, tmp_path, batch_size=20, progress=False)
        assert (report.added, report.unchanged, report.removed) == (110, 40, 0)
        assert sum(embedder.calls) == 110 * 4  # one chunk and three sentences per paper
        assert store.state() == {p.id: p.content_hash for p in MANY}
        assert store.counts() == {"papers": 150, "chunks": 150, "sentences": 450}
        ids = store.sentences.get()["ids"]
        assert len(ids) == len(set(ids)) == 450
        # Every sentence and vector the server holds is what a clean ingest stores, read back exactly. Not asked of
        # a search: Chroma's HNSW is approximate, and these near-identical sentences ("We study topic<i> on a
        # server.", one word apart, the hash embedder putting them all at one distance) leave a few of them
        # unreachable in its graph in any ingest, killed or not (a top-1 search missed 0-10 of the 150, varying
        # run to run with the order of its multi-threaded inserts).
        sentences, matrix = store.sentence_matrix()
        assert set(sentences) == set(prepare(MANY).sentences)
        by_id = {p.id: p for p in MANY}
        texts = [by_id[s.paper_id].abstract[s.span.start : s.span.end] for s in sentences]
        np.testing.assert_allclose(matrix, np.stack([embedder.embed_query(t) for t in texts]), atol=1e-6)
        query = embedder.embed_query("We study topic77 on a server.")
        assert sentences[int(np.argmax(matrix @ query))].paper_id == MANY[77].id  # the exact nearest
        # the server's vector index answers after the restart: best first, each at a similarity of its paper's
        sims = matrix @ query
        hits = store.sentence_query(query, 10)
        assert len(hits) == 10 and [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
        for pid, similarity in hits:
            assert min(abs(similarity - float(sims[i])) for i, s in enumerate(sentences) if s.paper_id == pid) < 1e-5
    finally:
        if server.poll() is None:
            _stop(server)


@pytest.mark.slow
def test_a_server_index_starts_from_the_local_snapshot(
    chroma_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ingest through a server leaves the snapshot in the local data dir; opening retrieval over the server
    then reads no record or vector back from it (the keyword index and the retriever share the snapshot)."""
    from rag.index import lexicon as lexicon_module
    from rag.index import snapshot as snapshot_module
    from rag.index.ingest import refresh_keyword_index
    from rag.index.snapshot import Snapshot
    from rag.retrieve.hybrid import HybridRetriever

    embedder = HashEmbedder()
    papers = MANY[:30]
    server_store = Store(open_chroma(tmp_path, chroma_url), embedder.name)
    ingest(papers, server_store, embedder, tmp_path, progress=False, prune=True)  # the server is shared
    snapshot_module._memo.clear()
    store = Store(open_chroma(tmp_path, chroma_url), embedder.name)
    expected = Snapshot.read(store)
    for name in ("papers", "chunk_records", "chunk_texts", "chunk_vectors", "sentence_matrix", "state"):
        monkeypatch.setattr(Store, name, lambda self, _n=name: pytest.fail(f"Store.{_n} read the server"))
    assert list(tmp_path.glob("lexicon-*.npz"))  # the ingest left the lexicon in the local data dir
    monkeypatch.setattr(lexicon_module, "tokenize", lambda text: pytest.fail("tokenised an abstract again"))
    retriever = HybridRetriever(store, refresh_keyword_index(store, tmp_path), data_dir=tmp_path)
    assert retriever.papers == expected.papers
    assert retriever.vectors.sentence_matrix.shape == expected.sentence_vectors.shape
    query = embedder.embed_query("We study topic7 on a server.")
    prepared = PreparedQuery("topic7 server", retriever.parse("topic7 server"), query)
    assert retriever.candidates(prepared, 5)[0].paper_id == papers[7].id


@pytest.mark.slow
def test_opening_an_empty_server_says_to_ingest_instead_of_filling_it(chroma_url: str, tmp_path: Path) -> None:
    """A search against an empty (or mistyped) server is an IndexNotReadyError, never an ingest of the whole
    corpus into someone else's Chroma (at 50,000 papers that would be a 40-minute "search")."""
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    class Unused(HashEmbedder):
        name = "hash-bow-256-never-ingested"  # a collection no other test of this module fills

    embedder = Unused()
    settings = Settings(data_dir=tmp_path / "data", chroma_url=chroma_url)
    with pytest.raises(IndexNotReadyError, match=r"holds no index for .*: run `rag ingest` with this RAG_CHROMA_URL"):
        Pipeline.open(settings, embedder=embedder, progress=False)
    client = open_chroma(tmp_path, chroma_url)  # as the running app reopens it (LivePipeline passes its client)
    with pytest.raises(IndexNotReadyError, match="holds no index"):
        Pipeline.open(settings, embedder=embedder, chroma_client=client, progress=False)
    assert Store(open_chroma(tmp_path, chroma_url), embedder.name, dim=embedder.dim).is_empty()
