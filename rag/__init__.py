"""Question answering over ML paper abstracts, with verified citations.

``rag.search``, ``rag.ask`` and ``rag.stream`` work out of the box: the first call opens the index
in ``RAG_DATA_DIR`` (building it from the bundled corpus if missing) and loads the models once::

    import rag

    hits = rag.search("sparse autoencoders", k=5, listing_date="Mar 21")
    answer = rag.ask("What does MaxSup penalize?", k=3)          # Answer: text with [n], citations
    stream = rag.stream("And how is it evaluated?", history=[...])
    for chunk in stream:
        print(chunk, end="")
    print(stream.answer.citations)

``rag.use_pipeline(p)`` makes an already open ``Pipeline`` the one these functions use (a custom index or
embedder, tests); ``rag.default_pipeline()`` returns it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Unpack

from rag.errors import ConfigError, CorpusError, IndexNotReadyError, LLMError, QueryError, RagError
from rag.stream import AnswerStream
from rag.types import Answer, AnswererName, Chunk, Citation, Filters, Hit, Paper, Retrieved

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

__all__ = [
    "Answer", "AnswerStream", "AnswererName", "Chunk", "Citation", "ConfigError", "CorpusError", "Filters", "Hit",
    "IndexNotReadyError", "LLMError", "Paper", "QueryError", "RagError", "Retrieved", "ask", "default_pipeline",
    "search", "stream", "use_pipeline",
]  # fmt: skip

_lock = threading.Lock()
_pipeline: Pipeline | None = None


def default_pipeline() -> Pipeline:
    """The pipeline ``search``/``ask``/``stream`` use: the one given to ``use_pipeline``, else one built
    from the environment's settings (opened once, on first use)."""
    global _pipeline
    with _lock:
        if _pipeline is None:
            from rag.answer.llm import make_llm_client
            from rag.pipeline import Pipeline
            from rag.settings import load_settings

            settings = load_settings()  # an invalid variable is a ConfigError naming it, not a pydantic trace
            _pipeline = Pipeline.open(settings, llm_client=make_llm_client(settings))
        return _pipeline


def use_pipeline(pipeline: Pipeline | None) -> Pipeline | None:
    """Make ``pipeline`` the default one (None: back to opening one from the environment on next use).

    Returns the previous default, so a caller can restore it."""
    global _pipeline
    with _lock:
        previous, _pipeline = _pipeline, pipeline
        return previous


def search(query: str, k: int = 10, **filters: Unpack[Filters]) -> list[Hit]:
    """The ``k`` best papers for ``query``, best first. Filters (``rag.request.FILTERS``):
    ``since``, ``until``, ``author``, ``category``, ``listing_date``, ``source``."""
    return default_pipeline().search(query, k, **filters)


def ask(
    question: str,
    history: Sequence[Mapping[str, str]] | None = None,
    *,
    k: int | None = None,
    answerer: AnswererName | None = None,
    **filters: Unpack[Filters],
) -> Answer:
    """Answer ``question`` (optionally following ``history``, a list of ``{"role", "content"}`` turns) with
    checked ``[n]`` citations from ``k`` sources. ``answerer``: "extractive", "llm" or None (configured)."""
    return default_pipeline().ask(question, history, k=k, answerer=answerer, **filters)


def stream(
    question: str,
    history: Sequence[Mapping[str, str]] | None = None,
    *,
    k: int | None = None,
    answerer: AnswererName | None = None,
    **filters: Unpack[Filters],
) -> AnswerStream:
    """Like ``ask``, as an ``AnswerStream``: iterate for text chunks, then read ``.answer``."""
    return default_pipeline().stream(question, history, k=k, answerer=answerer, **filters)
