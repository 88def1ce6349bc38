"""Fault-finding for the CLI (issue 13): invalid settings, terminal escapes from the corpus, bad ``-k``, and
questions that must fail before any index or model is opened. Everything goes through ``main(argv)``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import SMALL_PAPERS, HashEmbedder

from rag.app.cli import main
from rag.app.term import safe, safe_line
from rag.errors import ConfigError, QueryError
from rag.settings import Settings, allowed_values, load_settings

ESC_TITLE = "Clearing \x1b[2J\x1b[31mRed\x1b[0m Screens with \u202eBidi\u202c Tricks"
ESC_ABSTRACT = (
    "We show that terminal escapes \x1b]0;pwned\x07 hide in abstracts. A second sentence about screens "
    "and red terminals follows here."
)


def run(capsys: pytest.CaptureFixture[str], *argv: str, **seams: Any) -> tuple[int, str, str]:
    code = main(list(argv), **seams)
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------------------------------------ settings


@pytest.mark.parametrize(
    ("env", "value", "fragments"),
    [
        ("RAG_TOP_K", "abc", ["RAG_TOP_K='abc'", "valid integer", "allowed: a whole number (>= 1, <= 20)"]),
        ("RAG_TOP_K", "-3", ["RAG_TOP_K='-3'", "allowed: a whole number (>= 1, <= 20)"]),
        ("RAG_ANSWERER", "bogus", ["RAG_ANSWERER='bogus'", "allowed: one of auto, extractive, llm"]),
        ("RAG_RERANKER", "best", ["RAG_RERANKER='best'", "allowed: one of features, cross-encoder, llm, none"]),
        ("RAG_EMBEDDER_RUNTIME", "gpu", ["RAG_EMBEDDER_RUNTIME='gpu'", "one of onnx, onnx-int8, torch"]),
        ("RAG_CANDIDATES", "-1", ["RAG_CANDIDATES='-1'", "(>= 1, <= 1000)"]),
        ("RAG_LLM_TIMEOUT", "-5", ["RAG_LLM_TIMEOUT='-5'", "allowed: a number (> 0, <= 86400)"]),
        ("RAG_LLM_TIMEOUT", "inf", ["RAG_LLM_TIMEOUT='inf'", "finite"]),
        ("RAG_ANSWER_EVIDENCE", "NaN", ["RAG_ANSWER_EVIDENCE='NaN'", "finite number"]),  # had been "<= 1"
        ("RAG_MAX_BODY_BYTES", "1e9", ["(>= 1024, <= 100000000)"]),  # as an integer setting takes it, not 1e+08
        ("RAG_ABSTAIN_THRESHOLD", "1.5", ["RAG_ABSTAIN_THRESHOLD='1.5'", "(>= 0, <= 1)"]),
        ("RAG_INGEST_LOCK_TIMEOUT", "soon", ["RAG_INGEST_LOCK_TIMEOUT='soon'", "a number (>= 0, <= 86400)"]),
        ("RAG_CORPUS_PATHS", "corpus/", ["RAG_CORPUS_PATHS='corpus/'", "allowed: a JSON list of paths"]),
        ("RAG_CHROMA_URL", "localhost:8000", ["RAG_CHROMA_URL='localhost:8000'", "http:// or https:// URL"]),
        ("OPENAI_BASE_URL", "ftp://x", ["OPENAI_BASE_URL='ftp://x'", "http:// or https:// URL"]),
        # the Chroma client takes host and port only: credentials, a path or a query would be dropped silently
        ("RAG_CHROMA_URL", "http://user:s3cret@127.0.0.1:8000", ["RAG_CHROMA_URL='http://127.0.0.1:8000'",
                                                                 "user:password@"]),
        ("RAG_CHROMA_URL", "http://127.0.0.1:8000/some/prefix", ["no path or query"]),
    ],
)
def test_every_invalid_setting_is_a_config_error_naming_variable_and_allowed_values(
    env: str, value: str, fragments: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(env, value)
    code, out, err = run(capsys, "stats")
    assert code == ConfigError.exit_code == 2 and out == ""
    assert err.startswith("error: invalid setting: ") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, err
    assert "Fix or unset the environment variable" in err
    assert "Traceback" not in err and "pydantic" not in err and "https://errors.pydantic.dev" not in err
    assert "s3cret" not in err
    with pytest.raises(ConfigError):
        load_settings()


def test_data_dir_pointing_at_a_file_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "index.txt"
    a_file.write_text("not a folder")
    for value, message in ((a_file, "it is a file, not a folder"), (a_file / "sub", f"{a_file} is a file")):
        monkeypatch.setenv("RAG_DATA_DIR", str(value))
        code, out, err = run(capsys, "ingest", "--quiet")
        assert code == 2 and out == "" and f"error: invalid setting: RAG_DATA_DIR='{value}': {message}" in err
        assert "allowed: a folder path" in err
    assert a_file.read_text() == "not a folder"


def test_several_bad_settings_are_named_together_and_a_secret_is_never_echoed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RAG_TOP_K", "many")
    monkeypatch.setenv("RAG_ANSWERER", "oracle")
    monkeypatch.setenv("RAG_OPENAI_BASE_URL", "sk-secret-looking-url")
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "RAG_TOP_K='many'" in message and "RAG_ANSWERER='oracle'" in message and "OPENAI_BASE_URL" in message
    monkeypatch.delenv("RAG_OPENAI_BASE_URL")
    monkeypatch.delenv("RAG_TOP_K")
    monkeypatch.delenv("RAG_ANSWERER")
    monkeypatch.setenv("RAG_API_KEY", "")  # empty means unset, not an empty key
    assert load_settings().api_key is None
    monkeypatch.setenv("RAG_API_KEY", " \t")  # white space too: a single space let anyone sign in
    assert load_settings().api_key is None
    monkeypatch.setenv("RAG_API_KEY", "svc-key-9d41\n")  # a secret file's newline is not part of the key
    key = load_settings().api_key
    assert key is not None and key.get_secret_value() == "svc-key-9d41"
    for bad, why in (("abc", "at least 8 characters"), ("ключ-ключ-ключ", "printable ASCII"),
                     ("svc\x01key-9d41", "printable ASCII")):
        monkeypatch.setenv("RAG_API_KEY", bad)
        with pytest.raises(ConfigError, match=why) as refused:
            load_settings()
        assert bad not in str(refused.value)  # a key is never echoed


def test_allowed_values_come_from_the_declarations() -> None:
    assert allowed_values("top_k") == "a whole number (>= 1, <= 20)"
    assert allowed_values("answerer") == "one of auto, extractive, llm"
    assert allowed_values("data_dir") == "a folder path"
    assert allowed_values("llm_model") == "text"
    assert "RAG_INGEST_LOCK_TIMEOUT" in (Settings.model_fields["ingest_lock_timeout"].description or "")


# ------------------------------------------------------------------------------------------ terminal safety


def test_safe_escapes_control_characters_and_keeps_text() -> None:
    assert safe(ESC_TITLE) == "Clearing \\x1b[2J\\x1b[31mRed\\x1b[0m Screens with \\u202eBidi\\u202c Tricks"
    assert safe("line one\n\tindented\r\x00\x7f\x85\x9b\u2028\u2066x\u2069\u200f") == (
        "line one\n\tindented\\x0d\\x00\\x7f\\x85\\x9b\\u2028\\u2066x\\u2069\\u200f"
    )
    assert safe_line("a\nb\tc") == "a\\x0ab\\x09c"
    plain = "Naïve Bayes — 深度学习, Обучение, λ-ECLIPSE 🚀 “quoted” 3.5×"
    assert safe(plain) == safe_line(plain) == plain
    assert all(safe(chr(c)) != chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)])


@pytest.fixture(scope="module")
def escaped_index(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``rag ingest`` of the small corpus plus a paper whose title and abstract carry terminal escapes."""
    root = tmp_path_factory.mktemp("esc")
    rows = [{"title": p.title, "abstract": p.abstract} for p in SMALL_PAPERS]
    rows.append({"title": ESC_TITLE, "abstract": ESC_ABSTRACT})
    corpus = root / "c.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    data_dir = root / "data\x1b[31m"
    settings = Settings(data_dir=data_dir, abstain_threshold=0.0)
    embedder = HashEmbedder()
    assert main(["ingest", "--quiet", str(corpus)], settings=settings, embedder=embedder) == 0
    return {"settings": settings, "embedder": embedder}


def test_search_and_ask_output_carry_no_escape_characters(
    escaped_index: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "search", "terminal escapes clearing red screens", **escaped_index)
    first = out.splitlines()[1]
    assert code == 0 and "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert first.endswith("Clearing \\x1b[2J\\x1b[31mRed\\x1b[0m Screens with \\u202eBidi\\u202c Tricks")
    code, out, _ = run(capsys, "search", "terminal escapes hide in abstracts", "-k", "1", **escaped_index)
    assert code == 0 and "\x1b" not in out and "“We show that terminal escapes \\x1b]0;pwned\\x07 hide" in out
    code, out, _ = run(capsys, "ask", "Where do terminal escapes hide?", "-k", "2", **escaped_index)
    assert code == 0 and "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "Clearing \\x1b[2J" in out  # the source line names the paper, escaped
    code, out, _ = run(capsys, "stats", **escaped_index)
    assert code == 0 and "\x1b" not in out and "data\\x1b[31m" in out


def test_json_output_stays_exact_json(escaped_index: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "search", "terminal escapes clearing red screens", "--json", **escaped_index)
    assert code == 0 and "\x1b" not in out  # json.dumps escapes it as \u001b
    assert json.loads(out)[0]["paper"]["title"] == ESC_TITLE
    code, out, _ = run(capsys, "stats", "--json", **escaped_index)
    assert json.loads(out)["data_dir"].endswith("data\x1b[31m")


def test_error_messages_are_terminal_safe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "evil\x1b[2J.jsonl"
    bad.write_text('{"title": "x\\u001b[2J", "abstract": 5}\n', encoding="utf-8")
    code, out, err = run(capsys, "ingest", "--quiet", str(bad), settings=Settings(data_dir=tmp_path / "d"),
                         embedder=HashEmbedder())  # fmt: skip
    assert code == 3 and out == "" and "\x1b" not in err and "evil\\x1b[2J.jsonl:1" in err


# ------------------------------------------------------------------------------------------ cheap input checks


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", "graph", "-k", "-3"], "argument -k: k=-3 is out of range; ask for 1 to 100 papers"),
        (["search", "graph", "-k", "101"], "argument -k: k=101 is out of range; ask for 1 to 100 papers"),
        (["search", "graph", "-k", "2.5"], "argument -k: must be a whole number from 1 to 100, not '2.5'"),
        (["ask", "graph", "-k", "0"], "argument -k: k=0 is out of range; ask for 1 to 20 papers"),
    ],
)
def test_bad_k_is_a_usage_error_not_an_empty_table(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *argv, settings=Settings(data_dir=tmp_path / "never"), embedder=HashEmbedder())
    assert code == 2 and out == "" and message in err
    assert not (tmp_path / "never").exists()


@pytest.fixture
def no_models(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record (and refuse) every attempt to build an embedder or open a pipeline."""
    import rag.index.embeddings
    import rag.pipeline

    opened: list[str] = []

    def refuse(name: str) -> Any:
        def call(*args: object, **kwargs: object) -> Any:
            opened.append(name)
            raise AssertionError(f"{name} was called")

        return call

    monkeypatch.setattr(rag.index.embeddings, "make_embedder", refuse("make_embedder"))
    monkeypatch.setattr(rag.index.embeddings, "MiniLMEmbedder", refuse("MiniLMEmbedder"))
    monkeypatch.setattr(rag.pipeline.Pipeline, "open", classmethod(lambda cls, *a, **k: refuse("Pipeline.open")()))
    return opened


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ask", "\x1b\x07\x00\u200e\u202e\x9b \t"], "the question is empty"),
        (["search", "\x01\x02\x03\x7f"], "the question is empty"),
        (["ask", "   \n  "], "the question is empty"),
        (["ask", "why? " * 1001], "the question is 5,005 characters; the limit is 5,000"),
    ],
)
def test_unusable_question_fails_fast_without_loading_any_model(
    argv: list[str], message: str, no_models: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *argv, settings=Settings(data_dir=tmp_path / "never"))  # the real model factory
    assert code == QueryError.exit_code == 5 and out == "" and f"error: {message}" in err
    assert no_models == [] and not (tmp_path / "never").exists()


def test_the_guard_really_catches_a_model_load(
    no_models: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(AssertionError, match="was called"):
        main(["search", "a real question"], settings=Settings(data_dir=tmp_path / "d"))
    assert no_models  # the same guard sees a normal question reach the models


def test_search_after_an_interrupted_rebuild_names_the_fix_and_builds_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A killed ``rag ingest --rebuild`` left its marker: ``rag search`` exits 4 naming ``rag ingest`` (it neither
    answers from the half-rebuilt index nor starts a build of its own); after ``rag ingest`` it answers."""
    from rag.index.ingest import rebuild_marker

    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"title": p.title, "abstract": p.abstract}) + "\n" for p in SMALL_PAPERS))
    settings = Settings(data_dir=tmp_path / "data", corpus_paths=[corpus])
    embedder = HashEmbedder()
    assert main(["ingest", "--quiet"], settings=settings, embedder=embedder) == 0
    rebuild_marker(settings.data_dir, embedder.name).write_text("a rebuild started\n", encoding="utf-8")
    capsys.readouterr()
    calls = len(embedder.calls)
    code, out, err = run(capsys, "search", "rationale invariance", settings=settings, embedder=embedder)
    assert code == 4 and out == "" and "interrupted" in err and "run `rag ingest`" in err
    assert len(embedder.calls) == calls  # nothing embedded: no build started
    assert main(["ingest", "--quiet"], settings=settings, embedder=embedder) == 0
    code, out, _ = run(capsys, "search", "rationale invariance", settings=settings, embedder=embedder)
    assert code == 0 and "Rationale Invariance" in out


def test_a_rag_variable_that_sets_nothing_is_named_with_the_setting_it_looks_like(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tester's misspelled RAG_TOPK was ignored without a word, as was one of RAG_CANDIDATE_POOL and RAG_CANDIDATES
    set together."""
    from rag.settings import ignored_variables

    assert ignored_variables({"RAG_TOPK": "3", "RAG_TEST_INDEX": "/x", "RAG_TOP_K": "3", "HOME": "/root"}) == [
        "RAG_TOPK is no setting and is ignored (did you mean RAG_TOP_K?); the settings: docs/configuration.md"]
    assert ignored_variables({"RAG_CANDIDATES": "40", "RAG_CANDIDATE_POOL": "50"}) == [
        "RAG_CANDIDATE_POOL and RAG_CANDIDATES are both set; RAG_CANDIDATE_POOL is used"]
    monkeypatch.setenv("RAG_ZZZ_UNRELATED", "1")
    _, _, err = run(capsys, "stats", "--json")
    assert err.splitlines()[0] == ("warning: RAG_ZZZ_UNRELATED is no setting and is ignored; the settings: "
                                   "docs/configuration.md")
