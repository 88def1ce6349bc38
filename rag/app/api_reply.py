"""What the ``/v1`` API sends back, in OpenAI's shapes: the served models, a ``chat.completion`` with the answer's
``sources`` and extras, usage, and the OpenAI-shaped error for any exception (``problem``)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi.responses import JSONResponse

from rag.answer.roles import summary_sentences
from rag.app.api_request import ApiError
from rag.errors import ConfigError, IndexNotReadyError, IngestBusyError, QueryError, RagError
from rag.pipeline import Pipeline
from rag.types import Answer

log = logging.getLogger("rag.app.api")  # the API's log, as before this module was split out of it


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


def usage(answer: Answer) -> dict[str, int]:
    """The ``usage`` object of an answer, from ``Answer.usage``."""
    prompt, completion = answer.usage.prompt_tokens, answer.usage.completion_tokens
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def extras(answer: Answer) -> dict[str, Any]:
    """What each choice carries beyond OpenAI's fields: sources, answerer, abstained, not_stated, notice."""
    return {"sources": sources(answer), "answerer": answer.answerer, "abstained": answer.abstained,
            "not_stated": answer.not_stated, "notice": answer.error}


def completion(answer: Answer, model: str, ident: str, created: int) -> dict[str, Any]:
    """A ``chat.completion`` object for an answer."""
    choice = {"index": 0, "message": {"role": "assistant", "content": answer.text}, "finish_reason": "stop",
              **extras(answer)}
    return {"id": ident, "object": "chat.completion", "created": created, "model": model, "choices": [choice],
            "usage": usage(answer)}


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


def error_response(exc: BaseException) -> JSONResponse:
    """The JSON response of ``problem(exc)``, with its status."""
    error = problem(exc)
    return JSONResponse(error.body(), status_code=error.status)


def model_object(name: str) -> dict[str, Any]:
    """One entry of ``GET /v1/models``."""
    return {"id": name, "object": "model", "created": 0, "owned_by": "rag"}
