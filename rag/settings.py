"""One typed settings object, read once at the edge (CLI, app) and passed down."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from rag.resources import data_path

BUNDLED_CORPUS = data_path("corpus")


def default_data_dir() -> Path:
    """Per-user data dir: ``$XDG_DATA_HOME/rag`` or ``~/.local/share/rag``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rag"


class Settings(BaseSettings):
    """Every knob of the product. Environment variables use the ``RAG_`` prefix."""

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Where the Chroma index, BM25 index and feedback log live (RAG_DATA_DIR).",
    )
    corpus_paths: list[Path] = Field(
        default_factory=lambda: [BUNDLED_CORPUS],
        description="Files or folders ingested by default (.txt listings, .jsonl, .csv).",
    )
    chroma_url: str | None = Field(
        default=None,
        description="URL of a Chroma server (e.g. http://127.0.0.1:8000). Unset: embedded on-disk Chroma.",
    )
    embedder: Literal["minilm", "openai"] = Field(
        default="minilm", description="Embedding model: local all-MiniLM-L6-v2, or OpenAI embeddings."
    )
    openai_embedding_model: str = Field(
        default="text-embedding-3-small", description="Model name when embedder=openai."
    )
    embedder_runtime: Literal["onnx", "onnx-int8", "torch"] = Field(
        default="onnx",
        description="How MiniLM runs: ONNX Runtime fp32 (same vectors as torch, shares its collection), ONNX int8 "
        "(faster, own collection, dev nDCG@10 -0.011) or torch (sentence-transformers). ONNX exports at first use.",
    )
    model_cache_dir: Path = Field(
        default_factory=lambda: Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rag",
        description="Where the ONNX exports of the embedding model are cached (RAG_MODEL_CACHE_DIR).",
    )
    reranker: Literal["features", "cross-encoder", "llm", "none"] = Field(
        default="features",
        description="Second-stage reranker. 'cross-encoder' needs RAG_RERANKER_MODEL; 'llm' needs an LLM.",
    )
    reranker_model: Path | None = Field(
        default=None, description="Local path of a sentence-transformers CrossEncoder model."
    )
    candidates: int = Field(default=50, ge=1, le=1000, description="First-stage candidates passed to the reranker.")
    top_k: int = Field(default=5, ge=1, le=20, description="Sources given to the answerer.")
    answerer: Literal["auto", "extractive", "llm"] = Field(
        default="auto", description="'auto' uses the LLM when an API key or base URL is set, else extractive."
    )
    llm_model: str = Field(default="gpt-4o-mini", description="Model name on the OpenAI-compatible endpoint.")
    llm_timeout: float = Field(
        default=180.0,
        gt=0,
        description="Deadline in seconds for one LLM answer: connect, first token and the whole stream together. "
        "Sized for local CPU servers, whose prompt processing alone can take minutes; lower it for hosted APIs.",
    )
    llm_max_tokens: int = Field(
        default=512, ge=16, le=8192, description="max_tokens sent with each LLM answer request (2-6 sentences)."
    )
    llm_max_answer_chars: int = Field(
        default=6000,
        ge=200,
        description="Answer size cap: a longer LLM answer is cut off and withheld (servers that ignore max_tokens).",
    )
    llm_max_retries: int = Field(default=2, ge=0, le=10, description="Retries with backoff on 429/5xx.")
    context_tokens: int = Field(default=3000, ge=200, description="Token budget for sources in the LLM prompt.")
    abstain_threshold: float | None = Field(
        default=None, description="Override the calibrated abstention threshold (0..1)."
    )
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("RAG_OPENAI_API_KEY", "OPENAI_API_KEY"),
        description="API key of the OpenAI-compatible endpoint (OPENAI_API_KEY).",
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="Bearer token the OpenAI-compatible API (/v1/...) requires (RAG_API_KEY); needed off loopback.",
    )
    openai_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("RAG_OPENAI_BASE_URL", "OPENAI_BASE_URL"),
        description="Base URL of an OpenAI-compatible endpoint: vLLM, Ollama, llama.cpp (OPENAI_BASE_URL).",
    )

    @property
    def llm_configured(self) -> bool:
        """True when an LLM endpoint is configured (key or base URL)."""
        return self.openai_api_key is not None or self.openai_base_url is not None

    @property
    def use_llm(self) -> bool:
        """Whether answers come from the LLM answerer."""
        return self.answerer == "llm" or (self.answerer == "auto" and self.llm_configured)
