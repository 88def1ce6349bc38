"""The chatbot as an OpenAI-compatible API, on the web app's own port (``rag.app.serve`` mounts the UI beside it).

* ``GET /v1/models``: ``rag`` (the configured answerer), ``rag-extractive`` and, with an LLM, ``rag-llm``.
* ``POST /v1/chat/completions``, streamed (SSE) or not: ``messages`` become the chat history and the
  question (the last user message; system messages are ignored: the prompts are the app's own). The
  reply's content is the checked answer with its ``[n]`` markers, and each choice carries ``sources``
  (marker, paper id, title, quoted sentence, verdict, support), ``answerer`` and ``notice`` (why the LLM's
  answer was replaced, or None). A stream sends its content once the answer is checked (SSE comments keep
  the connection alive meanwhile), so the streamed text is exactly the checked one.
* Errors use OpenAI's format ``{"error": {"message", "type", "param", "code"}}``, never a traceback.
* With ``RAG_API_KEY`` set, every ``/v1`` request needs ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

import hmac
import logging
import queue
import re
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from rag.app.live import LivePipeline
from rag.errors import ConfigError, IndexNotReadyError, IngestBusyError, QueryError, RagError
from rag.pipeline import Pipeline
from rag.types import Answer

log = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 10.0
PIECE_WORDS = 8
ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})


class ApiError(RagError):
    """A request the API refuses, with its HTTP status and OpenAI error type/code."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.code, self.param = status, kind, code, param

    def body(self) -> dict[str, Any]:
        return {"error": {"message": str(self), "type": self.kind, "param": self.param, "code": self.code}}


def models(pipeline: Pipeline) -> dict[str, str | None]:
    """Model ids served and the answerer each one asks for (None: the configured one)."""
    served: dict[str, str | None] = {"rag": None, "rag-extractive": "extractive"}
    if pipeline.llm_answerer is not None:
        served["rag-llm"] = "llm"
    return served


def _text(content: Any, i: int) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        return "".join(str(p.get("text", "")) for p in content if p.get("type") in ("text", "input_text"))
    raise ApiError(400, f"messages[{i}].content must be a string or a list of text parts", param="messages")


def parse_messages(messages: Any) -> tuple[str, list[dict[str, str]]]:
    """``(question, history)`` from OpenAI ``messages``: the last one must be the user's question; earlier
    user and assistant turns are the history; system, developer and tool messages are left out."""
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages must be a non-empty list of {role, content} objects", param="messages")
    turns: list[dict[str, str]] = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise ApiError(400, f"messages[{i}] needs a role among {sorted(ROLES)}", param="messages")
        if message["role"] in ("user", "assistant"):
            turns.append({"role": str(message["role"]), "content": _text(message.get("content"), i)})
    if not turns or turns[-1]["role"] != "user" or not turns[-1]["content"].strip():
        raise ApiError(400, "the last user/assistant message must be the user's question", param="messages")
    return turns[-1]["content"], turns[:-1]


def sources(answer: Answer) -> list[dict[str, Any]]:
    """The cited sources of an answer, as each choice carries them."""
    return [
        {"marker": c.marker, "paper_id": c.paper.id, "title": c.paper.title, "quote": c.quote,
         "verdict": c.verdict, "support": c.support, "urls": list(c.paper.urls),
         "authors": list(c.paper.authors), "year": c.paper.year, "url": c.paper.url,
         "categories": list(c.paper.categories)}
        for c in answer.citations
    ]


def _usage(answer: Answer) -> dict[str, int]:
    prompt, completion = answer.usage.prompt_tokens, answer.usage.completion_tokens
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _extras(answer: Answer) -> dict[str, Any]:
    return {"sources": sources(answer), "answerer": answer.answerer, "abstained": answer.abstained,
            "notice": answer.error}


def completion(answer: Answer, model: str, ident: str, created: int) -> dict[str, Any]:
    """A ``chat.completion`` object for an answer."""
    choice = {"index": 0, "message": {"role": "assistant", "content": answer.text}, "finish_reason": "stop",
              **_extras(answer)}
    return {"id": ident, "object": "chat.completion", "created": created, "model": model, "choices": [choice],
            "usage": _usage(answer)}


def _final(result: Any) -> Answer:
    """The final ``Answer`` of ``pipeline.stream(...)``: an ``AnswerStream`` (``.answer``) or an iterator
    of ``str | Answer`` ending with the answer."""
    if isinstance(result, Answer):
        return result
    answer = getattr(result, "answer", None)
    if isinstance(answer, Answer):
        return answer
    final = None
    for item in result:
        if isinstance(item, Answer):
            final = item
    if final is None:
        raise RagError("the pipeline ended without an answer; ask again")
    return final


def _sse(data: dict[str, Any] | str) -> str:
    import json

    return f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n"


def stream_events(
    pipeline: Pipeline, question: str, history: list[dict[str, str]], options: dict[str, Any], model: str,
    include_usage: bool,
) -> Iterator[str]:
    """The SSE events of a streamed completion: a role chunk, keep-alive comments while the answer is made
    and checked, its content in pieces, a final chunk with ``sources``, optionally usage, ``[DONE]``."""
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    results: queue.Queue[tuple[str, Any]] = queue.Queue()
    handle: list[Any] = []

    def work() -> None:
        try:
            result = pipeline.stream(question, history, **options)
            handle.append(result)
            results.put(("answer", _final(result)))
        except Exception as exc:  # reported to the client as an error event
            results.put(("error", exc))

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, **extra}
        return {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [choice]}

    threading.Thread(target=work, name="api-answer", daemon=True).start()
    try:
        yield _sse(chunk({"role": "assistant", "content": ""}))
        while True:
            try:
                kind, value = results.get(timeout=KEEPALIVE_SECONDS)
                break
            except queue.Empty:
                yield ": keep-alive\n\n"
        if kind == "error":
            yield _sse(error_body(value))
            yield _sse("[DONE]")
            return
        answer: Answer = value
        pieces = re.findall(r"\s*\S+", answer.text)
        for start in range(0, len(pieces), PIECE_WORDS):
            yield _sse(chunk({"content": "".join(pieces[start : start + PIECE_WORDS])}))
        yield _sse(chunk({}, "stop", **_extras(answer)))
        if include_usage:
            yield _sse({"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                        "choices": [], "usage": _usage(answer)})
        yield _sse("[DONE]")
    finally:  # the client may have gone away: stop an unfinished answer (in the background: close waits for it)
        for result in handle:
            close = getattr(result, "close", None)
            if callable(close):
                threading.Thread(target=close, name="api-close", daemon=True).start()


def error_body(exc: BaseException) -> dict[str, Any]:
    """OpenAI's error object for any exception (no traceback, no internals for unexpected ones)."""
    if isinstance(exc, ApiError):
        return exc.body()
    if isinstance(exc, QueryError | ConfigError):
        return ApiError(400, str(exc)).body()
    if isinstance(exc, IngestBusyError | IndexNotReadyError):
        return ApiError(503, str(exc), "server_error").body()
    if isinstance(exc, RagError):
        return ApiError(500, str(exc), "server_error").body()
    log.error("chat completion failed", exc_info=exc)
    return ApiError(500, f"the server failed while answering ({type(exc).__name__}); see the server log and "
                         "try again", "server_error").body()


def _status(exc: BaseException) -> int:
    if isinstance(exc, ApiError):
        return exc.status
    if isinstance(exc, IngestBusyError | IndexNotReadyError):
        return 503  # the index is being (re)built or must be: retry later
    return 400 if isinstance(exc, QueryError | ConfigError) else 500


def create_api(
    pipeline: Pipeline | LivePipeline, api_key: str | None = None, app: FastAPI | None = None
) -> FastAPI:
    """Add the ``/v1`` routes to ``app`` (a new FastAPI app if None) and return it. With ``api_key``, every
    ``/v1`` request needs ``Authorization: Bearer <api_key>``. Given a ``LivePipeline``, each request answers
    over the index as it is now (reopened after an ingest in another process)."""
    app = app or FastAPI(title="rag", docs_url=None, redoc_url=None, openapi_url=None)
    served = models(pipeline.pipeline if isinstance(pipeline, LivePipeline) else pipeline)

    def current() -> Pipeline:
        return pipeline.current()[0] if isinstance(pipeline, LivePipeline) else pipeline

    def authorise(request: Request) -> None:
        if not api_key:
            return
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), api_key.encode()):
            raise ApiError(401, "invalid or missing API key: send the RAG_API_KEY value as "
                                "'Authorization: Bearer <key>'", code="invalid_api_key")

    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.get("/v1/models")
    async def list_models(request: Request) -> JSONResponse:
        authorise(request)
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "rag"} for name in served]
        return JSONResponse({"object": "list", "data": data})

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(request: Request) -> JSONResponse | StreamingResponse:
        authorise(request)
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "the request body must be a JSON object") from None
        if not isinstance(body, dict):
            raise ApiError(400, "the request body must be a JSON object")
        model = body.get("model") or "rag"
        if model not in served:
            raise ApiError(404, f"the model {str(model)[:80]!r} does not exist; GET /v1/models lists "
                                f"{', '.join(served)}", code="model_not_found", param="model")
        question, history = parse_messages(body.get("messages"))
        options: dict[str, Any] = {"answerer": served[model]}
        if body.get("k") is not None:
            options["k"] = body["k"]
        try:
            answering = await run_in_threadpool(current)
        except RagError as exc:
            return JSONResponse(error_body(exc), status_code=_status(exc))
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            events = stream_events(answering, question, history, options, model, include_usage)
            return StreamingResponse(events, media_type="text/event-stream", headers={"cache-control": "no-cache"})
        try:
            answer = await run_in_threadpool(answering.ask, question, history, **options)
        except Exception as exc:
            return JSONResponse(error_body(exc), status_code=_status(exc))
        return JSONResponse(completion(answer, model, f"chatcmpl-{uuid.uuid4().hex}", int(time.time())))

    return app
