"""The ``/v1/chat/completions`` request, as one pydantic model: every field typed strictly, every error one
line naming the field (``ApiError`` 400 in OpenAI's shape), nothing else reaches the pipeline.

OpenAI fields: ``model``, ``messages``, ``stream`` (a JSON boolean), ``stream_options.include_usage`` are
honoured; ``n`` only as 1 and ``temperature`` only as 0 (one deterministic answer per request);
``max_tokens``/``max_completion_tokens``, sampling, tool and format fields are refused with the reason;
``user``, ``safety_identifier``, ``prompt_cache_key``, ``service_tier``, ``metadata``, ``store``, ``seed`` and
``stream_options.include_obfuscation`` are accepted and ignored. Any other field is refused.
Extensions: ``k`` (sources, 1..20) and the retrieval filters ``listing_date``, ``source``, ``since``,
``until``, ``author``, ``category``, passed to the pipeline as they are when not null.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from rag.errors import ConfigError, QueryError, RagError

MAX_MESSAGES = 256
"""Messages a request may carry (the body limit bounds their size; the pipeline reads the last few turns)."""
ROLES = ("system", "developer", "user", "assistant", "tool")
FILTER_FIELDS = ("listing_date", "source", "since", "until", "author", "category")
REFUSED = {
    "max_tokens": "answers are sized by the server (RAG_ANSWER_WORDS, RAG_LLM_MAX_TOKENS)",
    "max_completion_tokens": "answers are sized by the server (RAG_ANSWER_WORDS, RAG_LLM_MAX_TOKENS)",
    "top_p": "answers are deterministic", "presence_penalty": "answers are deterministic",
    "frequency_penalty": "answers are deterministic", "logit_bias": "answers are deterministic",
    "logprobs": "answers carry no token probabilities", "top_logprobs": "answers carry no token probabilities",
    "stop": "answers are checked whole", "tools": "the service calls no tools", "tool_choice": "no tools",
    "functions": "the service calls no tools", "function_call": "the service calls no tools",
    "parallel_tool_calls": "the service calls no tools", "response_format": "answers are text with [n] markers",
    "modalities": "answers are text", "audio": "answers are text", "prediction": "not supported",
    "reasoning_effort": "not supported", "web_search_options": "the service answers from its papers only",
}  # fmt: skip
"""OpenAI fields refused when given (not null), with the reason shown to the client."""


class ApiError(RagError):
    """A request the API refuses, with its HTTP status and OpenAI error type/code."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.code, self.param = status, kind, code, param

    def body(self) -> dict[str, Any]:
        return {"error": {"message": str(self), "type": self.kind, "param": self.param, "code": self.code}}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TextPart(_Strict):
    type: Literal["text", "input_text"]
    text: StrictStr


class Message(BaseModel):
    """One message; ``name``, ``tool_calls`` and the like are ignored (only text turns are read)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: StrictStr | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(part.text for part in self.content)  # parts are lines, as ``rag.request`` reads them
        return self.content or ""


class StreamOptions(_Strict):
    include_usage: StrictBool | None = None
    include_obfuscation: StrictBool | None = None
    """Accepted and ignored: this server sends no obfuscation padding."""


class ChatRequest(_Strict):
    """The body of ``POST /v1/chat/completions``."""

    model: StrictStr = "rag"
    messages: list[Message] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: StrictBool | None = None
    stream_options: StreamOptions | None = None
    n: StrictInt | None = Field(default=None, ge=1, le=1)
    temperature: StrictFloat | None = Field(default=None, ge=0, le=0)
    k: StrictInt | None = Field(default=None, ge=1, le=20)
    listing_date: StrictStr | list[StrictStr] | None = None
    source: StrictStr | list[StrictStr] | None = None
    since: StrictInt | None = None
    until: StrictInt | None = None
    author: StrictStr | list[StrictStr] | None = None
    category: StrictStr | list[StrictStr] | None = None
    user: StrictStr | None = None
    safety_identifier: StrictStr | None = None
    prompt_cache_key: StrictStr | None = None
    service_tier: StrictStr | None = None
    metadata: dict[str, StrictStr] | None = None
    store: StrictBool | None = None
    seed: StrictInt | StrictFloat | None = None

    @model_validator(mode="before")
    @classmethod
    def _refused_nulls(cls, data: Any) -> Any:
        """A refused OpenAI field sent as null is an unset option (clients serialise them so), not a refusal."""
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if not (key in REFUSED and value is None)}
        return data

    def filters(self) -> dict[str, Any]:
        """The retrieval filters given (not null), for the pipeline's keyword arguments."""
        return {name: getattr(self, name) for name in FILTER_FIELDS if getattr(self, name) is not None}

    def options(self, answerer: str | None) -> dict[str, Any]:
        """The pipeline's keyword arguments: the answerer the model picks, ``k`` when given, the filters."""
        return {"answerer": answerer, **({"k": self.k} if self.k is not None else {}), **self.filters()}

    def conversation(self) -> tuple[str, list[dict[str, str]]]:
        """``(question, history)``: the last message must be the user's question; earlier user and assistant
        turns are the history; system, developer and tool messages are left out (the prompts are the app's)."""
        turns = [{"role": m.role, "content": m.text()} for m in self.messages if m.role in ("user", "assistant")]
        if not turns or turns[-1]["role"] != "user":
            raise ApiError(400, "the last user/assistant message must be the user's question", param="messages")
        if not turns[-1]["content"].strip():
            raise ApiError(400, "the question (the last user message) is empty; put the question in its content",
                           param="messages")
        return turns[-1]["content"], turns[:-1]


def refusal(exc: QueryError | ConfigError) -> ApiError:
    """The pipeline's refusal of a request as a 400 whose ``param`` names the field at fault: ``messages`` for
    the question and the history (``QueryError.field``; a link to a paper the index lacks too), ``k`` and each
    filter by name, ``model`` for the answerer it picks (the only ``ConfigError`` of a request)."""
    if isinstance(exc, ConfigError):
        return ApiError(400, str(exc), param="model")
    return ApiError(400, str(exc), param="messages" if exc.field in ("question", "history") else exc.field)


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in ("str", "list[TextPart]", "list[str]", "int", "float"):
            out += f".{part}" if out else str(part)
    return out or "body"


def _message(error: Any) -> str:
    loc, kind = _where(tuple(error["loc"])), error["type"]
    name = str(error["loc"][0]) if error["loc"] else ""
    if kind == "extra_forbidden" and name in REFUSED and len(error["loc"]) == 1:
        return f"{name} is not supported: {REFUSED[name]}; omit it"
    if kind == "extra_forbidden":
        return f"unknown field {loc!r}; see /v1 in docs/deployment.md for the fields this server reads"
    if name == "messages" and "role" in error["loc"]:
        return f"{loc} must be 'user', 'assistant', 'system', 'developer' or 'tool'; give each message its role"
    if name == "messages" and "content" in error["loc"]:
        return f"{loc} must be a string or a list of text parts ({{'type': 'text', 'text': ...}})"
    if name == "n":
        return "n must be 1: the service returns one answer per request"
    if name == "temperature":
        return "temperature must be 0 or omitted: answers are deterministic"
    if name == "k" and len(error["loc"]) == 1:
        return "k must be a whole number from 1 to 20 (the number of sources)"
    if name in ("since", "until") and len(error["loc"]) == 1:
        return f"{name} must be a year like 2021 (a JSON integer)"
    if name == "messages" and len(error["loc"]) == 1 and kind == "too_long":
        return f"messages holds more than {MAX_MESSAGES} messages; send the recent turns only"
    text = str(error["msg"]).removeprefix("Value error, ")
    return f"{loc}: {text[:1].lower()}{text[1:]}"


def parse_request(body: bytes) -> ChatRequest:
    """The request from a JSON body, or an ``ApiError`` 400 naming the first bad field (a refused OpenAI field
    with the reason). Deeply nested JSON is refused by the parser (no recursion in Python)."""
    try:  # a UTF-8 byte-order mark first (some Windows tools write one) is read as nothing, as ingest reads it
        return ChatRequest.model_validate_json(body.removeprefix(b"\xef\xbb\xbf"))
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        first = next((e for e in errors if e["type"] == "json_invalid"), errors[0])
        if first["type"] == "json_invalid" and "hex escape" in str(first["msg"]):
            raise ApiError(400, "the request body is not valid JSON: it holds a \\u escape that is not a whole "
                                "character (half of a surrogate pair?); send whole characters") from None
        if first["type"] == "json_invalid":
            raise ApiError(400, f"the request body is not valid JSON ({first['msg']})") from None
        if first["type"] == "model_type" and not first["loc"]:
            raise ApiError(400, "the request body must be a JSON object") from None
        param = str(first["loc"][0]) if first["loc"] else None
        raise ApiError(400, _message(first), param=param) from None
    except (RecursionError, ValueError) as exc:  # belt and braces: any parse failure is the client's
        raise ApiError(400, f"the request body cannot be parsed ({type(exc).__name__})") from None
