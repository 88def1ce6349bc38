"""/v1 edges found in review: an error raised while answering keeps its status and message without streaming
too, and a known route with a trailing slash is not refused for its own method."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from fastapi.testclient import TestClient

from rag.app.api import create_api
from rag.errors import IndexNotReadyError, IngestBusyError, QueryError, RagError
from rag.types import AnswerStream

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
