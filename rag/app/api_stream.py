"""Answering off the event loop for the ``/v1`` API: the answer is made in a worker thread and stopped at its next
step once the client goes away (``produce``, ``answer_unless_gone``), and a streamed completion is sent as SSE
events with keep-alive comments while the answer is made and checked (``stream_events``)."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import Request

from rag.app.api_reply import extras, problem, usage
from rag.cancel import cancel_on
from rag.errors import Cancelled
from rag.stream import AnswerStream
from rag.types import Answer

KEEPALIVE_SECONDS = 10.0
PIECE_WORDS = 8


def _work(stream: AnswerStream, cancelled: threading.Event) -> Answer:
    """Produce the answer in a worker thread, stopping at the next step once ``cancelled`` is set; an LLM that
    is still connecting or holding a sentence back is stopped at its next wait (``rag.cancel``)."""
    with cancel_on(cancelled):
        for _ in stream:
            if cancelled.is_set():
                stream.close()
                raise Cancelled("the client went away")
        return stream.answer


async def produce(stream: AnswerStream) -> Answer:
    """The stream's answer; if the awaiting task is cancelled (the client went away), the work stops."""
    cancelled = threading.Event()
    try:
        return await anyio.to_thread.run_sync(_work, stream, cancelled, abandon_on_cancel=True)
    finally:
        cancelled.set()


async def answer_unless_gone(request: Request, stream: AnswerStream) -> Answer | None:
    """The answer, or None if the client disconnected first (then the work is stopped)."""
    result: list[Answer] = []
    async with anyio.create_task_group() as group:

        async def watch() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass
            group.cancel_scope.cancel()

        async def run() -> None:
            result.append(await produce(stream))
            group.cancel_scope.cancel()

        group.start_soon(watch)
        group.start_soon(run)
    return result[0] if result else None


def single(exc: BaseException) -> BaseException:
    """The error inside a task group's ``ExceptionGroup`` of one (what the answer raised), else ``exc``."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _sse(data: dict[str, Any] | str) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n"


async def stream_events(stream: AnswerStream, model: str, include_usage: bool) -> AsyncIterator[str]:
    """The SSE events of a streamed completion: a role chunk, keep-alive comments while the answer is made
    and checked, its content in pieces, a final chunk with ``sources``, optionally usage, ``[DONE]``."""
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, **extra}
        return {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [choice]}

    yield _sse(chunk({"role": "assistant", "content": ""}))
    task = asyncio.ensure_future(produce(stream))
    try:  # closing the generator (the client went away) cancels the task, which stops the work
        while not (await asyncio.wait({task}, timeout=KEEPALIVE_SECONDS))[0]:
            yield ": keep-alive\n\n"
    finally:
        task.cancel()
    result: list[Answer | BaseException] = [task.exception() or task.result()]
    if isinstance(result[0], BaseException):
        yield _sse(problem(result[0]).body())
        yield _sse("[DONE]")
        return
    answer = result[0]
    pieces = re.findall(r"\s*\S+", answer.text)
    for start in range(0, len(pieces), PIECE_WORDS):
        yield _sse(chunk({"content": "".join(pieces[start : start + PIECE_WORDS])}))
    yield _sse(chunk({}, "stop", **extras(answer)))
    if include_usage:
        yield _sse({"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                    "choices": [], "usage": usage(answer)})
    yield _sse("[DONE]")
