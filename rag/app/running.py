"""The answer each browser session is streaming, so that Clear or leaving the page stops it, LLM request and all.

Gradio cancels a streaming event by dropping its task, but the worker thread inside it keeps waiting for the LLM
(a reviewer measured 12 s, and up to ``RAG_LLM_TIMEOUT``), and the page ignores the next question meanwhile
(the chat event runs once at a time). ``Running.stop(session)`` closes that session's ``AnswerStream``, whose wait
ends within a fraction of a second (``rag.cancel``)."""

from __future__ import annotations

import threading
from typing import Any

from rag.stream import AnswerStream


def session_of(request: Any) -> str | None:
    """The browser session a Gradio request comes from (None outside a page: the API, a test)."""
    session = getattr(request, "session_hash", None)
    return session if isinstance(session, str) and session else None


class Running:
    """Session -> the ``AnswerStream`` it is reading. Safe to share between threads."""

    def __init__(self) -> None:
        self._streams: dict[str, AnswerStream] = {}
        self._lock = threading.Lock()

    def start(self, session: str | None, stream: AnswerStream) -> None:
        if session is not None:
            with self._lock:
                self._streams[session] = stream

    def end(self, session: str | None, stream: AnswerStream) -> None:
        """Forget ``stream`` once read (not a newer one of the same session)."""
        with self._lock:
            if session is not None and self._streams.get(session) is stream:
                del self._streams[session]

    def stop(self, session: str | None) -> bool:
        """Close the session's unfinished answer; whether there was one."""
        with self._lock:
            stream = self._streams.pop(session, None) if session is not None else None
        if stream is None:
            return False
        stream.close()
        return True
