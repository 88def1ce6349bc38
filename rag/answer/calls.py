"""Calls to an OpenAI-compatible chat endpoint, for the LLM answerer (``rag.answer.llm``).

Every call runs inside a ``Deadline`` (``RAG_LLM_TIMEOUT``): 429/5xx/connection failures are retried with
backoff within it (``RAG_LLM_MAX_RETRIES``), a parameter the endpoint names as unsupported is dropped or
renamed and the call made again, and every failure becomes an ``LLMError`` (``transport.to_llm_error``). The
wire itself (the worker thread, the deadline, readable errors) is ``rag.answer.transport``'s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import Any

from rag.answer.transport import (
    RETRY_STATUSES,
    Deadline,
    backoff,
    deadline_error,
    status_of,
    to_llm_error,
    within,
)
from rag.errors import Cancelled, LLMError
from rag.settings import Settings


class ChatCalls:
    """``chat.completions.create`` on ``client`` for the configured model, retried and within a deadline."""

    def __init__(self, settings: Settings, client: Any, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.client = client
        self.sleep = sleep

    def create(self, deadline: Deadline, **request: Any) -> Any:
        """``chat.completions.create`` with retries and backoff on 429/5xx/connection errors, each attempt
        and wait inside ``deadline``."""
        import openai

        attempts = self.settings.llm_max_retries + 1
        for attempt in range(attempts):
            try:
                timeout = max(deadline.remaining(), 0.1)
                return self.client.chat.completions.create(model=self.settings.llm_model, timeout=timeout, **request)
            except openai.APITimeoutError as exc:
                raise to_llm_error(exc, self.settings, attempt + 1) from None
            except (openai.APIConnectionError, openai.APIStatusError) as exc:
                status = status_of(exc)
                retryable = isinstance(exc, openai.APIConnectionError) or status in RETRY_STATUSES
                wait = backoff(attempt, exc)
                if not retryable or attempt + 1 >= attempts or wait >= deadline.remaining():
                    raise to_llm_error(exc, self.settings, attempt + 1) from None
                self.sleep(wait)
            except Exception as exc:  # a body the client could not parse
                raise to_llm_error(exc, self.settings, attempt + 1) from None
        raise LLMError("unreachable")  # pragma: no cover

    def create_compatible(self, deadline: Deadline, request: dict[str, Any]) -> Any:
        """``create``, retried once for each parameter an endpoint names as unsupported: ``stream_options``
        (older servers) is dropped, ``max_tokens`` becomes ``max_completion_tokens`` and ``temperature`` is
        dropped (OpenAI's reasoning models accept neither)."""
        request = dict(request)
        while True:
            try:
                return self.create(deadline, **request)
            except LLMError as exc:
                text = str(exc)
                if "stream_options" in request and "stream_options" in text:
                    request.pop("stream_options")
                elif "max_tokens" in request and "max_completion_tokens" in text:
                    request["max_completion_tokens"] = request.pop("max_tokens")
                elif "temperature" in request and "temperature" in text and "refused the request" in text:
                    request.pop("temperature")  # reasoning models take only their default temperature
                else:
                    raise

    def complete(self, request: dict[str, Any]) -> Any:
        """One response to a non-streamed ``request``, under a deadline of its own (``RAG_LLM_TIMEOUT``)."""
        deadline = Deadline(self.settings.llm_timeout)
        calls = within(deadline, lambda: [self.create_compatible(deadline, request)], self.expired)
        try:
            return next(calls)
        finally:
            calls.close()

    def expired(self) -> LLMError:
        return deadline_error(self.settings)

    def open_stream(self, messages: list[dict[str, str]], deadline: Deadline) -> Any:
        request: dict[str, Any] = {"messages": messages, "stream": True, "temperature": 0,
                                   "max_tokens": self.settings.llm_max_tokens,
                                   "stream_options": {"include_usage": True}}
        return self.create_compatible(deadline, request)

    def deltas(self, messages: list[dict[str, str]], usage: list[Any], ends: list[str]) -> Generator[str, None, None]:
        """The text deltas of one streamed answer, within the answer's deadline (usage chunks go to ``usage``,
        finish reasons to ``ends``)."""
        deadline = Deadline(self.settings.llm_timeout)
        chunks = within(deadline, lambda: self.open_stream(messages, deadline), self.expired)
        try:
            for chunk in chunks:
                if getattr(chunk, "usage", None):
                    usage.append(chunk.usage)
                for choice in getattr(chunk, "choices", None) or ():
                    if getattr(choice, "finish_reason", None):
                        ends.append(str(choice.finish_reason))
                    delta = getattr(choice.delta, "content", None) if choice.delta is not None else None
                    if delta:
                        yield str(delta)
        except (LLMError, Cancelled):  # Cancelled: the client went away (rag.cancel)
            raise
        except Exception as exc:  # connection dropped, timeout, or garbage mid-stream
            raise to_llm_error(exc, self.settings) from None
        finally:
            chunks.close()
