"""The package-level API: ``rag.search/ask/stream`` on the default pipeline (set with ``rag.use_pipeline``),
their typed signatures (checked with mypy), input validation, and the ``AnswerStream`` contract."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import SMALL_PAPERS, open_hash_pipeline

import rag
from rag.pipeline import Pipeline
from rag.stream import AnswerStream
from rag.types import Answer

SAE, RIDG, SPEECH, GNN = SMALL_PAPERS
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """A real pipeline over the small papers, made the default one for the module."""
    p = open_hash_pipeline(tmp_path_factory.mktemp("api") / "data", abstain_threshold=0.0)
    previous = rag.use_pipeline(p)
    yield p
    rag.use_pipeline(previous)


def test_use_pipeline_sets_and_restores_the_default(pipeline: Pipeline, tmp_path: Path) -> None:
    assert rag.default_pipeline() is pipeline
    other = open_hash_pipeline(tmp_path / "other", SMALL_PAPERS[:1])
    assert rag.use_pipeline(other) is pipeline
    try:
        assert rag.default_pipeline() is other
        assert [h.paper.id for h in rag.search("graph neural networks")] == [SAE.id]  # the only paper there
    finally:
        assert rag.use_pipeline(pipeline) is other
    assert rag.default_pipeline() is pipeline


def test_search_ranks_and_filters(pipeline: Pipeline) -> None:
    hits = rag.search("rationale invariance loss for domain generalization", k=2)
    assert [h.paper.id for h in hits][:1] == [RIDG.id] and len(hits) == 2
    assert [h.paper.id for h in rag.search("sparse autoencoders", 10, listing_date="Mar 17")] == [SPEECH.id]
    assert {h.paper.id for h in rag.search("sparse", source=["b.txt"])} == {SPEECH.id, GNN.id}


def test_ask_uses_k_answerer_and_filters(pipeline: Pipeline) -> None:
    answer = rag.ask("What does the rationale invariance loss do?", k=1, answerer="extractive")
    assert isinstance(answer, Answer) and answer.answerer == "extractive"
    assert [c.paper.id for c in answer.citations] == [RIDG.id] and "[1]" in answer.text
    filtered = rag.ask("What do sparse autoencoders learn?", source="b.txt")
    assert {h.paper.id for h in filtered.hits} == {SPEECH.id, GNN.id}
    assert SAE.id not in {c.paper.id for c in filtered.citations}


def test_ask_follows_the_history(pipeline: Pipeline) -> None:
    history = [
        {"role": "user", "content": "Is there a fast tokenizer for speech recognition?"},
        {"role": "assistant", "content": "Yes, it runs 3.5x faster than prior work [1]."},
    ]
    answer = rag.ask("Which dataset is it evaluated on?", history)
    assert answer.citations and answer.citations[0].paper.id == SPEECH.id
    assert "LibriSpeech" in answer.text
    assert answer.standalone_question != "Which dataset is it evaluated on?"  # condensed with the history
    openai_style = [{"role": "system", "content": "You are helpful."}, *history, {"role": "tool", "content": "{}"}]
    assert rag.ask("Which dataset is it evaluated on?", openai_style).text == answer.text  # those are not turns
    tools = [{"role": "user", "content": [{"type": "text", "text": history[0]["content"]}]}, history[1],
             *[{"role": "assistant", "content": None, "tool_calls": []}, {"role": "tool", "content": "{}"}] * 30]
    assert rag.ask("Which dataset is it evaluated on?", tools).text == answer.text  # skipped turns take no place


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ("user: hi", "history must be a list"),
        ([{"role": "robot", "content": "x"}], r"history\[0\] must be a dict with role 'user' or 'assistant'"),
        ([{"role": "user", "content": "ok"}, {"role": "assistant"}], r"history\[1\]\['content'\] must be a string"),
        ([["user", "hi"]], r"history\[0\] must be a dict"),
    ],
)
def test_bad_history_is_refused_by_ask_and_stream(pipeline: Pipeline, history: Any, message: str) -> None:
    with pytest.raises(rag.QueryError, match=message):
        rag.ask("what is a rationale matrix?", history)
    with pytest.raises(rag.QueryError, match=message):
        rag.stream("what is a rationale matrix?", history)  # at the call, before iterating


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"k": 0}, rag.QueryError, "k=0 is out of range; ask for 1 to 20 papers"),
        ({"k": "5"}, rag.QueryError, "k must be a whole number from 1 to 20, not '5'"),
        ({"answerer": "gpt"}, rag.ConfigError, "unknown answerer 'gpt'; use 'extractive' or 'llm'"),
        ({"answerer": "llm"}, rag.ConfigError, "no LLM is configured; set OPENAI_API_KEY"),
        ({"year": "2024"}, rag.QueryError, "unknown filter 'year'; valid filters: listing_date, source"),
        ({"listing_date": ""}, rag.QueryError, "filter 'listing_date' needs a non-empty value"),
    ],
)
def test_bad_options_are_refused_with_a_message_saying_what_to_send(
    pipeline: Pipeline, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        rag.stream("rationale invariance", **kwargs)


# ------------------------------------------------------------------------------------------- the stream object


def test_stream_gives_text_chunks_then_the_answer(pipeline: Pipeline) -> None:
    stream = rag.stream("What does the rationale invariance loss do?", k=2)
    assert isinstance(stream, AnswerStream) and not stream.done
    chunks = list(stream)
    assert stream.done and chunks and all(isinstance(c, str) for c in chunks)
    answer = stream.answer
    assert stream.text() == "".join(chunks) == answer.text
    assert answer.citations[0].paper.id == RIDG.id
    assert list(stream) == chunks and stream.answer is answer  # replayed, not re-run


def test_answer_before_iterating_consumes_the_stream(pipeline: Pipeline) -> None:
    stream = rag.stream("How fast is the speech recognition tokenizer?")
    answer = stream.answer
    assert stream.done and "3.5x faster" in answer.text
    assert stream.text() == answer.text and list(stream) == [answer.text]


def counted(items: list[str | Answer], runs: list[int], fail: Exception | None = None) -> Iterator[str | Answer]:
    runs.append(1)
    for item in items:
        if fail is not None and isinstance(item, Answer):
            raise fail
        yield item


def fake_answer(text: str) -> Answer:
    return Answer("q", text, (), False, "extractive", ())


def test_stream_runs_its_source_once_whatever_the_order_of_reads() -> None:
    final = fake_answer("one two three")
    runs: list[int] = []
    stream = AnswerStream(counted(["one ", "two ", "", "three", final], runs))
    assert runs == [] and not stream.done  # lazy: nothing ran yet
    first = iter(stream)
    assert next(first) == "one " and runs == [1] and not stream.done
    assert stream.answer is final and stream.done  # consumes the rest
    assert list(first) == ["two ", "three"]  # the half-read iterator continues; the empty chunk is dropped
    assert list(stream) == ["one ", "two ", "three"] and stream.text() == "one two three"
    assert runs == [1]
    assert "done, 3 chunks" in repr(stream)


def test_concurrent_readers_of_one_stream_see_the_same_chunks_and_answer() -> None:
    final = fake_answer("abc")
    runs: list[int] = []
    gate = threading.Event()

    def slow() -> Iterator[str | Answer]:
        for item in counted(["a", "b", "c", final], runs):
            gate.wait(5)
            yield item

    stream = AnswerStream(slow())
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(lambda: (list(stream), stream.answer)) for _ in range(4)]
        gate.set()
        results = [f.result(timeout=10) for f in futures]
    assert results == [(["a", "b", "c"], final)] * 4 and runs == [1]


def test_an_error_reaches_every_later_reader() -> None:
    runs: list[int] = []
    stream = AnswerStream(counted(["partial ", fake_answer("x")], runs, fail=rag.LLMError("the LLM went away")))
    seen = []
    with pytest.raises(rag.LLMError, match="the LLM went away"):
        for chunk in stream:
            seen.append(chunk)
    assert seen == ["partial "] and stream.done
    with pytest.raises(rag.LLMError, match="the LLM went away"):
        _ = stream.answer
    with pytest.raises(rag.LLMError):
        stream.text()
    assert runs == [1]


def test_a_source_without_an_answer_is_reported() -> None:
    stream = AnswerStream(iter(["text only"]))
    with pytest.raises(rag.RagError, match="must yield the final Answer last"):
        _ = stream.answer


def test_close_stops_an_unfinished_stream_and_keeps_a_finished_one() -> None:
    closed: list[bool] = []

    def source() -> Iterator[str | Answer]:
        try:
            yield "first "
            yield "second"
            yield fake_answer("first second")
        finally:
            closed.append(True)

    stream = AnswerStream(source())
    assert next(iter(stream)) == "first "
    stream.close()
    assert closed == [True] and stream.done
    with pytest.raises(rag.RagError, match="closed before it finished"):
        _ = stream.answer
    finished = AnswerStream.of(fake_answer("done"))
    assert finished.answer.text == "done"
    finished.close()
    assert finished.answer.text == "done" and list(finished) == ["done"]


# ------------------------------------------------------------------------------------------------ static types

TYPED_USE = """
import rag

answer: rag.Answer = rag.ask("q", [{"role": "user", "content": "hi"}], k=3, answerer="llm", source="a.txt")
hits: list[rag.Hit] = rag.search("q", 5, listing_date=["Mar 21", "Mar 17"])
stream: rag.AnswerStream = rag.stream("q", answerer=None, listing_date=None)
chunks: list[str] = list(stream)
final: rag.Answer = stream.answer
"""

MISTYPED_USE = """
import rag

rag.ask("q", k="3")
rag.ask("q", answerer="gpt")
rag.search("q", year="2024")
rag.stream("q", 3)
rag.stream("q").answer.textt
"""


@pytest.mark.slow
def test_the_public_signatures_are_checked_by_mypy(tmp_path: Path) -> None:
    from mypy import api

    good, bad = tmp_path / "good.py", tmp_path / "bad.py"
    good.write_text(TYPED_USE)
    bad.write_text(MISTYPED_USE)
    # the project's mypy configuration and cache (as `make lint` uses them), so only the snippets are new work
    flags = ["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(ROOT / ".mypy_cache")]
    out, _, status = api.run([*flags, str(good)])
    assert status == 0, out
    out, _, status = api.run([*flags, str(bad)])
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert status == 1 and [int(line.split(":")[1]) for line in errors] == [4, 5, 6, 7, 8], out
    assert 'Argument "k" to "ask" has incompatible type "str"' in errors[0]
    assert "Literal['extractive', 'llm'] | None" in errors[1]
    assert 'Unexpected keyword argument "year"' in errors[2]
    assert 'Argument 2 to "stream" has incompatible type "int"' in errors[3]  # k is keyword-only
    assert '"Answer" has no attribute "textt"' in errors[4]


# ------------------------------------------------------------------------------------- the default from settings


@pytest.mark.slow
def test_default_pipeline_opens_the_index_in_rag_data_dir(
    real_index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_DATA_DIR", str(real_index_dir))
    previous = rag.use_pipeline(None)
    try:
        hits = rag.search("What does MaxSup penalize instead of the ground-truth logit?", k=3)
        assert "MaxSup" in hits[0].paper.title
        assert rag.default_pipeline().settings.data_dir == real_index_dir
        assert rag.default_pipeline() is rag.default_pipeline()  # opened once
    finally:
        rag.use_pipeline(previous)
