"""Cooperative cancellation of one request's work, shared by the edge that learns of it and the code that waits.

The ``/v1`` API runs an answer in a worker thread; when its client hangs up it sets an event. The LLM's waits
(``rag.answer.transport.within``: connecting, the first token, every chunk) check it a few times a second and
raise ``rag.errors.Cancelled``, closing the LLM connection, even while no sentence is ready to stream."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_EVENT: ContextVar[threading.Event | None] = ContextVar("rag_cancel_event", default=None)


@contextmanager
def cancel_on(event: threading.Event) -> Iterator[None]:
    """Work done in this block (in this thread) stops at its next wait once ``event`` is set."""
    token = _EVENT.set(event)
    try:
        yield
    finally:
        _EVENT.reset(token)


def cancelled() -> bool:
    """Whether the current request's work should stop (False outside ``cancel_on``)."""
    event = _EVENT.get()
    return event is not None and event.is_set()
