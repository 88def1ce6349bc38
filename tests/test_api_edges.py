"""/v1 edges found in review: an error raised while answering keeps its status and message without streaming
too, a known route with a trailing slash is not refused for its own method, a field the pipeline refuses is
named in ``param``, and a refused CORS preflight is an OpenAI-shaped error too."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from conftest import open_hash_pipeline
from fastapi.testclient import TestClient

from rag.app.api import create_api
from rag.errors import IndexNotReadyError, IngestBusyError, QueryError, RagError
from rag.pipeline import Pipeline
from rag.stream import AnswerStream

QUESTION = {"messages": [{"role": "user", "content": "What does GradSurg improve?"}]}


class FailingPipeline:
    """Starts an answer, then fails the way a real one can mid-answer (the index rebuilt, an ingest running)."""

    llm_answerer = None

    def __init__(self, error: RagError) -> None:
        self.error = error

    def stream(self, question: str, history: Sequence[dict[str, str]], **options: object) -> AnswerStream:
        def chunks() -> Iterator[str]:
            raise self.error
            yield ""  # a generator

        return AnswerStream(chunks())


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (IndexNotReadyError("the index is being rebuilt; retry in a minute"), 503),
        (IngestBusyError("an ingest is running; retry when it ends"), 503),
        (QueryError("the question is empty; type a question"), 400),
    ],
)
def test_an_error_while_answering_keeps_its_status_and_message_without_streaming(error: RagError, status: int) -> None:
    http = TestClient(create_api(FailingPipeline(error)))  # type: ignore[arg-type]
    plain = http.post("/v1/chat/completions", json=QUESTION)
    assert plain.status_code == status, plain.text
    assert plain.json()["error"]["message"] == str(error)
    streamed = http.post("/v1/chat/completions", json={**QUESTION, "stream": True})
    assert str(error) in streamed.text


def test_a_trailing_slash_is_named_not_refused_for_its_own_method() -> None:
    http = TestClient(create_api(FailingPipeline(QueryError("unused"))))  # type: ignore[arg-type]
    for method, path in (("GET", "/v1/models/"), ("POST", "/v1/chat/completions/")):
        response = http.request(method, path, json=QUESTION if method == "POST" else None)
        message = response.json()["error"]["message"]
        assert response.status_code == 404 and "drop the trailing slash" in message, message
        assert f"takes {method}, not {method}" not in message
    wrong = http.request("DELETE", "/v1/models/")
    assert wrong.status_code == 405 and "takes GET, not DELETE" in wrong.json()["error"]["message"]
    one = http.post("/v1/models/rag", json={})  # a model's own path, asked with the wrong method
    assert (one.status_code, one.headers["allow"]) == (405, "GET"), one.text
    assert one.json()["error"]["message"] == "/v1/models/rag takes GET, not POST"
    assert http.post("/v1/models/rag/x").status_code == 404


def test_a_refused_field_sent_as_null_is_an_unset_option_and_half_a_character_is_named() -> None:
    """Clients serialise unset options as null ("max_tokens": null): that is not asking for them. A ``\\ud800``
    (a client that cut an emoji in half) gets a message saying so, not a parser's hex-escape error."""
    from rag.app.api_request import ApiError, parse_request

    body = b'{"max_tokens": null, "stop": null, "messages": [{"role": "user", "content": "hi there"}]}'
    assert parse_request(body).messages[0].text() == "hi there"
    with pytest.raises(ApiError, match="max_tokens is not supported"):
        parse_request(b'{"max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}')
    with pytest.raises(ApiError, match="half of a surrogate pair"):
        parse_request(b'{"messages": [{"role": "user", "content": "a \\ud800 b"}]}')
    for role in ("", ', "role": null', ', "role": "robot"'):
        with pytest.raises(ApiError, match=r"^messages\[0\]\.role must be 'user', .*; give each message its role$"):
            parse_request(b'{"messages": [{"content": "hi"' + role.encode() + b"}]}")


def test_a_byte_order_mark_before_the_body_is_read_as_nothing() -> None:
    """A tester's body from a Windows tool (UTF-8 with a BOM) got "not valid JSON ... line 1 column 1"."""
    from rag.app.api_request import ApiError, parse_request

    body = b'{"messages": [{"role": "user", "content": "hi there"}]}'
    assert parse_request(b"\xef\xbb\xbf" + body).messages[0].text() == "hi there"
    with pytest.raises(ApiError, match="not valid JSON"):
        parse_request(b"\xef\xbb\xbf\xef\xbb\xbf" + body)  # one mark, not any number


def test_what_the_openai_sdks_send_is_accepted_and_a_model_can_be_retrieved() -> None:
    """Fields the current SDKs send (``safety_identifier``, ``prompt_cache_key``, ``service_tier``,
    ``stream_options.include_obfuscation``) are accepted and ignored like ``user``; ``client.models.retrieve``
    works; HEAD is answered where GET is; a compressed body is named, not parsed as garbage."""
    from rag.app.api_request import parse_request

    body = {**QUESTION, "safety_identifier": "u-1", "prompt_cache_key": "k", "service_tier": "auto",
            "stream": True, "stream_options": {"include_usage": True, "include_obfuscation": False}}
    assert parse_request(json.dumps(body).encode()).stream is True
    http = TestClient(create_api(FailingPipeline(QueryError("unused"))))  # type: ignore[arg-type]
    assert http.get("/v1/models/rag").json() == {"id": "rag", "object": "model", "created": 0, "owned_by": "rag"}
    missing = http.get("/v1/models/gpt-4")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"
    assert http.head("/v1/models").status_code == 200
    gzipped = http.post("/v1/chat/completions", content=b"\x1f\x8b\x08\x00",
                        headers={"content-type": "application/json", "content-encoding": "gzip"})
    assert gzipped.status_code == 415 and "send the body uncompressed" in gzipped.json()["error"]["message"]


@pytest.mark.parametrize(("field", "value", "says"), [
    ("k", 0, "k must be a whole number from 1 to 20"),
    ("since", "2020", "since must be a year like 2021"),
])
def test_a_bad_extension_field_says_what_to_send(field: str, value: object, says: str) -> None:
    http = TestClient(create_api(FailingPipeline(QueryError("unused"))))  # type: ignore[arg-type]
    response = http.post("/v1/chat/completions", json={**QUESTION, field: value})
    assert response.status_code == 400 and says in response.json()["error"]["message"]
    assert response.json()["error"]["param"] == field


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """A real pipeline over the small papers (no LLM)."""
    pipeline: Pipeline = open_hash_pipeline(tmp_path_factory.mktemp("edges") / "data")
    return pipeline


def _asking(question: str, **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": question}], **extra}


@pytest.mark.parametrize(("body", "param", "says"), [
    (_asking("🤖🤖🤖"), "messages", "the question has no words"),
    (_asking("   "), "messages", "the question (the last user message) is empty"),
    (_asking("why " * 1300), "messages", "the limit is 5,000"),
    (_asking("What does https://arxiv.org/abs/2101.99999 propose?"), "messages", "no indexed paper has the link"),
    (_asking("sparse autoencoders", author=""), "author", "filter 'author' needs a non-empty value"),
    (_asking("sparse autoencoders", category=[]), "category", "filter 'category' needs a non-empty value"),
    (_asking("sparse autoencoders", listing_date=["Mar 21", " "]), "listing_date", "filter 'listing_date' needs"),
    (_asking("sparse autoencoders", since=99), "since", "filter 'since' takes a year like 2021, not 99"),
    (_asking("sparse autoencoders", until=12345), "until", "filter 'until' takes a year"),
    (_asking("sparse autoencoders", since=2024, until=2020), "since", "since=2024 is after until=2020"),
    (_asking("🤖", author=""), "messages", "the question has no words"),  # the pipeline checks the question first
])  # fmt: skip
def test_a_field_the_pipeline_refuses_is_named_in_param(small: Pipeline, body: dict[str, Any], param: str,
                                                        says: str) -> None:
    http = TestClient(create_api(small))
    for streamed in (False, True):  # a streamed request is refused before any SSE byte, with the same error
        response = http.post("/v1/chat/completions", json={**body, "stream": streamed})
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert (error["param"], error["type"]) == (param, "invalid_request_error") and says in error["message"], error


def test_an_answerer_the_pipeline_lacks_is_named_as_the_model(small: Pipeline) -> None:
    """``rag-llm`` is served when the pipeline had an LLM; an answer then refused for the answerer (the real
    pipeline's ``ConfigError``) names ``model``, the field that picks it."""

    class LostItsLLM:
        llm_answerer = object()  # listed at start-up

        def stream(self, *args: Any, **options: Any) -> AnswerStream:
            return small.stream(*args, **options)  # a pipeline without an LLM refuses answerer="llm"

    response = TestClient(create_api(LostItsLLM())).post(  # type: ignore[arg-type]
        "/v1/chat/completions", json=_asking("What do sparse autoencoders learn?", model="rag-llm"))
    assert response.status_code == 400 and response.json()["error"]["param"] == "model", response.text
    assert "no LLM is configured; set OPENAI_API_KEY" in response.json()["error"]["message"]


def test_a_refused_cors_preflight_is_an_openai_error_and_a_foreign_post_too(small: Pipeline) -> None:
    """Starlette's CORS layer answers a preflight from an origin not in RAG_CORS_ORIGINS with plain text
    ("Disallowed CORS origin"); the service answers every refusal in OpenAI's shape, same status."""
    from rag.app.guard import LOCAL_HOSTS, GuardConfig
    from rag.app.serve import build_app

    guard = GuardConfig(allowed_hosts=LOCAL_HOSTS, cors_origins=frozenset({"https://app.example"}))
    http = TestClient(build_app(small, guard=guard), base_url="http://localhost")
    ask = {"origin": "http://evil.example", "access-control-request-method": "POST"}
    cases = [(ask, "origin_not_allowed", "'http://evil.example' are not allowed; add its origin to RAG_CORS_ORIGINS"),
             ({**ask, "origin": "https://app.example", "access-control-request-method": "DELETE"},
              "method_not_allowed", "may not send 'DELETE' requests here; use GET, POST")]  # fmt: skip
    for headers, code, says in cases:
        preflight = http.options("/v1/chat/completions", headers=headers)
        assert preflight.status_code == 400 and preflight.headers["content-type"] == "application/json"
        error = preflight.json()["error"]
        assert (error["code"], error["type"], error["param"]) == (code, "invalid_request_error", None)
        assert says in error["message"] and "\n" not in error["message"], error
    assert "access-control-allow-origin" not in http.options("/v1/chat/completions", headers=ask).headers
    allowed = http.options("/v1/chat/completions", headers={**ask, "origin": "https://app.example"})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == "https://app.example"
    forged = http.post("/v1/chat/completions", json=QUESTION, headers={"origin": "http://evil.example"})
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "origin_not_allowed"
    assert "add its origin to RAG_CORS_ORIGINS" in forged.json()["error"]["message"]
