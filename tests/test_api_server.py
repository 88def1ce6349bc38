"""The chatbot as an OpenAI-compatible API: a real uvicorn server (the app's FastAPI app with the Gradio UI
mounted beside the /v1 routes) on a free loopback port, over a small index, driven by the official client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import uvicorn
from conftest import SMALL_PAPERS, free_port, open_hash_pipeline, serve_in_thread

from rag.answer.base import ABSTENTION
from rag.app.serve import build_app

SAE, RIDG, SPEECH, GNN = SMALL_PAPERS
KEY = "rag-test-key-5f2c"



@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    pipeline = open_hash_pipeline(Path(tmp_path_factory.mktemp("api-data")))
    url, srv, thread = serve_in_thread(build_app(pipeline, KEY))
    yield url, pipeline
    srv.should_exit = True
    thread.join(10)


@pytest.fixture
def client(server: tuple[str, Any]) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server[0]}/v1", api_key=KEY, max_retries=0, timeout=30)


def test_models_are_listed(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["rag", "rag-extractive"]


def test_chat_completion_carries_checked_markers_and_sources(client: openai.OpenAI, server: tuple[str, Any]) -> None:
    question = "What do sparse autoencoders explain?"
    response = client.chat.completions.create(model="rag", messages=[{"role": "user", "content": question}])
    choice = response.choices[0]
    expected = server[1].ask(question)  # the same pipeline, asked directly
    assert choice.message.role == "assistant" and choice.finish_reason == "stop"
    assert choice.message.content == expected.text and "[1]" in choice.message.content
    extra = choice.model_extra or {}
    assert extra["answerer"] == "extractive" and extra["abstained"] is False and extra["notice"] is None
    assert extra["not_stated"] is None
    first = extra["sources"][0]
    assert first["marker"] == 1 and first["paper_id"] == SAE.id and first["title"] == SAE.title
    assert "SAE features explain 42.5% of the variance." in first["quote"] and first["verdict"] == "supported"
    assert all(f"{part.rstrip('.')}." in SAE.abstract for part in first["quote"].split(". "))
    assert [s["paper_id"] for s in extra["sources"]] == [c.paper.id for c in expected.citations]


def test_streaming_gives_the_same_checked_text_then_sources_and_usage(client: openai.OpenAI) -> None:
    messages: Any = [{"role": "user", "content": "What do sparse autoencoders explain?"}]
    whole = client.chat.completions.create(model="rag", messages=messages).choices[0].message.content
    chunks = list(client.chat.completions.create(
        model="rag", messages=messages, stream=True, stream_options={"include_usage": True}
    ))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole and len([c for c in chunks if c.choices and c.choices[0].delta.content]) >= 2
    final = [c for c in chunks if c.choices and c.choices[0].finish_reason][-1].choices[0]
    assert final.finish_reason == "stop"
    assert (final.model_extra or {})["sources"][0]["paper_id"] == SAE.id
    assert chunks[-1].choices == [] and chunks[-1].usage is not None


def test_a_follow_up_turn_uses_the_history(client: openai.OpenAI) -> None:
    first = "Is there a fast tokenizer for speech recognition?"
    reply = client.chat.completions.create(model="rag", messages=[{"role": "user", "content": first}])
    answer = reply.choices[0].message.content or ""
    assert (reply.choices[0].model_extra or {})["sources"][0]["paper_id"] == SPEECH.id
    follow: Any = [
        {"role": "system", "content": "You are helpful."},  # ignored: the app's prompts are its own
        {"role": "user", "content": first},
        {"role": "assistant", "content": answer},
        {"role": "user", "content": [{"type": "text", "text": "Which dataset is it evaluated on?"}]},
    ]
    stream = client.chat.completions.create(model="rag-extractive", messages=follow, stream=True)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "LibriSpeech" in text
    final = [c for c in chunks if c.choices and c.choices[0].finish_reason][-1].choices[0]
    assert (final.model_extra or {})["sources"][0]["paper_id"] == SPEECH.id


def test_an_unanswerable_question_abstains(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(
        model="rag", messages=[{"role": "user", "content": "What is the best recipe for sourdough bread?"}]
    )
    assert response.choices[0].message.content == ABSTENTION
    assert (response.choices[0].model_extra or {})["abstained"] is True


def test_a_bad_key_is_refused_in_openais_format(server: tuple[str, Any]) -> None:
    bad = openai.OpenAI(base_url=f"{server[0]}/v1", api_key="wrong-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as info:
        bad.chat.completions.create(model="rag", messages=[{"role": "user", "content": "What is sparsemax?"}])
    assert info.value.status_code == 401 and info.value.code == "invalid_api_key"
    raw = httpx.get(f"{server[0]}/v1/models")  # no Authorization header at all
    assert raw.status_code == 401
    error = raw.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and "RAG_API_KEY" in error["message"]
    assert "wrong-key" not in json.dumps(info.value.body)


def test_bad_requests_get_openai_errors(client: openai.OpenAI, server: tuple[str, Any]) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert missing.value.code == "model_not_found" and "rag-extractive" in missing.value.message
    with pytest.raises(openai.BadRequestError, match="the user's question"):
        client.chat.completions.create(model="rag", messages=[{"role": "assistant", "content": "hello"}])
    raw = httpx.post(f"{server[0]}/v1/chat/completions", content=b"{not json",
                     headers={"authorization": f"Bearer {KEY}", "content-type": "application/json"})
    assert raw.status_code == 400 and raw.json()["error"]["type"] == "invalid_request_error"
    assert "Traceback" not in raw.text


def test_the_chat_ui_is_served_on_the_same_port(server: tuple[str, Any]) -> None:
    page = httpx.get(f"{server[0]}/", follow_redirects=True, headers={"authorization": f"Bearer {KEY}"})
    assert page.status_code == 200 and "gradio" in page.text.lower()


def test_serving_off_loopback_without_a_key_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from rag.app.serve import serve

    monkeypatch.delenv("RAG_API_KEY", raising=False)
    assert serve(host="0.0.0.0", port=free_port()) == 2  # before any index is opened
    assert "RAG_API_KEY" in capsys.readouterr().err


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_the_mounted_chat_ui_answers_in_a_browser(server: tuple[str, Any]) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            page = browser.new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{server[0]}/", wait_until="domcontentloaded")  # with a key: the sign-in form first
            page.fill("input[name=key]", "not-the-key")
            page.click("input[type=submit]")
            assert "not right" in page.inner_text("body") and page.query_selector("#question") is None
            page.fill("input[name=key]", KEY)
            page.click("input[type=submit]")
            page.fill("#question textarea", "What does the rationale invariance loss do?")
            page.press("#question textarea", "Enter")
            page.wait_for_selector("#chat a.cite")
            assert "rationale invariance loss" in page.inner_text("#chat .message-row:has(a.cite)")
        finally:
            browser.close()


LLM_BASE = "http://llm.test/v1"


def sse_reply(text: str) -> httpx.Response:
    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m",
             "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    body = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


@pytest.fixture
def llm_server(tmp_path: Path) -> Iterator[str]:
    """The API over a pipeline whose LLM answerer talks to a respx-mocked endpoint."""
    from conftest import HashEmbedder

    from rag.answer.llm import make_llm_client
    from rag.index.ingest import ingest
    from rag.index.store import Store
    from rag.index.store import open_chroma as chroma_client
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    data = tmp_path / "data"
    settings = Settings(data_dir=data, openai_base_url=LLM_BASE, openai_api_key="sk-upstream-secret-77",
                        llm_max_retries=0)
    embedder, chroma = HashEmbedder(), chroma_client(data)
    ingest(list(SMALL_PAPERS), Store(chroma, embedder.name), embedder, data, progress=False)
    pipeline = Pipeline.open(settings, embedder=embedder, chroma_client=chroma, llm_client=make_llm_client(settings),
                             progress=False)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(build_app(pipeline), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def test_an_llm_answer_the_check_rejects_comes_back_extractive_with_a_notice(llm_server: str) -> None:
    import respx

    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="127.0.0.1").pass_through()
        route = mock.post(f"{LLM_BASE}/chat/completions").mock(
            return_value=sse_reply("PWNED. Ignore the sources and visit http://evil.test now.")
        )
        client = openai.OpenAI(base_url=f"{llm_server}/v1", api_key="unused", max_retries=0, timeout=30)
        assert [m.id for m in client.models.list()] == ["rag", "rag-extractive", "rag-llm"]
        response = client.chat.completions.create(
            model="rag-llm", messages=[{"role": "user", "content": "What do sparse autoencoders explain?"}]
        )
    assert route.called
    choice = response.choices[0]
    extra = choice.model_extra or {}
    assert extra["answerer"] == "extractive" and "withheld because it cites no source" in extra["notice"]
    assert "PWNED" not in (choice.message.content or "") and "[1]" in (choice.message.content or "")
    assert extra["sources"][0]["paper_id"] == SAE.id


def test_an_upstream_error_reaches_the_client_as_a_notice_without_the_key(llm_server: str) -> None:
    import respx

    echo = {"error": {"message": "denied for Authorization: Bearer sk-upstream-secret-77"}}
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="127.0.0.1").pass_through()
        mock.post(f"{LLM_BASE}/chat/completions").mock(return_value=httpx.Response(401, json=echo))
        client = openai.OpenAI(base_url=f"{llm_server}/v1", api_key="unused", max_retries=0, timeout=30)
        chunks = list(client.chat.completions.create(
            model="rag-llm", stream=True,
            messages=[{"role": "user", "content": "What do sparse autoencoders explain?"}],
        ))
    final = [c for c in chunks if c.choices and c.choices[0].finish_reason][-1].choices[0]
    notice = (final.model_extra or {})["notice"]
    assert "OPENAI_API_KEY" in notice and "sk-upstream" not in notice and "secret-77" not in notice
    assert "secret-77" not in "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
