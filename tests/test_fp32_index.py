"""An index built with fp32 embeddings before int8 became the default keeps being served, with a note on how to
move it to int8; an explicit runtime, an empty fp32 index or another embedder is never second-guessed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SMALL_PAPERS, HashEmbedder

from rag.index import opening
from rag.index.embeddings import MINILM, MINILM_INT8
from rag.index.ingest import ingest
from rag.index.store import Store, open_chroma
from rag.pipeline import Pipeline
from rag.settings import Settings


class Named(HashEmbedder):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


def _fakes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The two MiniLM runtimes, as hash embedders under their real names (no model is loaded)."""
    names = {"onnx": MINILM, "onnx-int8": MINILM_INT8, "torch": MINILM}
    monkeypatch.setattr(opening, "make_embedder", lambda s, client=None: Named(names[s.embedder_runtime]))


@pytest.fixture
def fp32_dir(tmp_path: Path) -> Path:
    """A data dir holding only an fp32 index of the small papers, its corpus a file of other papers."""
    data = tmp_path / "data"
    ingest(list(SMALL_PAPERS), Store(open_chroma(data), MINILM), Named(MINILM), data, progress=False)
    return data


def _settings(data: Path, tmp_path: Path, **extra: object) -> Settings:
    corpus = tmp_path / "other.jsonl"
    corpus.write_text(json.dumps({"title": "An Unrelated Paper", "abstract": "We study other things here."}) + "\n")
    return Settings(data_dir=data, corpus_paths=[corpus], **extra)  # type: ignore[arg-type]


def test_the_fp32_index_is_served_with_a_note(
    fp32_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fakes(monkeypatch)
    monkeypatch.delenv("RAG_EMBEDDER_RUNTIME", raising=False)
    opened = Pipeline.open(_settings(fp32_dir, tmp_path), progress=True)
    assert opened.embedder.name == MINILM and len(opened.papers) == len(SMALL_PAPERS)  # nothing rebuilt
    err = capsys.readouterr().err
    assert "fp32 embeddings" in err and "rag ingest" in err and "RAG_EMBEDDER_RUNTIME=onnx" in err
    assert Pipeline.open(_settings(fp32_dir, tmp_path), progress=False).embedder.name == MINILM
    assert capsys.readouterr().err == ""  # quiet when asked to be


def test_an_explicit_runtime_is_never_second_guessed(
    fp32_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fakes(monkeypatch)
    monkeypatch.setenv("RAG_EMBEDDER_RUNTIME", "onnx-int8")
    opened = Pipeline.open(_settings(fp32_dir, tmp_path), progress=False)
    assert opened.embedder.name == MINILM_INT8 and [p.title for p in opened.papers.values()] == ["An Unrelated Paper"]


def test_a_fresh_data_dir_builds_the_int8_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fakes(monkeypatch)
    monkeypatch.delenv("RAG_EMBEDDER_RUNTIME", raising=False)
    opened = Pipeline.open(_settings(tmp_path / "data", tmp_path), progress=False)
    assert opened.embedder.name == MINILM_INT8 and len(opened.papers) == 1
    names = {c.name for c in opened.store.client.list_collections()}
    assert not any(n.endswith(MINILM.lower()) or n.endswith(MINILM) for n in names)  # no empty fp32 collections


def test_stats_report_the_index_the_app_serves(
    fp32_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rag.app.cli import main

    _fakes(monkeypatch)
    monkeypatch.delenv("RAG_EMBEDDER_RUNTIME", raising=False)
    assert main(["stats", "--json"], settings=_settings(fp32_dir, tmp_path)) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["embedder"] == MINILM and stats["papers"] == len(SMALL_PAPERS)
