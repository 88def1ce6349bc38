"""The store against a real Chroma server (`chroma run`), reached over HTTP through ``make_client``."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import HashEmbedder, free_port

from rag.errors import IndexNotReadyError
from rag.index.ingest import ingest
from rag.index.store import Store, make_client
from rag.types import Paper


def _chroma_cli() -> str | None:
    local = Path(sys.executable).parent / "chroma"
    return str(local) if local.is_file() else shutil.which("chroma")



@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cli = _chroma_cli()
    if cli is None:
        pytest.skip("the `chroma` CLI is not installed (it comes with the chromadb package)")
    path = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    log = (path / "server.log").open("w")
    server = subprocess.Popen(
        [cli, "run", "--path", str(path / "db"), "--port", str(port), "--host", "127.0.0.1"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"chroma run exited with {server.returncode}: {(path / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the chroma server did not answer its heartbeat within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.mark.slow
def test_ingest_and_query_through_a_chroma_server(chroma_url: str, small_papers: list[Paper], tmp_path: Path) -> None:
    embedder = HashEmbedder()
    store = Store(make_client(tmp_path / "unused", chroma_url), embedder.name)
    report = ingest(small_papers, store, embedder, tmp_path, progress=False)
    assert (report.added, report.papers, report.chunks) == (4, 4, 4)
    assert not (tmp_path / "unused").exists()  # nothing on disk: the server holds the index

    hits = store.dense_query(embedder.embed_query("graph neural networks molecule property prediction"), 4)
    assert hits[0][0] == small_papers[3].id
    hits = store.dense_query(embedder.embed_query("rationale invariance domain generalization"), 4)
    assert hits[0][0] == small_papers[1].id

    # a second client sees the same index; a second ingest embeds nothing
    again = Store(make_client(tmp_path, chroma_url), embedder.name)
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
    with pytest.raises(IndexNotReadyError, match="Chroma"):
        Store(make_client(tmp_path, f"http://127.0.0.1:{free_port()}"), "x")
