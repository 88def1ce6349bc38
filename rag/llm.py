"""The LLM answerer: any OpenAI-compatible endpoint (placeholder until the answers issue)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from rag.embeddings import Embedder
from rag.errors import LLMError
from rag.settings import Settings
from rag.types import Answer, Retrieved


def make_client(settings: Settings) -> Any:
    """The ``openai`` client for the configured endpoint, or None when no LLM is configured."""
    if not settings.llm_configured:
        return None
    from openai import OpenAI

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    return OpenAI(api_key=key, base_url=settings.openai_base_url, timeout=settings.llm_timeout, max_retries=0)


class LLMAnswerer:
    def __init__(self, settings: Settings, client: Any, embedder: Embedder) -> None:
        self.settings = settings
        self.client = client
        self.embedder = embedder
        self.name = f"llm:{settings.llm_model}"

    def condense(self, question: str, history: Sequence[dict[str, str]]) -> str:
        return question

    def stream(
        self, question: str, retrieved: Retrieved, history: Sequence[dict[str, str]]
    ) -> Iterator[str | Answer]:
        raise LLMError("the LLM answerer is not built yet")
