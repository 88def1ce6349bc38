"""Question answering over ML paper abstracts, with verified citations.

``rag.search``, ``rag.ask`` and ``rag.stream`` work out of the box: the first call opens the index
in ``RAG_DATA_DIR`` (building it from the bundled corpus if missing) and loads the models once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from rag.errors import ConfigError, CorpusError, IndexNotReadyError, LLMError, QueryError, RagError
from rag.types import Answer, Chunk, Citation, Hit, Paper, Retrieved

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

__all__ = [
    "Answer", "Chunk", "Citation", "ConfigError", "CorpusError", "Hit", "IndexNotReadyError", "LLMError",
    "Paper", "QueryError", "RagError", "Retrieved", "ask", "default_pipeline", "search", "stream",
]

_lock = threading.Lock()
_pipeline: Pipeline | None = None


def default_pipeline() -> Pipeline:
    """The process-wide pipeline built from the environment's settings (opened once)."""
    global _pipeline
    with _lock:
        if _pipeline is None:
            from rag.answer.llm import make_client
            from rag.pipeline import Pipeline
            from rag.settings import Settings

            settings = Settings()
            _pipeline = Pipeline.open(settings, llm_client=make_client(settings))
        return _pipeline


def search(query: str, k: int = 10, **filters: Any) -> list[Hit]:
    """The ``k`` best papers for ``query``. Filters: ``listing_date``, ``source``."""
    return default_pipeline().search(query, k, **filters)


def ask(question: str, history: Sequence[dict[str, str]] | None = None, **options: Any) -> Answer:
    """Answer ``question`` (optionally following ``history``) with checked ``[n]`` citations."""
    return default_pipeline().ask(question, list(history or []), **options)


def stream(question: str, history: Sequence[dict[str, str]] | None = None, **options: Any) -> Iterator[str | Answer]:
    """Text deltas of the answer, then the final ``Answer``."""
    return default_pipeline().stream(question, list(history or []), **options)
