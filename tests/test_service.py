"""The web service as an attacker and an unlucky user meet it (issue 24): a real uvicorn server (the app's
FastAPI app, the guard, the Gradio UI, the header-timeout protocol) on a loopback port, over a small index,
driven over raw sockets, httpx, the openai SDK and gradio_client. One case per finding of the attack pass."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import uvicorn
from conftest import SMALL_PAPERS, open_hash_pipeline, serve_in_thread

from rag.app.guard import LOCAL_HOSTS, GuardConfig
from rag.app.http_timeouts import header_timeout_protocol
from rag.app.serve import build_app

SAE, RIDG, SPEECH, GNN = SMALL_PAPERS
KEY = "svc-test-key-9d41"
AUTH = {"authorization": f"Bearer {KEY}"}
JSON = {**AUTH, "content-type": "application/json"}
QUESTION = "What do sparse autoencoders explain?"
TIMEOUT = 1.0


def start(app: Any, header_timeout: float = TIMEOUT) -> tuple[str, uvicorn.Server, threading.Thread]:
    return serve_in_thread(app, http=header_timeout_protocol(header_timeout), timeout_keep_alive=5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """The service with a key, 1 s body and header deadlines and the default 1 MB body limit."""
    pipeline = open_hash_pipeline(Path(tmp_path_factory.mktemp("svc-data")))
    guard = GuardConfig(api_key=KEY, allowed_hosts=LOCAL_HOSTS, body_timeout=TIMEOUT)
    url, srv, thread = start(build_app(pipeline, guard=guard))
    yield url, pipeline
    srv.should_exit = True
    thread.join(10)


def post(url: str, body: Any, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{url}/v1/chat/completions", content=content, headers=headers or JSON, timeout=30, **kwargs)


def ask(**extra: Any) -> dict[str, Any]:
    return {"model": "rag", "messages": [{"role": "user", "content": QUESTION}], **extra}


def user(content: Any, role: Any = "user") -> dict[str, Any]:
    return {"model": "rag", "messages": [{"role": role, "content": content}]}


DEEP = 100_000
MALFORMED: list[Any] = [
    # the attack pass's plain 500s: roles, models and stream_options of the wrong type, deep nesting
    user("hi", ["user"]), user("hi", {"r": "user"}), user("hi", 1), user("hi", None), user("hi", "wizard"),
    {**ask(), "model": ["rag"]}, {**ask(), "model": {"id": "rag"}}, {**ask(), "model": 5}, {**ask(), "model": None},
    {**ask(), "stream_options": "x"}, {**ask(), "stream_options": ["include_usage"]}, {**ask(), "stream_options": 1},
    {**ask(), "stream_options": {"include_usage": "yes"}}, {**ask(), "stream_options": {"x": True}},
    b'{"messages": [{"role": "user", "content": ' + b"[" * DEEP + b"]" * DEEP + b"}]}",
    b"[" * DEEP + b"]" * DEEP, b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    # "stream" must be a JSON boolean; refused fields; n and temperature
    {**ask(), "stream": "false"}, {**ask(), "stream": "true"}, {**ask(), "stream": 1}, {**ask(), "stream": []},
    {**ask(), "n": 2}, {**ask(), "n": "1"}, {**ask(), "n": True}, {**ask(), "temperature": 0.7},
    {**ask(), "temperature": "0"}, {**ask(), "max_tokens": 10}, {**ask(), "max_completion_tokens": 10},
    {**ask(), "top_p": 0.5}, {**ask(), "tools": []}, {**ask(), "response_format": {"type": "json_object"}},
    {**ask(), "logprobs": True}, {**ask(), "stop": ["\n"]}, {**ask(), "frequency_penalty": 1},
    {**ask(), "unknown_field": 1}, {**ask(), "seed": "x"}, {**ask(), "user": 5}, {**ask(), "metadata": [1]},
    # k and the filters
    {**ask(), "k": 0}, {**ask(), "k": 21}, {**ask(), "k": -1}, {**ask(), "k": "3"}, {**ask(), "k": 2.5},
    {**ask(), "k": True}, {**ask(), "k": 10**30}, {**ask(), "since": "2020"}, {**ask(), "until": 20.5},
    {**ask(), "author": 1}, {**ask(), "category": [1]}, {**ask(), "listing_date": 5},
    {**ask(), "source": [1]}, {**ask(), "source": ""}, {**ask(), "listing_date": []}, {**ask(), "filters": {}},
    # messages
    {"model": "rag"}, {"messages": None}, {"messages": {}}, {"messages": "hi"}, {"messages": []}, {"messages": [1]},
    {"messages": [None]}, {"messages": [[]]}, {"messages": [{"content": "hi"}]}, user(5), user({"text": "hi"}),
    user([{"type": "image_url", "image_url": {"url": "http://x"}}]), user([{"text": "no type"}]), user(["hi"]),
    user([{"type": "text", "text": 5}]), user(""), user("   \t\n "), user("\u0000\u200b\u0007"), user(None),
    user("hi", "assistant"), user("be nice", "system"), user("x" * 100_000), user("q" * 5001),
    {"messages": [{"role": "user", "content": "hi"}] * 300},
    {"model": "rag", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]},
    # bodies that are not a JSON object
    b"", b"{not json", b"null", b"[]", b'"text"', b"42", b"true", b"\xff\xfe\x00", b"\xef\xbb\xbf{}",
    b'{"messages": [{"role": "user", "content": "\\ud800"}]}', b'{"k": 1e999, "messages": []}', b'{"k": NaN}',
    b'{"messages": [{"role": "user", "content": "hi"}],}', b"{" * 10, b'{"model": "rag", "model": []}',
    # models that do not exist
    {**ask(), "model": "gpt-4o"}, {**ask(), "model": ""}, {**ask(), "model": "x" * 10_000},
]


def _openai_error(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/json"), response.text[:200]
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert "\n" not in error["message"] and "Traceback" not in error["message"] and KEY not in error["message"]
    return error


def test_malformed_requests_get_openai_4xx_and_no_traceback(server: tuple[str, Any],
                                                            caplog: pytest.LogCaptureFixture) -> None:
    url, _ = server
    caplog.set_level(logging.DEBUG)
    assert len(MALFORMED) >= 80
    statuses = []
    for body in MALFORMED:
        for stream in (False, True):
            if stream and isinstance(body, dict):
                body = {**body, "stream": True} if "stream" not in body else body
            response = post(url, body)
            assert 400 <= response.status_code < 500, (body if len(str(body)) < 300 else "big", response.text[:300])
            _openai_error(response)
            statuses.append(response.status_code)
    assert set(statuses) <= {400, 404}
    problems = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not problems and "Traceback" not in caplog.text


def test_a_string_stream_flag_is_refused_not_streamed(server: tuple[str, Any]) -> None:
    response = post(server[0], ask(stream="false"))
    assert response.status_code == 400 and "stream" in _openai_error(response)["message"]


@pytest.mark.parametrize("extra", [{"k": 0}, {"messages": [{"role": "user", "content": "x" * 100_000}]},
                                   {"source": " "}, {"model": "nope"}])
def test_streamed_errors_are_http_errors_before_any_sse_byte(server: tuple[str, Any], extra: dict[str, Any]) -> None:
    with httpx.stream("POST", f"{server[0]}/v1/chat/completions", json=ask(stream=True, **extra), headers=AUTH,
                      timeout=30) as response:
        raw = response.read()
    assert response.status_code in (400, 404) and not raw.startswith(b"data:") and b"data:" not in raw
    client = openai.OpenAI(base_url=f"{server[0]}/v1", api_key=KEY, max_retries=0, timeout=30)
    with pytest.raises(openai.APIStatusError) as info:  # the SDK sees the status, not a bare APIError
        body = ask(**extra)
        known = {name: body.pop(name) for name in ("model", "messages")}
        list(client.chat.completions.create(stream=True, extra_body=body, **known))
    assert info.value.status_code == response.status_code


def test_filters_pass_through_to_the_pipeline(server: tuple[str, Any]) -> None:
    """The filter fields reach the pipeline as they are: they filter the sources, the pipeline's refusals are 400s."""
    speech = {"messages": [{"role": "user", "content": "Is there a fast tokenizer for speech recognition?"}]}
    filtered = post(server[0], ask(source="b.txt", **speech))
    assert filtered.status_code == 200
    cited = {s["paper_id"] for s in filtered.json()["choices"][0]["sources"]}
    assert cited and cited <= {SPEECH.id, GNN.id}
    dated = post(server[0], ask(listing_date="Mar 21", k=1)).json()["choices"][0]["sources"]
    assert [s["paper_id"] for s in dated] == [SAE.id]
    nobody = post(server[0], ask(author=["Nobody Atall"], category="cs")).json()["choices"][0]
    assert nobody["sources"] == [] and nobody["abstained"] is True  # no paper passes: nothing to cite
    backwards = post(server[0], ask(since=2024, until=2020))
    assert backwards.status_code == 400 and "since=2024 is after until=2020" in _openai_error(backwards)["message"]


def test_bodies_over_the_limit_get_413_before_being_read(server: tuple[str, Any]) -> None:
    big = json.dumps(ask(messages=[{"role": "user", "content": "x" * 50_000_000}])).encode()
    response = post(server[0], big)
    assert response.status_code == 413 and _openai_error(response)["code"] == "request_too_large"
    # the chat page's Gradio client shows only a top-level "detail": without it the user saw a bare "Error"
    assert response.json()["detail"] == _openai_error(response)["message"]
    refused = httpx.post(f"{server[0]}/gradio_api/queue/join", content=big, headers=JSON, timeout=30)
    assert refused.status_code == 413 and "shorter history or question" in refused.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(20):
            yield b"y" * 100_000

    chunked = httpx.post(f"{server[0]}/v1/chat/completions", content=chunks(), headers=JSON, timeout=30)
    assert chunked.status_code == 413


def test_a_one_megabyte_history_is_refused_at_the_door(server: tuple[str, Any]) -> None:
    history = [{"role": "user", "content": "Is there a fast tokenizer?"}, {"role": "assistant", "content": "a" * 2**20}]
    response = post(server[0], ask(messages=[*history, {"role": "user", "content": QUESTION}]))
    assert response.status_code == 413


def test_a_long_history_is_cut_to_the_turns_the_answerer_reads(server: tuple[str, Any]) -> None:
    """Through the Python API (no body limit): a 1 MB history gives the answer its last six turns, cut to
    10,000 characters each, give; earlier turns are not even read (a bad one there is not seen)."""
    from rag.request import HISTORY_TURNS, MAX_TURN_CHARS, clean_history

    pipeline = server[1]
    tail = [{"role": "user", "content": "Is there a fast tokenizer for speech recognition?"},
            {"role": "assistant", "content": "Yes, it runs 3.5x faster than prior work [1]. " + "pad " * 250_000}]
    history: list[Any] = ["not even a dict", *[{"role": "user", "content": "z" * 1000}] * 50, *tail]
    kept = clean_history(history)
    assert len(kept) == HISTORY_TURNS and all(len(t["content"]) <= MAX_TURN_CHARS for t in kept)
    assert kept[-2:] == [tail[0], {"role": "assistant", "content": tail[1]["content"][:MAX_TURN_CHARS]}]
    long = pipeline.ask("Which dataset is it evaluated on?", history)
    short = pipeline.ask("Which dataset is it evaluated on?", kept)
    assert long.text == short.text and "LibriSpeech" in long.text


def test_with_a_key_nothing_answers_without_it(server: tuple[str, Any]) -> None:
    from gradio_client import Client

    url = server[0]
    with pytest.raises(Exception):  # noqa: B017 (gradio_client raises its own error kinds)
        Client(url, verbose=False).predict(QUESTION, 5, "extractive", api_name="/chat")
    page = httpx.get(f"{url}/", headers={"accept": "text/html"})
    assert page.status_code == 303 and page.headers["location"] == "/login"
    for method, path in [("GET", "/config"), ("GET", "/gradio_api/info"), ("POST", "/gradio_api/queue/join"),
                         ("GET", "/gradio_api/queue/data?session_hash=x"), ("POST", "/gradio_api/call/chat"),
                         ("GET", "/v1/models"), ("POST", "/v1/chat/completions"), ("GET", "/gradio_api/heartbeat/x"),
                         ("POST", "/gradio_api/cancel"), ("GET", "/theme.css"), ("GET", "/gradio_api/startup-events")]:
        response = httpx.request(method, f"{url}{path}", json={}, headers={"authorization": "Bearer wrong"})
        assert response.status_code == 401, (path, response.status_code)
        assert _openai_error(response)["code"] == "invalid_api_key"
    answer = Client(url, verbose=False, headers=AUTH).predict(QUESTION, 5, "extractive", api_name="/chat")
    assert "[1]" in json.dumps(answer)


def test_the_chat_filters_reach_the_pipeline(server: tuple[str, Any]) -> None:
    """The chat's filter controls (year range, author, category) narrow retrieval: an author no paper has leaves
    nothing to cite, the same question unfiltered cites its paper."""
    from gradio_client import Client

    client = Client(server[0], verbose=False, headers=AUTH)
    nobody = client.predict(QUESTION, 5, "extractive", None, None, "no such author", None, api_name="/chat")
    assert "[1]" not in json.dumps(nobody) and "No paper matches the filters" in json.dumps(nobody)
    anyone = client.predict(QUESTION, 5, "extractive", None, None, None, None, api_name="/chat")
    assert "[1]" in json.dumps(anyone)


def test_wrongly_typed_chat_api_values_get_the_pipeline_s_one_line_message(
    server: tuple[str, Any], capfd: pytest.CaptureFixture[str]
) -> None:
    """The chat API's number inputs hand a wrongly typed value on, and the pipeline's checks refuse it in one line
    (it had failed in Gradio's conversion: its generic "raised an exception" and a traceback in the server log);
    k=None is the default number of sources, as in ``rag.ask``."""
    from gradio_client import Client

    client = Client(server[0], verbose=False, headers=AUTH)

    def said(*values: Any) -> str:
        return str(client.predict(QUESTION, *values, api_name="/chat")[1][-1])

    assert "SAE features explain 42.5% of the variance" in said(None, "extractive")
    assert "k must be a whole number from 1 to 20, not &#x27;abc&#x27;" in said("abc", "extractive")
    assert "k=500 is out of range; ask for 1 to 20 papers" in said(500, "extractive")
    assert "filter &#x27;until&#x27; takes a year like 2021, not &#x27;x&#x27;" in said(5, "extractive", 2020, "x")
    with pytest.raises(Exception, match=r"answerer must be one of: extractive \(not 'nonsense'\)"):
        said(5, "nonsense")
    assert "Traceback" not in capfd.readouterr().err


def test_uploads_and_files_are_closed_even_with_the_key(server: tuple[str, Any], tmp_path: Path) -> None:
    url = server[0]
    for path in ["/gradio_api/upload", "/gradio_api/upload?upload_id=x", "/upload"]:
        response = httpx.post(f"{url}{path}", files={"files": ("a.html", b"<script>alert(1)</script>")},
                              headers=AUTH)
        assert response.status_code == 404
    for path in ["/gradio_api/file=/etc/passwd", "/gradio_api/file/x", "/gradio_api/upload_progress",
                 "/gradio_api/runs", "/monitoring", "/gradio_api/proxy=http://x"]:
        assert httpx.get(f"{url}{path}", headers=AUTH).status_code == 404


def test_the_login_form_sets_a_session_cookie(server: tuple[str, Any]) -> None:
    url = server[0]
    with httpx.Client(base_url=url) as browser:
        assert browser.get("/login").status_code == 200
        wrong = browser.post("/login", data={"key": "guess"})
        assert wrong.status_code == 401 and "rag_session" not in browser.cookies
        right = browser.post("/login", data={"key": KEY})
        assert right.status_code == 303 and "HttpOnly" in right.headers["set-cookie"]
        assert "SameSite=Strict" in right.headers["set-cookie"] and KEY not in right.headers["set-cookie"]
        assert browser.get("/config").status_code == 200
        assert browser.get("/v1/models").status_code == 200
        browser.get("/logout")
        assert browser.get("/config").status_code == 401


def test_the_bearer_scheme_is_case_insensitive_and_spaces_are_trimmed(server: tuple[str, Any]) -> None:
    for header in [f"bearer {KEY}", f"BEARER   {KEY}", f"Bearer\t{KEY}"]:
        assert httpx.get(f"{server[0]}/v1/models", headers={"authorization": header}).status_code == 200
    for header in [f"Basic {KEY}", KEY, f"Bearer {KEY}x", f"Bearer {KEY[:-1]}", "Bearer"]:
        assert httpx.get(f"{server[0]}/v1/models", headers={"authorization": header}).status_code == 401


def test_a_foreign_host_is_refused(server: tuple[str, Any]) -> None:
    for host in ["evil.example", "evil.example:7860", "127.0.0.1.nip.io", "localhost.evil.example", ""]:
        response = httpx.get(f"{server[0]}/v1/models", headers={**AUTH, "host": host})
        assert response.status_code == 400 and _openai_error(response)["code"] == "host_not_allowed"
    for host in ["localhost", "127.0.0.1:1234", "LOCALHOST", "[::1]:80"]:
        assert httpx.get(f"{server[0]}/v1/models", headers={**AUTH, "host": host}).status_code == 200


def test_cross_site_posts_and_non_json_bodies_are_refused(server: tuple[str, Any]) -> None:
    url = server[0]
    plain = post(url, json.dumps(ask()).encode(), headers={**AUTH, "content-type": "text/plain"})
    assert plain.status_code == 415
    forged = post(url, ask(), headers={**JSON, "origin": "http://evil.example"})
    assert forged.status_code == 403 and _openai_error(forged)["code"] == "origin_not_allowed"
    queue = httpx.post(f"{url}/gradio_api/queue/join", json={}, headers={**AUTH, "origin": "http://evil.example"})
    assert queue.status_code == 403
    same = post(url, ask(), headers={**JSON, "origin": url})
    assert same.status_code == 200
    preflight = httpx.options(f"{url}/v1/chat/completions", headers={
        "origin": "http://evil.example", "access-control-request-method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_opens_to_the_listed_origins_only(tmp_path: Path) -> None:
    pipeline = open_hash_pipeline(tmp_path / "data")
    guard = GuardConfig(allowed_hosts=LOCAL_HOSTS, cors_origins=frozenset({"https://app.example"}))
    url, srv, thread = start(build_app(pipeline, guard=guard))
    try:
        ok = httpx.options(f"{url}/v1/chat/completions", headers={
            "origin": "https://app.example", "access-control-request-method": "POST"})
        assert ok.headers.get("access-control-allow-origin") == "https://app.example"
        sdk = "authorization,content-type,x-stainless-os,x-stainless-lang,x-stainless-retry-count"
        preflight = httpx.options(f"{url}/v1/chat/completions", headers={  # the openai JS SDK's own headers
            "origin": "https://app.example", "access-control-request-method": "POST",
            "access-control-request-headers": sdk})
        assert preflight.status_code == 200 and "x-stainless-os" in preflight.headers["access-control-allow-headers"]
        answered = post(url, ask(), headers={"content-type": "application/json", "origin": "https://app.example"})
        assert answered.status_code == 200 and answered.headers["access-control-allow-origin"] == "https://app.example"
        assert post(url, ask(), headers={"content-type": "application/json", "origin": "https://x.example"}
                    ).status_code == 403
        assert httpx.get(f"{url}/", headers={"accept": "text/html"}).status_code == 200  # no key: the page
    finally:
        srv.should_exit = True
        thread.join(10)


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(4096) == b"" or True  # data (a 408) or EOF: the server ended it
    except TimeoutError:
        return False


def test_slow_headers_are_cut_off(server: tuple[str, Any]) -> None:
    port = int(server[0].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: localhost\r\n")
        started = time.monotonic()
        for _ in range(10):  # a header every 0.3 s, never finishing: slowloris
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except OSError:
                break
            time.sleep(0.3)
            sock.settimeout(0.01)
            try:
                if sock.recv(1) == b"":
                    break
            except TimeoutError:
                continue
        assert time.monotonic() - started < TIMEOUT + 1.5
    with socket.create_connection(("127.0.0.1", port)) as idle:  # a connection that sends nothing
        assert _closed_within(idle, TIMEOUT + 1.5)


def test_a_slow_body_gets_408(server: tuple[str, Any]) -> None:
    port = int(server[0].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                     b"Authorization: Bearer " + KEY.encode() + b"\r\nContent-Length: 100\r\n\r\n{\"messages\"")
        sock.settimeout(TIMEOUT + 3)
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 408") and b"request_timeout" in reply


def test_unknown_v1_paths_and_methods_get_openai_errors(server: tuple[str, Any]) -> None:
    missing = httpx.get(f"{server[0]}/v1/embeddings", headers=AUTH)
    assert missing.status_code == 404 and _openai_error(missing)["code"] == "not_found"
    wrong = httpx.get(f"{server[0]}/v1/chat/completions", headers=AUTH)
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    assert _openai_error(wrong)["code"] == "method_not_allowed"


# --- feedback cannot be flooded -------------------------------------------------------------------------------


def _queue(url: str, session: str, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Join the Gradio queue with each call (as the page does), then read the session's events to the end."""
    for call in calls:
        joined = httpx.post(f"{url}/gradio_api/queue/join", json={**call, "session_hash": session}, headers=AUTH)
        assert joined.status_code == 200, joined.text
    done: list[dict[str, Any]] = []
    with httpx.stream("GET", f"{url}/gradio_api/queue/data", params={"session_hash": session}, headers=AUTH,
                      timeout=60) as events:
        for line in events.iter_lines():
            if line.startswith("data:"):
                event = json.loads(line[5:])
                if event.get("msg") == "process_completed":
                    done.append(event)
                if len(done) == len(calls) or event.get("msg") == "close_stream":
                    break
    return done


def test_two_hundred_likes_on_one_answer_write_one_line(server: tuple[str, Any]) -> None:
    """The attack pass's flood, through the same queue route: 200 likes on one answer (and 200 dislikes)."""
    url, pipeline = server
    config = httpx.get(f"{url}/config", headers=AUTH).json()
    events = [d for d in config["dependencies"] if d["targets"]]  # the API's chat has no trigger on the page
    chat = next(d for d in events if any(event == "submit" for _, event in d["targets"]))  # the page's chat
    like = next(d for d in events if d["targets"][0][1] == "like")
    log = Path(pipeline.settings.data_dir) / "feedback.jsonl"
    before = log.read_text(encoding="utf-8").count("\n") if log.exists() else 0
    data = [QUESTION, None, None, 5, "extractive", None, None, None, None]  # the question, state, k, answerer, filters
    asked = _queue(url, "flood1", [{"data": data, "fn_index": chat["id"], "trigger_id": chat["targets"][0][0],
                                    "event_data": None}])
    assert asked[0]["success"]
    vote = {"data": [None], "fn_index": like["id"], "trigger_id": like["targets"][0][0]}
    likes = [{**vote, "event_data": {"index": [1, 1], "value": "x", "liked": True}}] * 200
    dislikes = [{**vote, "event_data": {"index": [1, 1], "value": "x", "liked": False}}] * 200
    said = [e["output"]["data"][0] for e in _queue(url, "flood1", likes + dislikes)]
    lines = log.read_text(encoding="utf-8").splitlines()[before:]
    assert [json.loads(line)["vote"] for line in lines] == ["up", "down"]  # a vote and one change, no more
    assert "Thanks!" in said[0] and "already" in said[1]
    assert all(len(line.encode()) < 32_000 for line in lines)


def test_the_feedback_log_dedups_rate_limits_and_caps(tmp_path: Path) -> None:
    from rag.app.feedback import SERVER_VOTES_PER_MINUTE, SESSION_VOTES_PER_MINUTE, FeedbackLog

    now = [0.0]
    log = FeedbackLog(tmp_path, 10_000_000, clock=lambda: now[0])

    def record(n: int, answer: str = "an answer [1]") -> dict[str, Any]:
        return {"id": f"a{n}", "question": "q?" * 10_000, "answer": answer, "answerer": "extractive",
                "citations": [{"marker": 1, "quote": "z" * 50_000, "title": "t"}] * 100}

    said = [log.vote("s1", record(n), "up") for n in range(SESSION_VOTES_PER_MINUTE + 5)]
    assert sum("Thanks" in s for s in said) == SESSION_VOTES_PER_MINUTE and "wait a minute" in said[-1]
    now[0] = 61.0
    assert "Thanks" in log.vote("s1", record(999), "up")
    sessions = [log.vote(f"other{n}", record(n), "down") for n in range(SERVER_VOTES_PER_MINUTE)]
    assert "wait a minute" in sessions[-1]
    lines = log.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == SESSION_VOTES_PER_MINUTE + SERVER_VOTES_PER_MINUTE
    assert all(len(line.encode()) < 32_000 for line in lines)  # the 1 MB of quotes was cut
    full = FeedbackLog(tmp_path / "full", 1_000)
    small = [{"id": f"b{n}", "question": "q", "answer": "a", "answerer": "x", "citations": []} for n in range(9)]
    said = [full.vote("s", r, "up") for r in small]
    assert "Thanks" in said[0] and "full" in said[-1] and full.path.stat().st_size <= 1_000


def test_a_vote_after_a_cut_off_line_is_a_line_of_its_own_and_an_unwritable_log_says_so(tmp_path: Path) -> None:
    from rag.app.feedback import FeedbackLog

    log = FeedbackLog(tmp_path, 10_000_000)
    log.path.write_text('{"vote": "up", "question": "cut off by a cra', encoding="utf-8")  # no newline
    record = {"id": "a1", "question": "q \udc80?", "answer": "a [1]", "answerer": "extractive", "citations": []}
    assert "Thanks" in log.vote("s1", record, "down")
    lines = log.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["vote"] == "down"
    assert json.loads(lines[1])["question"] == "q \udc80?"  # a lone surrogate survives as its JSON escape
    blocked = FeedbackLog(tmp_path / "blocked", 10_000_000)
    blocked.path.mkdir(parents=True)  # a folder where the file should be
    said = blocked.vote("s1", record, "up")
    assert said.startswith("Your vote could not be saved") and "\n" not in said and str(tmp_path) not in said


# --- a client that goes away stops its answer ---------------------------------------------------------------

LLM_BASE = "http://llm.test/v1"


@pytest.fixture
def llm_service(tmp_path: Path) -> Iterator[str]:
    """The service over a pipeline whose LLM answerer streams from a respx-mocked endpoint."""
    from conftest import HashEmbedder

    from rag.answer.llm import make_llm_client
    from rag.index.ingest import ingest
    from rag.index.store import Store
    from rag.index.store import open_chroma as chroma_client
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    data = tmp_path / "data"
    settings = Settings(data_dir=data, openai_base_url=LLM_BASE, openai_api_key="sk-upstream", llm_max_retries=0,
                        llm_max_answer_chars=100_000)
    embedder, chroma = HashEmbedder(), chroma_client(data)
    ingest(list(SMALL_PAPERS), Store(chroma, embedder.name), embedder, data, progress=False)
    pipeline = Pipeline.open(settings, embedder=embedder, chroma_client=chroma, llm_client=make_llm_client(settings),
                             progress=False)
    url, srv, thread = start(build_app(pipeline))
    yield url
    srv.should_exit = True
    thread.join(10)


def sentence(i: int) -> str:
    """A distinct supported sentence (the answerer releases each checked sentence as it completes)."""
    tag = "".join(chr(97 + int(d)) for d in str(i))
    return f"In run {tag}, SAE features explain 42.5% of the variance [1]. "


def _slow_llm(pulled: list[int], chunks: int = 200) -> Any:
    def reply(request: httpx.Request) -> httpx.Response:
        def body() -> Iterator[bytes]:
            for i in range(chunks):
                pulled.append(i)
                chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                         "choices": [{"index": 0, "delta": {"content": sentence(i)}, "finish_reason": None}]}
                yield f"data: {json.dumps(chunk)}\n\n".encode()
                time.sleep(0.05)
            yield b"data: [DONE]\n\n"

        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    return reply


def _settles(pulled: list[int]) -> int:
    """How many chunks were pulled once pulling stopped (fails if it goes on)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        seen = len(pulled)
        time.sleep(0.5)
        if len(pulled) == seen:
            return seen
    raise AssertionError("the upstream stream is still being read after the client left")


@pytest.mark.parametrize("stream", [True, False])
def test_a_client_that_goes_away_stops_its_answer(llm_service: str, stream: bool) -> None:
    import respx

    pulled: list[int] = []
    body = {"model": "rag-llm", "stream": stream, "messages": [{"role": "user", "content": QUESTION}]}
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="127.0.0.1").pass_through()
        mock.post(f"{LLM_BASE}/chat/completions").mock(side_effect=_slow_llm(pulled))
        if stream:
            with httpx.stream("POST", f"{llm_service}/v1/chat/completions", json=body, timeout=30) as response:
                assert response.status_code == 200
                events = response.iter_raw()
                next(events)  # the role chunk: the answer is under way
                deadline = time.monotonic() + 10
                while len(pulled) < 5:
                    assert time.monotonic() < deadline, f"the LLM was not asked ({len(pulled)} chunks)"
                    time.sleep(0.05)
        else:
            with pytest.raises(httpx.ReadTimeout):
                httpx.post(f"{llm_service}/v1/chat/completions", json=body, timeout=1.0)
        stopped = _settles(pulled)
        threads = [t for t in threading.enumerate() if t.name.startswith("AnyIO worker")]
    assert 0 < stopped < 100  # 200 chunks at 0.05 s would take 10 s; the work stopped within a second
    assert all(not t.is_alive() or t.daemon for t in threads)


def test_websockets_are_refused_even_where_the_app_would_accept_one() -> None:
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    from rag.app.guard import Guard

    async def accepting(scope: Any, receive: Any, send: Any) -> None:  # a route that would talk to anyone
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": "hello"})

    for app, refused in [(accepting, False), (Guard(accepting, GuardConfig(api_key=KEY)), True)]:
        url, srv, thread = start(app)
        try:
            if refused:
                with pytest.raises((InvalidStatus, ConnectionClosed)), connect(
                        f"ws{url[4:]}/x", additional_headers=AUTH, open_timeout=5) as ws:
                    ws.recv(timeout=5)
            else:
                with connect(f"ws{url[4:]}/x", open_timeout=5) as ws:
                    assert ws.recv(timeout=5) == "hello"
        finally:
            srv.should_exit = True
            thread.join(10)


def test_the_guard_reads_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.errors import ConfigError
    from rag.settings import load_settings

    monkeypatch.setenv("RAG_API_KEY", KEY)
    monkeypatch.setenv("RAG_ALLOWED_HOSTS", " Chat.Example.org , rag.localhost,")
    monkeypatch.setenv("RAG_CORS_ORIGINS", "https://App.example/")
    monkeypatch.setenv("RAG_MAX_BODY_BYTES", "2048")
    config = GuardConfig.from_settings(load_settings(), "0.0.0.0")
    assert config.allowed_hosts == {"chat.example.org", "rag.localhost"} and config.api_key == KEY
    assert config.cors_origins == {"https://app.example"} and config.max_body_bytes == 2048
    monkeypatch.setenv("RAG_ALLOWED_HOSTS", "*")
    assert GuardConfig.from_settings(load_settings(), "0.0.0.0").allowed_hosts is None
    monkeypatch.delenv("RAG_ALLOWED_HOSTS")
    assert GuardConfig.from_settings(load_settings(), "10.0.0.5").allowed_hosts == LOCAL_HOSTS | {"10.0.0.5"}
    monkeypatch.setenv("RAG_MAX_BODY_BYTES", "10")
    with pytest.raises(ConfigError, match=r"RAG_MAX_BODY_BYTES='10'.*>= 1024"):
        load_settings()
