"""The wire side of the LLM answerer: the ``openai`` client, a deadline per answer, readable errors.

* ``within`` runs a request (connect, retries, every streamed chunk) in a worker thread and gives up at a
  ``Deadline``: a server that trickles one token every few seconds cannot stretch an answer past
  ``RAG_LLM_TIMEOUT``, as a per-read timeout would let it.
* ``to_llm_error`` turns any client failure into an ``LLMError`` saying which setting to check, and
  ``redact`` removes the API keys, ``Authorization`` values and ``sk-…`` tokens from it (some endpoints
  echo the request headers in their error body).
"""

from __future__ import annotations

import contextlib
import queue
import random
import re
import threading
import time
from collections.abc import Callable, Generator, Iterable
from typing import Any, TypeVar

from rag.cancel import cancelled
from rag.errors import Cancelled, LLMError, public_url, redact
from rag.settings import Settings
from rag.text import is_html

T = TypeVar("T")

CANCEL_POLL = 0.2
"""Seconds between checks, while waiting on the LLM, that the request was not cancelled (``rag.cancel``)."""
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_BACKOFF = 20.0
CONTEXT_TOO_LONG = ("context length", "context_length", "maximum context", "context window", "too many tokens",
                    "prompt is too long", "input is too long", "exceeds the context")


def secrets_of(settings: Settings) -> tuple[str, ...]:
    """The secret values of the settings (LLM key, API key), for ``redact``."""
    values = (settings.openai_api_key, settings.api_key)
    return tuple(v.get_secret_value() for v in values if v is not None and len(v.get_secret_value()) >= 4)



def make_llm_client(settings: Settings) -> Any:
    """The ``openai`` client for the configured endpoint, or None when no LLM is configured.

    The client's own retries are off (``max_retries=0``): ``LLMAnswerer`` retries with backoff itself,
    inside the answer's deadline (``rag.answer.calls``)."""
    if not settings.llm_configured:
        return None
    from openai import OpenAI

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    return OpenAI(api_key=key, base_url=settings.openai_base_url, timeout=settings.llm_timeout, max_retries=0)


class Deadline:
    """A point in time ``seconds`` from now."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self.end = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self.end - self.clock())


def endpoint(settings: Settings) -> str:
    """The LLM endpoint as errors name it: its URL without credentials or query (``public_url``)."""
    return public_url(settings.openai_base_url) if settings.openai_base_url else "the OpenAI API"


def deadline_error(settings: Settings) -> LLMError:
    where = endpoint(settings)
    return LLMError(
        f"the LLM at {where} did not finish its answer within {settings.llm_timeout:g}s (RAG_LLM_TIMEOUT is a "
        "deadline for connecting, the first token and the whole stream); raise RAG_LLM_TIMEOUT, lower "
        "RAG_LLM_MAX_TOKENS, or use a faster server or model"
    )


def within(
    deadline: Deadline, produce: Callable[[], Iterable[T]], expired: Callable[[], LLMError]
) -> Generator[T, None, None]:
    """The items of ``produce()``, which runs in a daemon worker thread, until ``deadline``: then
    ``expired()`` is raised (the worker is told to stop and its stream closed). An exception in the worker
    is re-raised here. Closing this generator early stops the worker too, and so does the request's
    cancellation (``rag.cancel``), checked every ``CANCEL_POLL`` seconds: it raises ``Cancelled``."""
    items: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()
    opened: list[Any] = []

    def work() -> None:
        try:
            source = produce()
            opened.append(source)
            for item in source:
                if stop.is_set():
                    break
                items.put(("item", item))
            else:
                items.put(("end", None))
            if stop.is_set():  # the consumer gave up (deadline, cancel) while this stream was opening or read
                _quietly(getattr(source, "close", lambda: None))
        except BaseException as exc:  # handed to the consumer, which decides
            items.put(("error", exc))

    threading.Thread(target=work, name="llm-request", daemon=True).start()
    try:
        while True:
            remaining = deadline.remaining()
            if remaining <= 0:
                raise expired()
            if cancelled():
                raise Cancelled("the client went away; the LLM request was closed")
            try:
                kind, value = items.get(timeout=min(remaining, CANCEL_POLL))
            except queue.Empty:
                continue
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        for source in opened:
            close = getattr(source, "close", None)
            if callable(close):  # in the background: closing can wait for the worker's read to return
                threading.Thread(target=_quietly, args=(close,), name="llm-close", daemon=True).start()


def _quietly(close: Callable[[], Any]) -> None:
    """Best effort: the worker also has the client's read timeout."""
    with contextlib.suppress(Exception):
        close()


def backoff(attempt: int, exc: BaseException) -> float:
    """Seconds to wait before retry ``attempt + 1``: the server's ``Retry-After`` if it sent one, else
    exponential with jitter, at most ``MAX_BACKOFF``."""
    response = getattr(exc, "response", None)
    try:
        retry_after = float(response.headers.get("retry-after", "")) if response is not None else None
    except (TypeError, ValueError):
        retry_after = None
    if retry_after is not None and retry_after >= 0:
        return min(retry_after, MAX_BACKOFF)
    return min(0.5 * 2**attempt, MAX_BACKOFF) * (1 + 0.25 * random.random())


def status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _message(exc: BaseException) -> str:
    """The server's own words, on one line: the ``error.message`` of a JSON body, the ``<title>`` of an HTML
    error page (a proxy's "502 Bad Gateway"), anything before a traceback."""
    body = getattr(exc, "body", None)
    text = str(getattr(exc, "message", None) or exc)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            text = str(inner["message"])
    if is_html(text):
        title = _TITLE.search(text)
        text = title.group(1) if title else re.sub(r"<[^>]*>", " ", text)
    text = text.split("Traceback (most recent call last)")[0]
    return " ".join(text.split()) or type(exc).__name__


def to_llm_error(exc: BaseException, settings: Settings, attempts: int = 1) -> LLMError:
    """An ``LLMError`` that says what failed and which setting to check, with every secret redacted."""
    return LLMError(redact(_describe(exc, settings, attempts), secrets_of(settings)))


def _describe(exc: BaseException, settings: Settings, attempts: int) -> str:
    import openai

    where = endpoint(settings)
    detail = redact(_message(exc), secrets_of(settings))[:300]
    lower = detail.lower()
    status = status_of(exc)
    tried = f" after {attempts} attempts" if attempts > 1 else ""
    if isinstance(exc, openai.APITimeoutError):
        return (f"the LLM at {where} did not answer within {settings.llm_timeout:g}s; "
                "raise RAG_LLM_TIMEOUT or check the server")
    if isinstance(exc, openai.APIConnectionError):
        return (f"cannot reach the LLM server at {where}{tried} ({detail}); "
                "check OPENAI_BASE_URL and that the server is running")
    if status in (401, 403):
        return f"the LLM endpoint {where} rejected the API key ({status}: {detail}); check OPENAI_API_KEY"
    if status == 413 or any(s in lower for s in CONTEXT_TOO_LONG):
        return (f"the prompt is too long for model {settings.llm_model!r} ({detail}); "
                "lower RAG_CONTEXT_TOKENS or the number of sources (k)")
    if status == 404 or (status == 400 and "model" in lower and any(
        s in lower for s in ("not found", "does not exist", "unknown", "invalid model", "not exist")
    )):
        return (f"model {settings.llm_model!r} is not available at {where} ({status}: {detail}); "
                "set RAG_LLM_MODEL to a model the server serves (or check OPENAI_BASE_URL)")
    if status == 429:
        return (f"the LLM endpoint is rate-limiting requests (429){tried}: {detail}; "
                "wait and retry, or raise RAG_LLM_MAX_RETRIES")
    if status is not None and status >= 500:
        return f"the LLM server at {where} failed ({status}){tried}: {detail}; retry later or check the server logs"
    if status is None and isinstance(exc, openai.APIError):  # an error event in the stream
        return f"the LLM server at {where} reported an error: {detail}; retry later or check the server logs"
    if status is not None:
        return (f"the LLM endpoint refused the request ({status}: {detail}); check RAG_LLM_MODEL "
                "and that OPENAI_BASE_URL is an OpenAI-compatible /v1 endpoint")
    return (f"the LLM at {where} sent a malformed response ({type(exc).__name__}: {detail}); "
            "check that OPENAI_BASE_URL is an OpenAI-compatible /v1 endpoint")
