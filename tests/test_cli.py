"""Every ``rag`` command through ``rag.app.cli.main(argv)``: stdout content, stderr messages, exit codes.

The fast tests run over a small corpus ingested by ``rag ingest`` itself with ``HashEmbedder`` (passed through
``main``'s ``embedder`` seam); one slow test runs ``search``/``ask`` with the real MiniLM model on the real index.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from conftest import SMALL_PAPERS, HashEmbedder

from rag.app.cli import main
from rag.errors import ConfigError, CorpusError, IndexNotReadyError, LLMError, QueryError, RagError
from rag.index.embeddings import MINILM, MINILM_INT8
from rag.settings import Settings

SAE, RIDG, SPEECH, GNN = SMALL_PAPERS
BASE = "http://llm.test/v1"


def write_corpus(folder: Path) -> list[Path]:
    """Two files: a.jsonl (SAE, RIDG; Mar 21) and b.jsonl (speech, Mar 17; GNN, no date)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, papers in (("a.jsonl", [SAE, RIDG]), ("b.jsonl", [SPEECH, GNN])):
        rows = [{"title": p.title, "abstract": p.abstract, "listing_date": p.listing_date} for p in papers]
        path = folder / name
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        paths.append(path)
    return paths


def run(capsys: pytest.CaptureFixture[str], *argv: str, **seams: Any) -> tuple[int, str, str]:
    code = main(list(argv), **seams)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, HashEmbedder]:
    """A data dir filled by ``rag ingest`` (HashEmbedder), shared by the read-only command tests."""
    root = tmp_path_factory.mktemp("cli")
    settings = Settings(data_dir=root / "data", abstain_threshold=0.0)
    embedder = HashEmbedder()
    paths = [str(p) for p in write_corpus(root / "corpus")]
    assert main(["ingest", "--quiet", *paths], settings=settings, embedder=embedder) == 0
    return settings, embedder


def seams(indexed: tuple[Settings, HashEmbedder], **overrides: Any) -> dict[str, Any]:
    settings, embedder = indexed
    return {"settings": Settings(**{**settings.model_dump(), **overrides}), "embedder": embedder}


# ------------------------------------------------------------------------------------------------ ingest, stats


def test_ingest_reports_counts_then_only_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings, embedder = Settings(data_dir=tmp_path / "data"), HashEmbedder()
    paths = list(map(str, write_corpus(tmp_path / "corpus")))
    code, out, _ = run(capsys, "ingest", "--quiet", *paths, settings=settings, embedder=embedder)
    assert code == 0
    assert out.startswith("added 4, updated 0, unchanged 0, removed 0") and "index holds 4 papers" in out
    code, out, _ = run(capsys, "ingest", "--quiet", *paths, settings=settings, embedder=embedder)
    assert code == 0 and out.startswith("added 0, updated 0, unchanged 4, removed 0")
    code, out, _ = run(capsys, "stats", "--json", settings=settings, embedder=embedder)
    stats = json.loads(out)
    assert code == 0 and stats["papers"] == 4 and stats["chunks"] >= 4 and stats["sentences"] >= 12
    assert stats["embedder"] == "hash-bow-256" and stats["data_dir"] == str(tmp_path / "data")
    assert stats["chroma_url"] is None


def test_ingest_refuses_an_empty_path_and_reads_a_file_named_twice_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tester's `rag ingest in/a.jsonl ""` (an unset shell variable) ingested the current folder, and a file named
    twice ("in/a.jsonl", "./in/../in/a.jsonl") gave every paper two sources."""
    settings, embedder = Settings(data_dir=tmp_path / "data"), HashEmbedder()
    first, _ = write_corpus(tmp_path / "corpus")
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "ingest", "--quiet", str(first), "", settings=settings, embedder=embedder)
    assert code == 2 and out == "" and "empty path" in err and "Traceback" not in err
    assert not (tmp_path / "data").exists() or json.loads(run(capsys, "stats", "--json", settings=settings,
                                                               embedder=embedder)[1])["papers"] == 0
    again = f"corpus/../corpus/{first.name}"
    code, out, _ = run(capsys, "ingest", "--quiet", str(first), again, settings=settings, embedder=embedder)
    assert code == 0 and "with new sources" not in out
    from rag.index.store import Store, open_chroma

    store = Store(open_chroma(settings.data_dir), embedder.name)
    assert all(len(set(p.sources)) == len(p.sources) == 1 for p in store.papers().values())


def test_stats_text_lists_every_count(
    indexed: tuple[Settings, HashEmbedder], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "stats", **seams(indexed))
    rows = dict(line.strip().split(": ", 1) for line in out.splitlines())
    assert code == 0 and rows["papers"] == "4" and rows["embedder"] == "hash-bow-256"
    assert set(rows) == {"papers", "chunks", "sentences", "embedder", "data_dir", "chroma_url"}


def test_stats_of_a_folder_without_an_index_or_with_a_broken_rebuild_is_an_error(
    indexed: tuple[Settings, HashEmbedder], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tester's `RAG_DATA_DIR=<typo> rag stats` created an empty index there and said "papers: 0" (exit 0); after a
    killed `rag ingest --rebuild` it printed the partial count while `rag ask` said the index is incomplete."""
    from rag.index.ingest import rebuild_marker

    missing = tmp_path / "typo"
    code, out, err = run(capsys, "stats", settings=Settings(data_dir=missing), embedder=indexed[1])
    assert (code, out) == (4, "") and err.startswith(f"error: no index in {missing}: run `rag ingest`")
    assert not missing.exists()
    marker = rebuild_marker(indexed[0].data_dir, indexed[1].name)
    marker.write_text("{}")
    try:
        code, out, err = run(capsys, "stats", **seams(indexed))
    finally:
        marker.unlink()
    assert (code, out) == (4, "") and "was interrupted and the index is incomplete" in err


def test_ingest_of_a_bad_file_writes_nothing_and_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings, embedder = Settings(data_dir=tmp_path / "data"), HashEmbedder()
    good, _ = write_corpus(tmp_path / "corpus")
    bad = tmp_path / "corpus" / "bad.jsonl"
    bad.write_text('{"title": "T", "abstract": "A long enough abstract."}\n{"title": oops\n', encoding="utf-8")
    code, out, err = run(capsys, "ingest", "--quiet", str(good), str(bad), settings=settings, embedder=embedder)
    assert code == CorpusError.exit_code == 3 and out == ""
    assert f"error: {bad}:2: not valid JSON" in err and "Nothing was written" in err
    code, out, err = run(capsys, "stats", "--json", settings=settings, embedder=embedder)
    assert code == 4 and out == "" and "error: no index in" in err  # not even an empty one


def test_ctrl_c_during_ingest_exits_130(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    class Interrupted(HashEmbedder):
        def embed(self, texts):  # type: ignore[no-untyped-def]
            raise KeyboardInterrupt

    paths = list(map(str, write_corpus(tmp_path / "corpus")))
    settings = Settings(data_dir=tmp_path / "d")
    code, _, err = run(capsys, "ingest", "--quiet", *paths, settings=settings, embedder=Interrupted())
    assert code == 130
    assert err.strip() == "interrupted; what was written is kept: run `rag ingest` again to finish"  # one line


def test_a_ctrl_c_python_cannot_raise_prints_no_traceback() -> None:
    """An interrupt landing in a callback (an import lock's, a finalizer) is "unraisable": Python printed "Exception
    ignored in ..." and a traceback above the command's "interrupted" line. Other unraisable errors still show."""
    import subprocess
    import sys

    script = (
        "import gc, sys\n"
        "from rag.app.cli import main\n"
        "main(['--help'])\n"
        "class Interrupted:\n"
        "    def __del__(self): raise KeyboardInterrupt\n"
        "class Broken:\n"
        "    def __del__(self): raise ValueError('a real bug')\n"
        "Interrupted(); Broken(); gc.collect()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert "KeyboardInterrupt" not in done.stderr, done.stderr
    assert "ValueError: a real bug" in done.stderr


# ------------------------------------------------------------------------------------------------------ search


def test_search_prints_ranked_titles_ids_and_evidence(
    indexed: tuple[Settings, HashEmbedder], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "search", "rationale invariance loss for domain generalization", **seams(indexed))
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["#", "score", "paper", "title", "/", "best", "sentence"]
    assert lines[1].split()[0] == "1" and RIDG.id in lines[1] and lines[1].endswith(RIDG.title)
    assert "“We propose a rationale invariance loss for domain generalization.”" in lines[2]
    assert [line.split()[0] for line in lines[1::2]] == ["1", "2", "3", "4"]  # all 4 papers (k=10)
    assert all(line.strip().startswith("“") for line in lines[2::2])


def test_a_closed_pipe_or_an_ascii_terminal_gets_no_traceback(
    indexed: tuple[Settings, HashEmbedder], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rag search ... | head -1`` closes stdout under the CLI (exit 141, nothing on stderr), and a terminal
    that is not UTF-8 gets the curly quotes as escapes."""
    import io
    import sys

    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    err = io.StringIO()
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    monkeypatch.setattr(sys, "stderr", err)
    assert main(["search", "rationale invariance"], **seams(indexed)) == 141
    assert err.getvalue() == ""
    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    monkeypatch.setattr(sys, "stdout", ascii_out)
    assert main(["search", "rationale invariance"], **seams(indexed)) == 0
    ascii_out.flush()
    printed = ascii_out.buffer.getvalue().decode("ascii")  # type: ignore[attr-defined]
    assert "\\u201cWe propose a rationale invariance loss" in printed


def test_a_full_disk_under_the_output_is_one_line(
    indexed: tuple[Settings, HashEmbedder], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rag search attention > /dev/full`` (a tester's) printed a traceback ending in "No space left on device"."""
    import errno
    import io
    import sys

    class FullDisk(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    err = io.StringIO()
    monkeypatch.setattr(sys, "stdout", FullDisk())
    monkeypatch.setattr(sys, "stderr", err)
    for argv in (["search", "rationale invariance"], ["ask", "--json", "What do sparse autoencoders explain?"]):
        assert main(argv, **seams(indexed)) == 1
        assert err.getvalue() == ("error: could not write the output (No space left on device); free some space or "
                                  "send the output elsewhere\n")
        err.truncate(0), err.seek(0)


def test_an_error_naming_a_file_with_a_newline_in_its_name_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "two\nlines"
    folder.mkdir()
    (folder / "a.jsonl").write_text("x")
    given = {"settings": Settings(data_dir=tmp_path / "d"), "embedder": HashEmbedder()}
    code, out, err = run(capsys, "ingest", "--quiet", str(folder / "a.jsonl"), **given)
    assert code == 3 and out == "" and err.count("\n") == 1 and "two\\x0alines/a.jsonl:1: not valid JSON" in err


def test_search_json_k_and_filters(indexed: tuple[Settings, HashEmbedder], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "search", "speech tokenizer sparse autoencoders", "--json", "-k", "2", **seams(indexed))
    hits = json.loads(out)
    assert code == 0 and len(hits) == 2
    assert {"paper", "score", "sentence", "ranks", "features"} <= set(hits[0])
    assert {h["paper"]["id"] for h in hits} == {SPEECH.id, SAE.id}
    _, out, _ = run(capsys, "search", "language model features", "--json", "--date", "Mar 17", **seams(indexed))
    assert [h["paper"]["id"] for h in json.loads(out)] == [SPEECH.id]
    _, out, _ = run(capsys, "search", "sparse autoencoders", "--json", "--source", "b.jsonl", **seams(indexed))
    hits = json.loads(out)
    assert {h["paper"]["id"] for h in hits} == {SPEECH.id, GNN.id}
    assert all(s.startswith("b.jsonl:") for h in hits for s in h["paper"]["sources"])
    code, out, err = run(capsys, "search", "graph", "--source", "nope.jsonl", **seams(indexed))
    assert code == 0 and out == "" and "No paper matches the filters" in err
    _, out, _ = run(capsys, "search", "graph", "--json", "--source", "nope.jsonl", **seams(indexed))
    assert json.loads(out) == []
    for empty in ("--source", "--date"):  # refused, not dropped (which would search every paper)
        code, out, err = run(capsys, "search", "graph", empty, "", **seams(indexed))
        assert code != 0 and out == "" and "needs a non-empty value" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["search", "   "], "the question is empty"),
        (["ask", ""], "the question is empty"),
        (["ask", "\x1b\x07\u200e\x00 \t\x9b\u202e"], "the question is empty"),
        (["search", "x" * 5001], "the question is 5,001 characters; the limit is 5,000"),
    ],
)
def test_bad_queries_exit_5_before_loading_anything(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = Settings(data_dir=tmp_path / "never-created")
    code, out, err = run(capsys, *argv, settings=empty, embedder=HashEmbedder())
    assert code == QueryError.exit_code == 5 and out == "" and f"error: {message}" in err
    assert not (tmp_path / "never-created").exists()  # failed fast: no index was opened or built


# --------------------------------------------------------------------------------------------------------- ask


def test_ask_prints_the_answer_its_sources_and_the_answerer(
    indexed: tuple[Settings, HashEmbedder], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "ask", "What does the rationale invariance loss do?", "-k", "2", **seams(indexed))
    assert code == 0
    text, sources, footer = out.strip().split("\n\n")
    assert "rationale" in text.lower() and "[1]" in text
    assert sources.splitlines()[0] == "Sources:"
    assert sources.splitlines()[1].startswith(f"[1] {RIDG.title} (")
    assert footer.startswith("— extractive answerer, ") and footer.endswith(" ms")


def test_ask_json_carries_the_whole_answer_and_honours_filters(
    indexed: tuple[Settings, HashEmbedder], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["ask", "How much faster is the tokenizer?", "--json", "--answerer", "extractive", "--date", "Mar 17"]
    code, out, _ = run(capsys, *argv, **seams(indexed))
    answer = json.loads(out)
    assert code == 0 and answer["question"] == "How much faster is the tokenizer?"
    assert answer["answerer"] == "extractive" and not answer["abstained"] and answer["error"] is None
    assert [c["paper"]["id"] for c in answer["citations"]] == [SPEECH.id]
    assert "3.5x faster" in answer["text"] and answer["citations"][0]["marker"] == 1
    assert [h["paper"]["id"] for h in answer["hits"]] == [SPEECH.id]  # only the Mar 17 paper passes
    assert {"embed", "retrieve", "rerank", "total"} <= set(answer["timings"])


def test_ask_with_llm_not_configured_exits_2(
    indexed: tuple[Settings, HashEmbedder], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "ask", "rationale?", "--answerer", "llm", **seams(indexed))
    assert code == ConfigError.exit_code == 2 and out == ""
    assert "error: no LLM is configured; set OPENAI_API_KEY" in err


def _sse(*deltas: str) -> httpx.Response:
    events = [
        "data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                               "choices": [{"index": 0, "delta": {"content": d}, "finish_reason": None}]}) + "\n\n"
        for d in deltas
    ]  # fmt: skip
    body = "".join(events) + "data: [DONE]\n\n"
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body.encode())


def test_ask_with_the_llm_answerer_sends_the_sources_and_prints_the_checked_answer(
    indexed: tuple[Settings, HashEmbedder], capsys: pytest.CaptureFixture[str]
) -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as mock:
        route = mock.post("/chat/completions").mock(
            return_value=_sse("It runs 3.5x faster ", "than prior work [1].")
        )
        settings = seams(indexed, openai_base_url=BASE, openai_api_key="sk-test", llm_model="test-model")
        code, out, err = run(capsys, "ask", "How fast is the speech tokenizer?", "--answerer", "llm", "--json",
                             "-k", "1", **settings)  # fmt: skip
    assert code == 0, err
    body = json.loads(route.calls.last.request.content)
    assert body["model"] == "test-model" and body["stream"] is True
    assert f"[1] {SPEECH.title}" in body["messages"][-1]["content"]
    answer = json.loads(out)
    assert answer["answerer"] == "llm:test-model" and answer["error"] is None
    assert answer["text"] == "It runs 3.5x faster than prior work [1]."
    assert [c["paper"]["id"] for c in answer["citations"]] == [SPEECH.id]


# -------------------------------------------------------------------------------------------------------- eval


EVAL_ITEMS = [
    {"id": "l1", "question": "What share of the variance do sparse autoencoder features explain?", "type": "lookup",
     "gold_titles": [SAE.title], "answer": "SAE features explain 42.5% of the variance.",
     "key_facts": ["explain 42.5% of the variance"], "history": []},
    {"id": "l2", "question": "How much faster is the tokenizer for speech recognition than prior work?",
     "type": "lookup", "gold_titles": [SPEECH.title], "answer": "It runs 3.5x faster than prior work.",
     "key_facts": ["runs 3.5x faster than prior work"], "history": []},
    {"id": "f1", "question": "By how much does it improve accuracy on QM9?", "type": "followup",
     "gold_titles": [GNN.title], "answer": "It improves accuracy on QM9 by 8%.",
     "key_facts": ["improves accuracy on QM9 by 8%"],
     "history": [{"role": "user", "content": "How do graph neural networks predict molecule properties?"},
                 {"role": "assistant", "content": "From atoms and bonds, with edge attention."}]},
]  # fmt: skip


def _three_items(folder: Path) -> Path:
    """``EVAL_ITEMS`` as an eval set file."""
    eval_set = folder / "three.jsonl"
    eval_set.write_text("".join(json.dumps(i) + "\n" for i in EVAL_ITEMS), encoding="utf-8")
    return eval_set


def test_eval_on_three_items_writes_reports_and_gates(
    indexed: tuple[Settings, HashEmbedder], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    eval_set = _three_items(tmp_path)
    out_dir = tmp_path / "out"
    code, out, _ = run(capsys, "eval", "--set", str(eval_set), "--out", str(out_dir), **seams(indexed))
    assert code == 0 and "3 items in" in out and "hit@1" in out
    report = json.loads((out_dir / "report.json").read_text())
    assert [i["id"] for i in report["items"]] == ["l1", "l2", "f1"]
    assert report["aggregate"]["items"] == 3 and report["aggregate"]["hit@10"] == 1.0
    assert report["items"][1]["retrieved"][0] == SPEECH.title
    assert (out_dir / "report.md").is_file()
    thresholds = tmp_path / "thresholds.json"
    thresholds.write_text(json.dumps({"hit@1": {"min": 1.01}}))
    code, _, err = run(capsys, "eval", "--set", str(eval_set), "--out", str(out_dir), "--thresholds",
                       str(thresholds), **seams(indexed))  # fmt: skip
    assert code == 1 and "FAILED: 1 metric(s) below threshold" in err and "hit@1" in err


def test_eval_with_a_broken_set_exits_3_naming_the_line(
    indexed: tuple[Settings, HashEmbedder], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    eval_set = tmp_path / "broken.jsonl"
    eval_set.write_text(json.dumps(EVAL_ITEMS[0]) + "\n{not json\n", encoding="utf-8")
    code, out, err = run(capsys, "eval", "--set", str(eval_set), "--out", str(tmp_path / "o"), **seams(indexed))
    assert code == 3 and out == "" and f"{eval_set}:2" in err


def test_eval_with_an_out_that_cannot_hold_the_report_fails_before_the_run(
    indexed: tuple[Settings, HashEmbedder], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--out`` naming a file printed a FileExistsError traceback after the whole run, its work lost."""
    eval_set = _three_items(tmp_path)
    a_file = tmp_path / "outfile"
    a_file.write_text("")
    for out, why in ((a_file, "is a file"), (a_file / "sub", "cannot hold the report")):
        code, printed, err = run(capsys, "eval", "--set", str(eval_set), "--out", str(out), **seams(indexed))
        assert code == 2 and printed == "" and err.startswith(f"error: --out {out} {why}"), err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------------------- serve, usage, settings, errors


def test_help_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "serve", "--help")
    assert code == 0 and "--port" in out and "--host" in out
    code, out, _ = run(capsys, "--help")
    assert code == 0 and all(c in out for c in ("ingest", "stats", "search", "ask", "eval", "serve"))
    code, _, err = run(capsys)
    assert code == 2 and "required: command" in err
    code, _, err = run(capsys, "serve", "--port", "eighty")
    assert code == 2 and "'eighty' is no port: give a whole number from 1 to 65535" in err
    for port in ("0", "-1", "99999"):  # 99999 had been announced and then served on 34463, 0 on a random port
        code, _, err = run(capsys, "serve", "--port", port)
        assert code == 2 and f"{port} is no port" in err, err
    code, _, err = run(capsys, "ask", "q", "--answerer", "gpt")
    assert code == 2 and "invalid choice: 'gpt'" in err
    code, out, err = run(capsys, "search", "graph", "-k", "0")
    assert code == 2 and out == "" and "argument -k: k=0 is out of range; ask for 1 to 100 papers" in err
    code, _, err = run(capsys, "ask", "graph", "-k", "21")
    assert code == 2 and "argument -k: k=21 is out of range; ask for 1 to 20 papers" in err
    code, _, err = run(capsys, "search", "graph", "-k", "ten")
    assert code == 2 and "argument -k: must be a whole number from 1 to 100, not 'ten'" in err
    code, _, err = run(capsys, "eval")
    assert code == 2 and "--set" in err
    code, _, err = run(capsys, "search", "graph", "--since", "20x0")  # a usage error is one line too
    assert code == 2 and err.count("\n") == 1 and "must be a year like 2021" in err and "rag search --help" in err


def test_serve_on_a_port_in_use_says_so_before_opening_the_index(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """uvicorn's "[Errno 98] address already in use" came after "Serving the chat on ..." and the index build,
    with exit code 3 (a corpus error's)."""
    import socket

    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "never-opened"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run(capsys, "serve", "--port", str(port))
    assert code == 2 and out == ""
    assert err.strip() == (f"error: cannot listen on 127.0.0.1:{port}: another program (another `rag serve`?) "
                           "listens there; pick another port with --port")
    assert not (tmp_path / "never-opened").exists()


def test_invalid_environment_setting_exits_2_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAG_TOP_K", "0")
    code, out, err = run(capsys, "stats")
    assert code == 2 and out == ""
    assert "error: invalid setting: RAG_TOP_K='0': Input should be greater than or equal to 1" in err
    assert "allowed: a whole number (>= 1, <= 20)" in err


def test_a_corpus_path_under_home_is_read_as_a_shell_reads_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The reviewer's RAG_CORPUS_PATHS='["~/x.bib"]' was "no such file"."""
    from rag.app.cli import read_settings

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("RAG_CORPUS_PATHS", '["~/x.bib", "/abs/y.csv"]')
    assert read_settings().corpus_paths == [tmp_path / "x.bib", Path("/abs/y.csv")]


def test_unreachable_chroma_server_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(data_dir=tmp_path / "data", chroma_url="http://127.0.0.1:9")
    code, _, err = run(capsys, "stats", settings=settings, embedder=HashEmbedder())
    assert code == IndexNotReadyError.exit_code == 4
    assert "cannot reach the Chroma server at http://127.0.0.1:9" in err and "RAG_CHROMA_URL" in err


def test_a_web_server_that_is_not_chroma_is_named_as_such(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import http.server
    import threading

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # any path: an HTML page, as a web server or a proxy's error page sends
            body = b"<!DOCTYPE HTML><html><head><title>Error response</title></head><body>404</body></html>"
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        settings = Settings(data_dir=tmp_path / "data", chroma_url=url)
        code, _, err = run(capsys, "stats", settings=settings, embedder=HashEmbedder())
    finally:
        server.shutdown()
    assert code == IndexNotReadyError.exit_code == 4 and err.count("\n") == 1
    assert f"the server at {url} answered, but not as a Chroma server" in err and "rerun the command" in err


def test_failing_embedding_endpoint_exits_6(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(data_dir=tmp_path / "data", embedder="openai", openai_base_url=BASE, openai_api_key="sk-x")
    paths = list(map(str, write_corpus(tmp_path / "corpus")))
    with respx.mock(base_url=BASE) as mock:
        mock.post("/embeddings").mock(return_value=httpx.Response(401, json={"error": {"message": "bad key"}}))
        code, _, err = run(capsys, "ingest", "--quiet", *paths, settings=settings)
    assert code == LLMError.exit_code == 6
    assert "embedding request failed" in err and "OPENAI_API_KEY" in err


def test_every_error_kind_has_its_own_exit_code() -> None:
    kinds = [ConfigError, CorpusError, IndexNotReadyError, QueryError, LLMError]
    codes = [k.exit_code for k in kinds]
    assert len(set(codes)) == len(codes) and RagError.exit_code not in codes and 0 not in codes


# ------------------------------------------------------------------------------------------ the real model path


@pytest.mark.slow
def test_search_and_ask_with_the_real_model_on_the_real_index(
    real_index_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=real_index_dir)
    code, out, _ = run(capsys, "search", "MaxSup penalizes instead of the ground-truth logit", "--json", "-k", "3",
                       settings=settings)  # fmt: skip
    hits = json.loads(out)
    assert code == 0 and len(hits) == 3 and "MaxSup" in hits[0]["paper"]["title"]
    code, out, _ = run(capsys, "ask", "What does MaxSup penalize?", "--json", settings=settings)
    answer = json.loads(out)
    assert code == 0 and answer["answerer"] == "extractive" and not answer["abstained"]
    assert "MaxSup" in answer["citations"][0]["paper"]["title"] and "[1]" in answer["text"]
    code, out, _ = run(capsys, "stats", "--json", settings=settings)
    stats = json.loads(out)  # the int8 index when the copied test index holds one, else its fp32 one
    assert code == 0 and stats["papers"] == 383 and stats["embedder"] in (MINILM_INT8, MINILM)
    code, out, _ = run(capsys, "ask", "How do TIES-Merging and DIMAT differ?", settings=settings)
    table = [line for line in out.splitlines() if line.startswith("| ")]
    assert code == 0 and table[0] == "| paper | Problem | Approach | Result |" and len(table) == 3
    assert any("DIMAT" in line for line in table) and any("Resolving Interference" in line for line in table)
