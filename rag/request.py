"""What a caller may ask for, checked before any work starts: the question, the history, ``k``, the filters.

Every check raises ``QueryError`` with a message saying what to send instead. The filters are checked and
matched in ``rag.filters`` (``FILTERS``, ``filter_key``, ``PaperFilter``, re-exported here).
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Mapping
from typing import TYPE_CHECKING

from rag.errors import QueryError
from rag.filters import FILTERS, FilterKey, PaperFilter, filter_key
from rag.text import drop_escapes, printable

if TYPE_CHECKING:
    from rag.answer.base import Answerer

__all__ = [
    "FILTERS", "HISTORY_TURNS", "IGNORED_ROLES", "MAX_QUERY_CHARS", "MAX_SEARCH_K", "MAX_SOURCES", "MAX_TURN_CHARS",
    "FilterKey", "PaperFilter", "Request", "clean_history", "clean_k", "clean_query", "filter_key",
]  # fmt: skip

MAX_QUERY_CHARS = 5000
MAX_SOURCES = 20
"""Upper bound of ``k`` for ``ask``/``stream`` (the sources given to the answerer; also ``RAG_TOP_K``'s bound)."""
MAX_SEARCH_K = 100
"""Upper bound of ``k`` for ``search``."""


def clean_query(query: object) -> str:
    """A usable query string, or a ``QueryError`` saying what is wrong: not text, longer than
    ``MAX_QUERY_CHARS``, or nothing but whitespace and control/format characters. Cheap: callers run it
    before opening any index or model. Control characters become spaces."""
    if not isinstance(query, str):
        raise QueryError(f"the question must be text, not {type(query).__name__}")
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(
            f"the question is {len(query):,} characters; the limit is {MAX_QUERY_CHARS:,}. Ask a shorter question"
        )
    text = printable(query)
    if not text:
        raise QueryError("the question is empty; type a question about the papers")
    if not any(ch.isalnum() or unicodedata.category(ch) == "Sm" for ch in text):  # "🤖🤖🤖", "?!" (not "∇?")
        raise QueryError("the question has no words; type a question about the papers")
    return text


HISTORY_TURNS = 6
"""Turns of a history that are read: the last six (the LLM answerer's window, ``rag.answer.llm``; the
extractive one reads only the last user and assistant turns). Earlier turns are dropped unread."""
MAX_HISTORY_SCANNED = 100_000
"""History entries looked at, newest first, for the ``HISTORY_TURNS`` turns (system and tool messages between
them are skipped at a dict lookup each; /v1 bodies are capped long before this)."""
MAX_TURN_CHARS = 10_000
"""Characters of a turn's content that are kept: a longer turn is cut to its first ``MAX_TURN_CHARS`` (an
answer's opening holds its markers; the LLM sees at most a few hundred tokens of a turn anyway)."""


IGNORED_ROLES = ("system", "developer", "tool")
"""Roles of an OpenAI-style message list that a history may hold and that are skipped: they are not turns."""


def clean_history(history: object) -> list[dict[str, str]]:
    """Validated chat history: a list of ``{"role": "user"|"assistant", "content": str}``, bounded: only the
    last ``HISTORY_TURNS`` turns are read and kept, each cut to ``MAX_TURN_CHARS`` characters, so a history of
    any length costs the same (a bad turn among the ones read raises ``QueryError`` with its index). System,
    developer and tool messages (``IGNORED_ROLES``) and assistant tool calls (no content) are skipped, and do
    not count towards the window (of the last ``MAX_HISTORY_SCANNED`` entries; 47 tool messages after the last
    answer had hidden the chat); a content given as OpenAI's list of text parts is their text."""
    if history is None:
        return []
    if not isinstance(history, list | tuple):
        raise QueryError("history must be a list of {'role': 'user'|'assistant', 'content': str} dicts", "history")
    turns: list[dict[str, str]] = []
    for i in range(len(history) - 1, max(-1, len(history) - 1 - MAX_HISTORY_SCANNED), -1):  # newest first, bounded
        turn = history[i]
        if isinstance(turn, Mapping) and (turn.get("role") in IGNORED_ROLES or
                                          (turn.get("content") is None and "tool_calls" in turn)):
            continue  # an OpenAI-style message list as it is: instructions, tool calls and output are not turns
        if not isinstance(turn, Mapping) or turn.get("role") not in ("user", "assistant"):
            raise QueryError(f"history[{i}] must be a dict with role 'user' or 'assistant' and a content string",
                             "history")
        content = _text_of(turn.get("content"))
        if content is None:
            raise QueryError(f"history[{i}]['content'] must be a string (or a list of text parts)", "history")
        turns.append({"role": str(turn["role"]), "content": drop_escapes(content[:MAX_TURN_CHARS])})
        if len(turns) == HISTORY_TURNS:
            break
    return turns[::-1]


def _text_of(content: object) -> str | None:
    """A turn's text: a string, or OpenAI's list of ``{"type": "text", "text": ...}`` parts, one per line ("What
    is" and "sparsemax?" are two words, as vLLM reads them); else None."""
    if isinstance(content, str):
        return content
    if isinstance(content, list | tuple) and all(isinstance(p, Mapping) for p in content):
        texts = [p.get("text") for p in content if p.get("type") == "text"]
        return "\n".join(texts) if all(isinstance(t, str) for t in texts) else None  # joined as /v1 joins them
    return None


def clean_k(k: object, upper: int, default: int) -> int:
    """``k`` as an int in ``1..upper`` (``default`` when None), or a ``QueryError`` naming the range."""
    if k is None:
        return default
    if isinstance(k, bool) or not isinstance(k, int):
        raise QueryError(f"k must be a whole number from 1 to {upper}, not {k!r}", "k")
    if not 1 <= k <= upper:
        raise QueryError(f"k={k} is out of range; ask for 1 to {upper} papers", "k")
    return k



@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    """One checked question: everything ``Pipeline.stream`` needs beyond the shared, read-only pipeline."""

    question: str
    """The question as asked, checked (``clean_query``)."""
    history: tuple[dict[str, str], ...]
    k: int
    answerer: Answerer
    filters: FilterKey
    """Checked, in canonical form (``filter_key``)."""
    asked: str = ""
    """The question as the answerer reads it: a link naming an indexed paper replaced by its title
    (``rag.retrieve.links.LinkIndex.resolve``) and its lower-case coined names cased as the corpus writes them
    (``rag.retrieve.casing``); the question itself when empty."""
