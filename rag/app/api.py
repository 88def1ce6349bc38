"""The chatbot as an OpenAI-compatible API, on the web app's own port (``rag.app.serve`` mounts the UI beside it).

This module holds the routes and their handlers; the reply shapes are in ``rag.app.api_reply``, the answering
off the event loop and the SSE events in ``rag.app.api_stream``.

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

import time
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from rag.app.api_reply import completion, error_response, model_object, models, sources
from rag.app.api_request import ApiError, ChatRequest, parse_request, refusal
from rag.app.api_stream import answer_unless_gone, single, stream_events
from rag.app.guard import authorised
from rag.app.live import LivePipeline
from rag.errors import ConfigError, QueryError
from rag.pipeline import Pipeline
from rag.stream import AnswerStream

__all__ = ["ApiError", "completion", "create_api", "models", "sources"]

ROUTES = {"/v1/models": "GET", "/v1/chat/completions": "POST"}


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
            return error_response(exc)
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            events = stream_events(stream, body.model, include_usage)
            return StreamingResponse(events, media_type="text/event-stream", headers={"cache-control": "no-cache"})
        try:
            answer = await answer_unless_gone(request, stream)
        except Exception as exc:  # an index being rebuilt, a busy ingest, an LLM failure: as when streaming
            return error_response(single(exc))
        if answer is None:
            return error_response(ApiError(499, "the client went away", code="client_closed"))
        return JSONResponse(completion(answer, body.model, f"chatcmpl-{uuid.uuid4().hex}", int(time.time())))

    async def list_models(self, request: Request) -> JSONResponse:
        try:
            self.authorise(request)
        except ApiError as exc:
            return error_response(exc)
        data = [model_object(name) for name in self.served]
        return JSONResponse({"object": "list", "data": data})

    async def retrieve_model(self, request: Request) -> JSONResponse:
        """``GET /v1/models/{id}`` (the SDK's ``client.models.retrieve``): the model, or a 404 naming those served."""
        try:
            self.authorise(request)
        except ApiError as exc:
            return error_response(exc)
        name = request.path_params["model"]
        if name not in self.served:
            served = ", ".join(self.served)
            return error_response(ApiError(404, f"no model {name[:100]!r}; this server serves {served}",
                                            param="model", code="model_not_found"))
        return JSONResponse(model_object(name))



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
