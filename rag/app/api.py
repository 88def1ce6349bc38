"""The chatbot as an OpenAI-compatible API, on the web app's own port (``rag.app.serve`` mounts the UI beside it).

* ``GET /v1/models``: ``rag`` (the configured answerer), ``rag-extractive`` and, with an LLM, ``rag-llm``.
* ``POST /v1/chat/completions`` (``Content-Type: application/json``), streamed (SSE) or not. The body is one
  pydantic model (``rag.app.api_request``: which OpenAI fields are honoured, refused or ignored, and the
  ``k`` and filter extensions). ``messages`` become the chat history and the question (the last user
  message; system messages are ignored: the prompts are the app's own). The reply's content is the checked
  answer with its ``[n]`` markers, and each choice carries ``sources`` (marker, paper id, title, quoted
  sentence, verdict, support), ``answerer``, ``not_stated`` (the asked detail the cited abstracts do not
  state, or None) and ``notice`` (why the LLM's answer was replaced, or None).
  A stream sends its content once the answer is checked (SSE comments keep the connection alive meanwhile).
* Every refusal (bad body, field, model, question, ``k``, filter) is an HTTP 4xx in OpenAI's error shape
  ``{"error": {"message", "type", "param", "code"}}``, decided before any SSE byte is sent; no traceback.
  Unknown ``/v1`` paths get an OpenAI-shaped 404, a wrong method 405.
* A client that goes away (streamed or not) stops its answer at the next step.
* With ``RAG_API_KEY`` set, every ``/v1`` request needs ``Authorization: Bearer <key>`` (``rag.app.guard``
  checks it for the whole service; this module checks again when used on its own).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from rag.answer.roles import summary_sentences
from rag.app.api_request import ApiError, ChatRequest, parse_request, refusal
from rag.app.guard import authorised
from rag.app.live import LivePipeline
from rag.cancel import cancel_on
from rag.errors import Cancelled, ConfigError, IndexNotReadyError, IngestBusyError, QueryError, RagError
from rag.pipeline import Pipeline
from rag.stream import AnswerStream
from rag.types import Answer

log = logging.getLogger(__name__)

__all__ = ["ApiError", "completion", "create_api", "models", "sources"]

KEEPALIVE_SECONDS = 10.0
PIECE_WORDS = 8
ROUTES = {"/v1/models": "GET", "/v1/chat/completions": "POST"}


def models(pipeline: Pipeline) -> dict[str, str | None]:
    """Model ids served and the answerer each one asks for (None: the configured one)."""
    served: dict[str, str | None] = {"rag": None, "rag-extractive": "extractive"}
    if pipeline.llm_answerer is not None:
        served["rag-llm"] = "llm"
    return served


def sources(answer: Answer) -> list[dict[str, Any]]:
    """The cited sources of an answer, as each choice carries them."""
    return [
        {"marker": c.marker, "paper_id": c.paper.id, "title": c.paper.title, "quote": c.quote,
         "verdict": c.verdict, "support": c.support, "urls": list(c.paper.urls),
         "authors": list(c.paper.authors), "year": c.paper.year, "url": c.paper.url,
         "categories": list(c.paper.categories), "summary": summary_sentences(c.paper.abstract, c.roles)}
        for c in answer.citations
    ]


def _usage(answer: Answer) -> dict[str, int]:
    prompt, completion = answer.usage.prompt_tokens, answer.usage.completion_tokens
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _extras(answer: Answer) -> dict[str, Any]:
    return {"sources": sources(answer), "answerer": answer.answerer, "abstained": answer.abstained,
            "not_stated": answer.not_stated, "notice": answer.error}


def completion(answer: Answer, model: str, ident: str, created: int) -> dict[str, Any]:
    """A ``chat.completion`` object for an answer."""
    choice = {"index": 0, "message": {"role": "assistant", "content": answer.text}, "finish_reason": "stop",
              **_extras(answer)}
    return {"id": ident, "object": "chat.completion", "created": created, "model": model, "choices": [choice],
            "usage": _usage(answer)}


def problem(exc: BaseException) -> ApiError:
    """The API's refusal for any exception (no traceback, no internals for unexpected ones)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, QueryError | ConfigError):
        return ApiError(400, str(exc))
    if isinstance(exc, IngestBusyError | IndexNotReadyError):  # the index is being (re)built: retry later
        return ApiError(503, str(exc), "server_error")
    if isinstance(exc, RagError):
        return ApiError(500, str(exc), "server_error")
    log.error("chat completion failed: %s: %s", type(exc).__name__, exc)
    return ApiError(500, f"the server failed while answering ({type(exc).__name__}); see the server log and try "
                         "again", "server_error")


def _error_response(exc: BaseException) -> JSONResponse:
    error = problem(exc)
    return JSONResponse(error.body(), status_code=error.status)


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


def _single(exc: BaseException) -> BaseException:
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
    yield _sse(chunk({}, "stop", **_extras(answer)))
    if include_usage:
        yield _sse({"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                    "choices": [], "usage": _usage(answer)})
    yield _sse("[DONE]")


class ChatApi:
    """The ``/v1`` handlers over a pipeline (or a ``LivePipeline``, reopened after an ingest elsewhere)."""

    def __init__(self, pipeline: Pipeline | LivePipeline, api_key: str | None = None) -> None:
        self.pipeline, self.api_key = pipeline, api_key
        self.served = models(pipeline.pipeline if isinstance(pipeline, LivePipeline) else pipeline)

    def authorise(self, request: Request) -> None:
        if not authorised(self.api_key, request.headers):
            raise ApiError(401, "invalid or missing API key: send the RAG_API_KEY value as "
                                "'Authorization: Bearer <key>'", code="invalid_api_key")

    async def read(self, request: Request) -> ChatRequest:
        """The checked request: JSON content type, body, fields, model."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            raise ApiError(415, "send the request as JSON with 'Content-Type: application/json'",
                           code="unsupported_media_type")
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise ApiError(415, f"Content-Encoding {encoding[:40]!r} is not supported; send the body uncompressed",
                           code="unsupported_media_type")
        body = parse_request(await request.body())
        if body.model not in self.served:
            raise ApiError(404, f"the model {body.model[:80]!r} does not exist; GET /v1/models lists "
                                f"{', '.join(self.served)}", code="model_not_found", param="model")
        return body

    def start(self, body: ChatRequest) -> AnswerStream:
        """The answer stream, with every input checked by the pipeline (its errors raise here, before any work)."""
        question, history = body.conversation()
        pipeline = self.pipeline.current()[0] if isinstance(self.pipeline, LivePipeline) else self.pipeline
        try:
            return pipeline.stream(question, history, **body.options(self.served[body.model]))
        except (QueryError, ConfigError) as exc:  # a field refused: its name goes in ``param``
            raise refusal(exc) from None

    async def chat(self, request: Request) -> JSONResponse | StreamingResponse:
        try:
            self.authorise(request)
            body = await self.read(request)
            stream = await run_in_threadpool(self.start, body)
        except Exception as exc:
            return _error_response(exc)
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            events = stream_events(stream, body.model, include_usage)
            return StreamingResponse(events, media_type="text/event-stream", headers={"cache-control": "no-cache"})
        try:
            answer = await answer_unless_gone(request, stream)
        except Exception as exc:  # an index being rebuilt, a busy ingest, an LLM failure: as when streaming
            return _error_response(_single(exc))
        if answer is None:
            return _error_response(ApiError(499, "the client went away", code="client_closed"))
        return JSONResponse(completion(answer, body.model, f"chatcmpl-{uuid.uuid4().hex}", int(time.time())))

    async def list_models(self, request: Request) -> JSONResponse:
        try:
            self.authorise(request)
        except ApiError as exc:
            return _error_response(exc)
        data = [_model(name) for name in self.served]
        return JSONResponse({"object": "list", "data": data})

    async def retrieve_model(self, request: Request) -> JSONResponse:
        """``GET /v1/models/{id}`` (the SDK's ``client.models.retrieve``): the model, or a 404 naming those served."""
        try:
            self.authorise(request)
        except ApiError as exc:
            return _error_response(exc)
        name = request.path_params["model"]
        if name not in self.served:
            served = ", ".join(self.served)
            return _error_response(ApiError(404, f"no model {name[:100]!r}; this server serves {served}",
                                            param="model", code="model_not_found"))
        return JSONResponse(_model(name))


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "rag"}


def _method_of(path: str) -> str | None:
    """The method a ``/v1`` path takes (``/v1/models/{id}`` too); None for an unknown path."""
    if path.startswith("/v1/models/") and path.count("/") == 3:
        return "GET"
    return ROUTES.get(path)


async def not_found(request: Request) -> JSONResponse:
    """OpenAI-shaped 404 for an unknown ``/v1`` path, 405 for a known one asked with the wrong method."""
    path, method = request.url.path.rstrip("/"), _method_of(request.url.path.rstrip("/"))
    if method is not None and path != request.url.path and request.method == method:
        error = ApiError(404, f"no such route {request.url.path[:100]!r}; drop the trailing slash: {path}",
                         code="not_found")  # fmt: skip
        return JSONResponse(error.body(), status_code=404)
    if method is not None:
        error = ApiError(405, f"{path[:100]} takes {method}, not {request.method}", code="method_not_allowed")
        return JSONResponse(error.body(), status_code=405, headers={"allow": method})
    error = ApiError(404, f"no such route {path[:100]!r}; this server has {', '.join(ROUTES)}", code="not_found")
    return JSONResponse(error.body(), status_code=404)


def create_api(
    pipeline: Pipeline | LivePipeline, api_key: str | None = None, app: FastAPI | None = None
) -> FastAPI:
    """Add the ``/v1`` routes to ``app`` (a new FastAPI app if None) and return it. With ``api_key``, every
    ``/v1`` request needs ``Authorization: Bearer <api_key>``. Given a ``LivePipeline``, each request answers
    over the index as it is now (reopened after an ingest in another process)."""
    app = app or FastAPI(title="rag", docs_url=None, redoc_url=None, openapi_url=None)
    api = ChatApi(pipeline, api_key)
    routes: list[tuple[str, Callable[..., Any], list[str]]] = [
        ("/v1/models", api.list_models, ["GET", "HEAD"]),
        ("/v1/models/{model}", api.retrieve_model, ["GET", "HEAD"]),
        ("/v1/chat/completions", api.chat, ["POST"]),
        ("/v1/{rest:path}", not_found, ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
        ("/v1", not_found, ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
    ]
    for path, handler, methods in routes:
        app.add_api_route(path, handler, methods=methods, response_model=None, include_in_schema=False)
    return app
