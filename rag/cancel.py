"""Cooperative cancellation of one request's work, shared by the edge that learns of it and the code that waits.

The ``/v1`` API runs an answer in a worker thread; when its client hangs up it sets an event. The LLM's waits
(``rag.answer.transport.within``: connecting, the first token, every chunk) check it a few times a second and
raise ``rag.errors.Cancelled``, closing the LLM connection, even while no sentence is ready to stream. An
``AnswerStream`` has an event of its own, set by ``close()`` from any thread (the chat's Clear button)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_EVENTS: ContextVar[tuple[threading.Event, ...]] = ContextVar("rag_cancel_events", default=())


@contextmanager
def cancel_on(event: threading.Event) -> Iterator[None]:
    """Work done in this block (in this thread) stops at its next wait once ``event`` is set, or any event of an
    enclosing block (a closed ``AnswerStream`` inside a ``/v1`` request whose client hung up)."""
    token = _EVENTS.set((*_EVENTS.get(), event))
    try:
        yield
    finally:
        _EVENTS.reset(token)


def cancelled() -> bool:
    """Whether the current request's work should stop (False outside ``cancel_on``)."""
    return any(event.is_set() for event in _EVENTS.get())
