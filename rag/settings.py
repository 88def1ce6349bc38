"""One typed settings object, read once at the edge (CLI, app) with ``load_settings()`` and passed down.

``load_settings()`` turns every invalid value into a ``ConfigError`` naming the environment variable, the
value and what is allowed (the rules themselves live once, in the field declarations below and the checks of
``rag.settings_checks`` they name, which also words the errors).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from rag import settings_checks as checks
from rag.errors import ConfigError
from rag.resources import data_path

BUNDLED_CORPUS = data_path("corpus")


def default_data_dir() -> Path:
    """Per-user data dir: ``$XDG_DATA_HOME/rag`` or ``~/.local/share/rag``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rag"


class Settings(BaseSettings):
    """Every knob of the product. Environment variables use the ``RAG_`` prefix."""

    model_config = SettingsConfigDict(
        env_prefix="RAG_", extra="ignore", frozen=True, env_ignore_empty=True, populate_by_name=True,
        allow_inf_nan=False,  # RAG_ANSWER_EVIDENCE=NaN had been told "should be less than or equal to 1"
    )

    def __init__(self, **values: Any) -> None:
        """Settings from keyword arguments over the environment's: an unknown name (a typo that would open another
        index) or a bad value is a one-line ``ConfigError``, as ``load_settings`` gives for the environment."""
        unknown = sorted(k for k in values if k not in _KNOWN_NAMES and not k.startswith("_"))
        if unknown:
            raise ConfigError(f"unknown setting {unknown[0]!r}; the settings are listed in docs/configuration.md")
        if not values:
            super().__init__()
            return
        try:
            super().__init__(**values)
        except (SettingsError, ValidationError) as exc:
            raise checks.keyword_error(type(self).model_fields, exc) from None

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
        default="onnx-int8",
        description="How MiniLM runs: ONNX Runtime int8 (1.85x the ingest speed of fp32; dev_val, held-out and "
        "ACLSum figures within one question of fp32), ONNX fp32 (same vectors as torch, shares its collection) or "
        "torch (sentence-transformers). Each vector kind has its own collections. ONNX exports at first use.",
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
    candidate_pool: int = Field(
        default=50,
        ge=1,
        le=1000,
        validation_alias=AliasChoices("RAG_CANDIDATE_POOL", "RAG_CANDIDATES"),
        description="First-stage candidates passed to the reranker (RAG_CANDIDATE_POOL; RAG_CANDIDATES also works).",
    )
    top_k: int = Field(default=5, ge=1, le=20, description="Sources given to the answerer.")
    ingest_lock_timeout: float = Field(
        default=60.0,
        ge=0,
        le=86400,
        allow_inf_nan=False,
        description="Seconds an ingest waits for another ingest on the same data dir to finish before it gives up "
        "with IngestBusyError (RAG_INGEST_LOCK_TIMEOUT); 0 fails at once.",
    )
    answerer: Literal["auto", "extractive", "llm"] = Field(
        default="auto", description="'auto' uses the LLM when an API key or base URL is set, else extractive."
    )
    answer_words: int = Field(
        default=80,
        ge=20,
        le=2000,
        description="Word cap of an extractive prose answer (RAG_ANSWER_WORDS): no quote is added past it, the "
        "first always goes in. Most answers stop earlier, at RAG_ANSWER_EVIDENCE.",
    )
    answer_evidence: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Probability of holding a key fact that a further quote of an extractive prose answer needs "
        "(RAG_ANSWER_EVIDENCE; default: the value fitted with the piece model, rag/data/composer.json). Lower "
        "gives longer answers holding more key facts; see the trade-off table in docs/evaluation.md.",
    )
    llm_model: str = Field(default="gpt-4o-mini", description="Model name on the OpenAI-compatible endpoint.")
    prompts_dir: Path | None = Field(
        default=None,
        description="Folder of prompt templates to use instead of the bundled rag/data/prompts (RAG_PROMPTS_DIR): "
        "each file must use exactly the $variables the bundled one does.",
    )
    llm_timeout: float = Field(
        default=180.0,
        gt=0,
        le=86_400,
        allow_inf_nan=False,
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
        default=None,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="Override the calibrated abstention threshold (0..1).",
    )
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("RAG_OPENAI_API_KEY", "OPENAI_API_KEY"),
        description="API key of the OpenAI-compatible endpoint (OPENAI_API_KEY).",
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="The one key of the web service (RAG_API_KEY): with it set, every route needs it: the chat page "
        "(a login form sets a session cookie), the Gradio API and queue routes and /v1 (Authorization: Bearer "
        "<key>). Needed off loopback. At least 8 printable ASCII characters; white space around it is dropped.",
    )
    allowed_hosts: str | None = Field(
        default=None,
        max_length=4000,
        description="Host names the web service answers to, comma-separated (RAG_ALLOWED_HOSTS; '*' for any). "
        "Default: the host it is bound to plus localhost, 127.0.0.1 and ::1. A request with another Host "
        "header gets 400 (no DNS rebinding). Behind a reverse proxy, list the public name.",
    )
    cors_origins: str | None = Field(
        default=None,
        max_length=4000,
        description="Origins (scheme://host[:port]) whose pages may call the service from a browser, comma-"
        "separated (RAG_CORS_ORIGINS). Default: none (CORS closed; cross-site POSTs are refused).",
    )
    max_body_bytes: int = Field(
        default=1_000_000,
        ge=1024,
        le=100_000_000,
        description="Largest request body in bytes (RAG_MAX_BODY_BYTES); a larger one gets 413 before it is read.",
    )
    header_timeout: float = Field(
        default=10.0,
        gt=0,
        le=600,
        allow_inf_nan=False,
        description="Seconds a connection may take to send a request's headers (RAG_HEADER_TIMEOUT); a slower "
        "one is closed (slowloris).",
    )
    body_timeout: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        allow_inf_nan=False,
        description="Seconds a request may take to send its body (RAG_BODY_TIMEOUT); a slower one gets 408.",
    )
    feedback_max_bytes: int = Field(
        default=20_000_000,
        ge=0,
        description="Size cap of feedback.jsonl in bytes (RAG_FEEDBACK_MAX_BYTES): once reached, votes are "
        "refused with a notice (0: no feedback is stored).",
    )
    openai_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("RAG_OPENAI_BASE_URL", "OPENAI_BASE_URL"),
        description="Base URL of an OpenAI-compatible endpoint: vLLM, Ollama, llama.cpp (OPENAI_BASE_URL).",
    )

    _folders = field_validator("data_dir", "model_cache_dir")(checks.a_folder)
    _home_expanded = field_validator("corpus_paths")(checks.home_expanded)
    _http_urls = field_validator("chroma_url", "openai_base_url")(checks.an_http_url)
    _chroma_root = field_validator("chroma_url")(checks.a_chroma_root)
    _service_key = field_validator("api_key")(checks.a_service_key)

    @property
    def llm_configured(self) -> bool:
        """True when an LLM endpoint is configured (key or base URL)."""
        return self.openai_api_key is not None or self.openai_base_url is not None

    @property
    def use_llm(self) -> bool:
        """Whether answers come from the LLM answerer."""
        return self.answerer == "llm" or (self.answerer == "auto" and self.llm_configured)


def env_names(field: str) -> list[str]:
    """The environment variables that set a field (``RAG_TOP_K``; both names of the aliased ones)."""
    return checks.env_names(Settings.model_fields, field)


def allowed_values(field: str) -> str:
    """What a field accepts, in words, from its declaration: choices, number kind and bounds, or a path."""
    return checks.allowed_values(Settings.model_fields, field)


def load_settings() -> Settings:
    """``Settings()`` from the environment; every invalid value is one ``ConfigError`` naming the variable,
    the value given and what is allowed (no pydantic traceback reaches the user)."""
    try:
        return Settings()
    except (ValidationError, SettingsError) as exc:
        error = checks.environment_error(Settings.model_fields, exc)
    raise error


_KNOWN_NAMES = checks.known_names(Settings.model_fields)
"""The keyword names ``Settings(...)`` takes: its fields and their environment aliases (``OPENAI_API_KEY``)."""


NOT_SETTINGS = frozenset({"RAG_TEST_INDEX", "RAG_TEST_LLM_CACHE", "RAG_UI_SCREENSHOT", "RAG_WHEEL_PROBE"})
"""``RAG_`` variables the tests and tools read, which are no settings."""


def ignored_variables(environ: Mapping[str, str]) -> list[str]:
    """A warning for each ``RAG_`` variable of ``environ`` that sets nothing (``RAG_TOPK`` for ``RAG_TOP_K``: it had
    been ignored without a word), and for each setting given under both its names."""
    names = {field: env_names(field) for field in Settings.model_fields}
    every = {name for given in names.values() for name in given}
    out = []
    for variable in sorted(v for v in environ if v.upper().startswith("RAG_") and v.upper() not in NOT_SETTINGS):
        if variable.upper() not in every:
            close = difflib.get_close_matches(variable.upper(), sorted(every), n=1, cutoff=0.75)
            hint = f" (did you mean {close[0]}?)" if close else ""
            out.append(f"{variable} is no setting and is ignored{hint}; the settings: docs/configuration.md")
    for given in names.values():
        both = [name for name in given if environ.get(name, "").strip()]
        if len(both) > 1:
            out.append(f"{' and '.join(both)} are both set; {both[0]} is used")
    return out

