"""Shared fixtures: a deterministic embedder whose vectors depend on the words of the text, a small
set of papers, and an index built from them in a temporary data dir."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from rag.text import tokenize
from rag.types import Paper

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (for servers the tests start)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(demo: Any) -> Iterator[str]:
    """A Gradio app launched in a thread on a free port (``rag.app.ui.launch``, CSS included): its URL, closed
    on leaving."""
    from rag.app.ui import launch

    port = free_port()
    launch(demo, port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


class HashEmbedder:
    """Bag of stemmed words hashed into 256 dims, normalised: texts sharing words are close."""

    name = "hash-bow-256"
    dim = 256

    def __init__(self) -> None:
        self.calls: list[int] = []

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for token in tokenize(text):
            digest = hashlib.md5(token.encode()).digest()
            vec[int.from_bytes(digest[:4], "little") % self.dim] += 1.0
        norm = np.linalg.norm(vec)
        if norm == 0:
            vec[0] = 1.0
            return vec
        return vec / norm

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)


def make_paper(title: str, abstract: str, source: str = "test.txt:1", date: str | None = None) -> Paper:
    from rag.index.corpus import paper_id
    from rag.text import find_urls

    return Paper(paper_id(title), title, abstract, (source,), date, find_urls(abstract, schemed=True))


SMALL_PAPERS = [
    make_paper(
        "Sparse Autoencoders Find Interpretable Features in Language Models",
        "We train sparse autoencoders (SAEs) on the residual stream of a language model. The learned "
        "features are more interpretable than neurons. SAE features explain 42.5% of the variance.",
        "a.txt:1",
        "Mar 21",
    ),
    make_paper(
        "Domain Generalization via Rationale Invariance",
        "We propose a rationale invariance loss for domain generalization. The loss makes the rationale "
        "matrices of samples in the same category similar. Code is available at https://github.com/x/RIDG.",
        "a.txt:3",
        "Mar 21",
    ),
    make_paper(
        "Fast Tokenization for Speech Recognition",
        "We present a tokenizer for speech recognition that runs 3.5x faster than prior work. It is "
        "evaluated on LibriSpeech. Word error rate drops by 1.2 points.",
        "b.txt:1",
        "Mar 17",
    ),
    make_paper(
        "Graph Neural Networks for Molecule Property Prediction",
        "Graph neural networks predict molecule properties from atoms and bonds. We introduce a message "
        "passing scheme with edge attention. It improves accuracy on QM9 by 8%.",
        "b.txt:3",
        None,
    ),
]


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's index: RAG_DATA_DIR points at a fresh temporary dir."""
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path_factory.mktemp("rag-data")))


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def small_papers() -> list[Paper]:
    return list(SMALL_PAPERS)


@pytest.fixture(scope="session")
def real_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full bundled corpus indexed with the real MiniLM model, built once per test session.

    Set RAG_TEST_INDEX to an existing data dir to reuse an index built earlier (it is copied first,
    so tests never write to it)."""
    import shutil

    target = tmp_path_factory.mktemp("real-index")
    reuse = os.environ.get("RAG_TEST_INDEX")
    if reuse and Path(reuse).is_dir():
        shutil.copytree(reuse, target, dirs_exist_ok=True)
    from rag.index.embeddings import MiniLMEmbedder
    from rag.index.ingest import run_ingest
    from rag.index.store import Store, open_chroma
    from rag.settings import Settings

    settings = Settings(data_dir=target)
    embedder = real_embedder()
    run_ingest(settings, embedder, store=Store(open_chroma(target), embedder.name), progress=False)
    assert isinstance(embedder, MiniLMEmbedder)
    return target


_REAL_EMBEDDER = None


def real_embedder():  # type: ignore[no-untyped-def]
    """The real MiniLM embedder, loaded once per test process."""
    global _REAL_EMBEDDER
    if _REAL_EMBEDDER is None:
        from rag.index.embeddings import MiniLMEmbedder

        _REAL_EMBEDDER = MiniLMEmbedder()
    return _REAL_EMBEDDER


@pytest.fixture(scope="session")
def real_pipeline(real_index_dir: Path):  # type: ignore[no-untyped-def]
    """A Pipeline over the real index (extractive answerer, no LLM)."""
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    return Pipeline.open(Settings(data_dir=real_index_dir), embedder=real_embedder(), progress=False)


def open_hash_pipeline(data_dir: Path, papers: Sequence[Paper] = SMALL_PAPERS, **settings: object):  # type: ignore[no-untyped-def]
    """A real Pipeline (Chroma on disk, BM25, reranker, extractive answerer) over ``papers``, embedded
    with ``HashEmbedder``."""
    from rag.index.ingest import ingest
    from rag.index.store import Store, open_chroma
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    embedder = HashEmbedder()
    config = Settings(data_dir=data_dir, **settings)  # type: ignore[arg-type]
    client = open_chroma(data_dir)
    ingest(list(papers), Store(client, embedder.name), embedder, data_dir, progress=False)
    return Pipeline.open(config, embedder=embedder, chroma_client=client, progress=False)


@pytest.fixture
def hash_pipeline(tmp_path: Path):  # type: ignore[no-untyped-def]
    return open_hash_pipeline(tmp_path / "data")


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Debian's Chromium and the flags it needs here (no sandbox as root; no background calls to a closed network)."""


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    """Headless Chromium through Playwright (``executable_path``: nothing downloads a browser)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def serve_in_thread(app: Any, **config: Any) -> tuple[str, Any, Any]:
    """``app`` served by a real uvicorn server on a free loopback port in a daemon thread (``config``: more
    ``uvicorn.Config`` options): its URL, the server (``should_exit = True`` stops it) and the thread."""
    import threading
    import time

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread
