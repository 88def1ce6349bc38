"""Embedders: the ONNX export cache (reused, keyed, rebuilt when damaged), the runtime setting (class and
collection), lazy model loading (a no-op ingest loads nothing), OpenAIEmbedder's fixed dimension, and, with
the real model (slow), ONNX vectors against torch's on corpus texts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from conftest import HashEmbedder, real_embedder

from rag.errors import ConfigError, LLMError
from rag.index import onnx
from rag.index.chunking import chunk_paper
from rag.index.corpus import load_papers
from rag.index.embeddings import (
    MINILM,
    MINILM_INT8,
    MiniLMEmbedder,
    OnnxEmbedder,
    OpenAIEmbedder,
    embedder_name,
    make_embedder,
)
from rag.index.ingest import ingest
from rag.index.store import Store, open_chroma
from rag.settings import BUNDLED_CORPUS, Settings
from rag.text import split_sentences
from rag.types import Paper


class CountingExporter:
    """Writes a small stand-in model file (its bytes name the quantisation) and counts the exports."""

    def __init__(self) -> None:
        self.calls: list[bool] = []

    def __call__(self, target: Path, quantized: bool) -> None:
        self.calls.append(quantized)
        target.write_bytes((b"int8-model " if quantized else b"fp32-model ") * 1000)


# ---- export cache -------------------------------------------------------------------------------------------


def test_export_is_cached_and_reused(tmp_path: Path) -> None:
    exporter = CountingExporter()
    first = onnx.ensure_model(tmp_path, True, exporter)
    again = onnx.ensure_model(tmp_path, True, exporter)
    assert first == again and first.read_bytes().startswith(b"int8-model ")
    assert exporter.calls == [True]
    assert first.parent.name == onnx.export_key(True)
    meta = json.loads((first.parent / "meta.json").read_text())
    assert meta["size"] == 11_000 and meta["key"] == onnx.export_key(True)
    # fp32 is its own entry; no temporary folder is left behind
    fp32 = onnx.ensure_model(tmp_path, False, exporter)
    assert fp32.parent != first.parent and fp32.read_bytes().startswith(b"fp32-model ")
    assert exporter.calls == [True, False]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([onnx.export_key(True), onnx.export_key(False)])


def test_export_key_names_model_quantisation_recipe_and_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime

    key = onnx.export_key(True)
    assert key.startswith(f"{MINILM}-0.1.0-int8-r{onnx.EXPORT_RECIPE}-ort") and key.endswith(onnxruntime.__version__)
    assert onnx.export_key(False) == key.replace("-int8-", "-fp32-")
    monkeypatch.setattr(onnxruntime, "__version__", "9.9.9")
    assert onnx.export_key(True).endswith("-ort9.9.9")  # a new onnxruntime re-exports


@pytest.mark.parametrize(
    "damage",
    [
        lambda m: m.write_bytes(m.read_bytes()[:-10]),  # truncated
        lambda m: m.write_bytes(b"X" + m.read_bytes()[1:]),  # same size, other bytes
        lambda m: m.unlink(),  # model gone
        lambda m: (m.parent / "meta.json").write_text("{not json"),  # broken record
        lambda m: (m.parent / "meta.json").unlink(),  # export interrupted before its record
    ],
    ids=["truncated", "bit-flip", "missing", "bad-meta", "no-meta"],
)
def test_damaged_export_is_rebuilt(tmp_path: Path, damage: Any) -> None:
    exporter = CountingExporter()
    model = onnx.ensure_model(tmp_path, True, exporter)
    damage(model)
    assert onnx.cached_model(tmp_path, True) is None
    rebuilt = onnx.ensure_model(tmp_path, True, exporter)
    assert exporter.calls == [True, True]
    assert rebuilt == model and rebuilt.read_bytes() == b"int8-model " * 1000
    assert onnx.cached_model(tmp_path, True) == rebuilt


def test_failed_export_leaves_no_entry(tmp_path: Path) -> None:
    def broken(target: Path, quantized: bool) -> None:
        target.write_bytes(b"half")
        raise RuntimeError("exporter crashed")

    with pytest.raises(RuntimeError, match="exporter crashed"):
        onnx.ensure_model(tmp_path, True, broken)
    assert list(tmp_path.iterdir()) == []  # neither a half-written entry nor a temporary folder
    assert onnx.ensure_model(tmp_path, True, CountingExporter()).exists()


def test_unloadable_model_says_how_to_fix(tmp_path: Path) -> None:
    model = onnx.ensure_model(tmp_path, True, CountingExporter())  # not an ONNX graph
    with pytest.raises(ConfigError, match="delete its folder to re-export"):
        onnx.make_session(model, 1)


# ---- the runtime setting ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("runtime", "cls", "name"),
    [("onnx-int8", OnnxEmbedder, MINILM_INT8), ("onnx", OnnxEmbedder, MINILM), ("torch", MiniLMEmbedder, MINILM)],
)
def test_runtime_setting_selects_class_and_collection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runtime: str, cls: type, name: str
) -> None:
    monkeypatch.setenv("RAG_EMBEDDER_RUNTIME", runtime)
    monkeypatch.setenv("RAG_MODEL_CACHE_DIR", str(tmp_path / "cache"))
    settings = Settings()
    embedder = make_embedder(settings)
    assert type(embedder) is cls and embedder.name == name == embedder_name(settings) and embedder.dim == 384
    if isinstance(embedder, OnnxEmbedder):
        assert embedder.quantized == (runtime == "onnx-int8") and embedder.cache_dir == tmp_path / "cache"
    assert not (tmp_path / "cache").exists()  # nothing exported or loaded by construction
    store = Store(open_chroma(tmp_path / "data"), embedder.name)
    assert (store.chunks.name, store.sentences.name) == (f"chunks-{name}", f"sentences-{name}")


def test_default_runtime_is_int8_onnx_with_collections_named_by_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAG_EMBEDDER_RUNTIME", raising=False)
    assert Settings().embedder_runtime == "onnx-int8" and embedder_name(Settings()) == MINILM_INT8
    assert MINILM_INT8.endswith(f"-int8-r{onnx.EXPORT_RECIPE}")  # a new recipe: new vectors, new collections
    monkeypatch.setenv("RAG_EMBEDDER_RUNTIME", "tensorrt")
    with pytest.raises(ValueError, match="onnx-int8"):
        Settings()
    assert "collection" in (Settings.model_fields["embedder_runtime"].description or "")


# ---- lazy loading: a no-op ingest loads no model --------------------------------------------------------------


class FakeST:
    """Stands in for a SentenceTransformer: ``encode`` with the HashEmbedder's vectors."""

    def __init__(self) -> None:
        self.inner = HashEmbedder()

    def encode(self, texts: Sequence[str], **_: Any) -> np.ndarray:
        return self.inner.embed(texts)


class CountingLoader:
    def __init__(self) -> None:
        self.models: list[FakeST] = []

    def __call__(self) -> FakeST:
        self.models.append(FakeST())
        return self.models[-1]


def test_no_op_ingest_does_not_load_the_model(tmp_path: Path, small_papers: list[Paper]) -> None:
    data_dir = tmp_path / "data"
    loader = CountingLoader()
    first = MiniLMEmbedder(loader=loader)
    assert loader.models == []  # constructing loads nothing
    report = ingest(small_papers, Store(open_chroma(data_dir), first.name), first, data_dir, progress=False)
    assert report.added == 4 and len(loader.models) == 1
    n_texts = sum(len(chunk_paper(p)) + len(split_sentences(p.abstract)) for p in small_papers)
    assert sum(loader.models[0].inner.calls) == n_texts

    again = MiniLMEmbedder(loader=loader)
    report = ingest(small_papers, Store(open_chroma(data_dir), again.name), again, data_dir, progress=False)
    assert (report.unchanged, report.added, report.updated) == (4, 0, 0)
    assert len(loader.models) == 1  # the second run never loaded a model

    # fp32 ONNX shares the torch collection: nothing to do, nothing exported, no session
    exporter = CountingExporter()
    onnx_fp32 = OnnxEmbedder(quantized=False, cache_dir=tmp_path / "cache", exporter=exporter)
    assert onnx_fp32.name == first.name
    report = ingest(small_papers, Store(open_chroma(data_dir), onnx_fp32.name), onnx_fp32, data_dir, progress=False)
    assert report.unchanged == 4 and exporter.calls == [] and not (tmp_path / "cache").exists()

    # one changed paper: the model is loaded once and embeds only that paper's texts
    changed = [*small_papers[:3], Paper(small_papers[3].id, small_papers[3].title, "A new abstract. Two.", ("x",))]
    third = MiniLMEmbedder(loader=loader)
    report = ingest(changed, Store(open_chroma(data_dir), third.name), third, data_dir, progress=False)
    assert (
        report.updated == 1
        and len(loader.models) == 2
        and loader.models[1].inner.calls == [1 + len(split_sentences("A new abstract. Two."))]
    )


# ---- OnnxEmbedder batching and sessions, with a session that behaves like the model ---------------------------


class BagOfIdsSession:
    """Stands in for an onnxruntime session: each row's vector is the normalised bag of its unpadded token ids
    (hashed into 384 dims), so a row's output depends only on its own text, as with the real model."""

    def __init__(self, threads: int, log: list[tuple[int, tuple[int, ...]]]) -> None:
        self.threads = threads
        self.log = log

    def run(self, _: Any, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        ids, mask = feeds["input_ids"], feeds["attention_mask"]
        assert ids.shape == mask.shape == feeds["token_type_ids"].shape and not feeds["token_type_ids"].any()
        self.log.append((self.threads, ids.shape))
        out = np.zeros((len(ids), 384), dtype=np.float32)
        for row, (r_ids, r_mask) in enumerate(zip(ids, mask, strict=True)):
            for token in r_ids[r_mask == 1]:
                out[row, int(token) * 7919 % 384] += 1.0
        return [out / np.linalg.norm(out, axis=1, keepdims=True)]


@pytest.fixture
def session_log(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, tuple[int, ...]]]:
    log: list[tuple[int, tuple[int, ...]]] = []
    monkeypatch.setattr(onnx, "make_session", lambda model, threads: BagOfIdsSession(threads, log))
    return log


def test_onnx_embed_sorts_by_length_batches_and_keeps_input_order(
    tmp_path: Path, session_log: list[tuple[int, tuple[int, ...]]]
) -> None:
    texts = [
        "A long sentence about sparse autoencoders trained on the residual stream of a language model.",
        "Short.",
        "Graph neural networks predict molecule properties.",
        "Two words",
        "A medium sentence about rationale invariance for domain generalization.",
    ]
    embedder = OnnxEmbedder(quantized=False, cache_dir=tmp_path, batch_size=2, threads=4, exporter=CountingExporter())
    vectors = embedder.embed(texts)
    singles = np.stack([embedder.embed_query(t) for t in texts])
    np.testing.assert_allclose(vectors, singles, atol=1e-6)  # row i is text i's vector, whatever its batch
    batches = [shape for threads, shape in session_log[:3]]
    assert [b[0] for b in batches] == [2, 2, 1]  # batch_size texts per run
    widths = [b[1] for b in batches]
    assert widths == sorted(widths)  # shortest texts first: each batch pads only to its own longest
    assert widths[-1] == len(embedder._tokenizer.encode(texts[0]).ids)  # the longest text runs alone, last
    assert {threads for threads, _ in session_log[:3]} == {4}  # batches: every thread
    assert {threads for threads, _ in session_log[3:]} == {2}  # queries: two threads at most
    assert {s[1][0] for s in session_log[3:]} == {1}


def test_onnx_no_op_ingest_builds_no_session_and_exports_nothing(
    tmp_path: Path, small_papers: list[Paper], session_log: list[tuple[int, tuple[int, ...]]]
) -> None:
    data_dir, cache = tmp_path / "data", tmp_path / "cache"
    exporter = CountingExporter()
    first = OnnxEmbedder(quantized=True, cache_dir=cache, exporter=exporter)
    report = ingest(small_papers, Store(open_chroma(data_dir), first.name), first, data_dir, progress=False)
    assert report.added == 4 and exporter.calls == [True] and session_log
    runs = len(session_log)
    again = OnnxEmbedder(quantized=True, cache_dir=cache, exporter=exporter)
    report = ingest(small_papers, Store(open_chroma(data_dir), again.name), again, data_dir, progress=False)
    assert (report.unchanged, report.added) == (4, 0)
    assert len(session_log) == runs and again._sessions == {} and again._model_path is None
    assert exporter.calls == [True]


# ---- OpenAIEmbedder: the dimension is fixed once --------------------------------------------------------------


class FakeOpenAI:
    """``client.embeddings.create`` returning ``dim``-sized vectors (in reverse order, with their index)."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.requests: list[list[str]] = []
        self.embeddings = SimpleNamespace(create=self.create)

    def create(self, model: str, input: list[str]) -> Any:
        self.requests.append(list(input))
        rows = [
            SimpleNamespace(index=i, embedding=[float(len(t) + 1)] + [1.0] * (self.dim - 1))
            for i, t in enumerate(input)
        ]
        return SimpleNamespace(data=rows[::-1])


def test_openai_dim_known_models_need_no_request() -> None:
    client = FakeOpenAI(1536)
    embedder = OpenAIEmbedder(client, "text-embedding-3-small")  # type: ignore[arg-type]
    assert embedder.dim == 1536 and client.requests == []
    assert embedder.embed([]).shape == (0, 1536) and client.requests == []
    vectors = embedder.embed(["ab", "abcdef"])
    assert vectors.shape == (2, 1536) and client.requests == [["ab", "abcdef"]]
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    assert vectors[1, 0] > vectors[0, 0]  # rows follow the input order, not the response order


def test_openai_dim_unknown_model_is_probed_once_and_checked() -> None:
    client = FakeOpenAI(768)
    embedder = OpenAIEmbedder(client, "nomic-embed-text")  # type: ignore[arg-type]
    assert client.requests == []
    assert embedder.dim == 768 and embedder.dim == 768 and client.requests == [["dimension probe"]]
    assert embedder.embed(["x", "y"]).shape == (2, 768) and embedder.dim == 768
    client.dim = 1024  # the server switched models under us
    with pytest.raises(LLMError, match="expected 768; check RAG_OPENAI_EMBEDDING_MODEL"):
        embedder.embed(["x"])
    assert embedder.dim == 768


# ---- the real model: ONNX against torch ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_texts() -> list[str]:
    papers = load_papers([BUNDLED_CORPUS])[::13]
    texts = [c.text for p in papers for c in chunk_paper(p)]
    texts += [p.abstract[s.start : s.end] for p in papers for s in split_sentences(p.abstract)][::3]
    return texts


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1))


@pytest.mark.slow
@pytest.mark.parametrize(("quantized", "floor"), [(False, 0.9999), (True, 0.97)])
def test_onnx_vectors_agree_with_torch(
    corpus_texts: list[str], model_cache: Path, quantized: bool, floor: float
) -> None:
    torch_vectors = real_embedder().embed(corpus_texts)
    embedder = OnnxEmbedder(quantized=quantized, cache_dir=model_cache)
    vectors = embedder.embed(corpus_texts)
    assert vectors.shape == (len(corpus_texts), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = _cosines(vectors, torch_vectors)
    assert cosines.min() >= floor, f"worst text: {corpus_texts[int(cosines.argmin())][:80]!r}"
    assert cosines.mean() >= (0.99999 if not quantized else 0.99)
    # a text's vector does not depend on its batch-mates (sorting, padding): batched == one at a time
    # (fp32 exactly; int8 dynamic quantisation scales activations per batch, so there only by cosine)
    singles = np.stack([embedder.embed_query(t) for t in corpus_texts[:12]])
    if quantized:
        assert _cosines(singles, vectors[:12]).min() >= floor
    else:
        np.testing.assert_allclose(singles, vectors[:12], atol=1e-5)
    query = "Which paper trains sparse autoencoders on a language model's residual stream?"
    assert float(embedder.embed_query(query) @ real_embedder().embed_query(query)) >= floor


@pytest.mark.slow
def test_real_export_is_fused(corpus_texts: list[str], model_cache: Path) -> None:
    import onnx as onnx_lib

    OnnxEmbedder(quantized=False, cache_dir=model_cache).embed(corpus_texts[:2])
    model = onnx.cached_model(model_cache, False)
    assert model is not None
    ops = [n.op_type for n in onnx_lib.load(str(model)).graph.node]
    # one fused Attention and two SkipLayerNormalization per layer; no unfused Softmax left
    assert ops.count("Attention") == 6 and ops.count("SkipLayerNormalization") == 12 and "Softmax" not in ops


@pytest.mark.slow
def test_real_damaged_export_is_rebuilt_and_gives_the_same_vectors(corpus_texts: list[str], model_cache: Path) -> None:
    before = OnnxEmbedder(quantized=True, cache_dir=model_cache).embed(corpus_texts[:8])
    model = onnx.cached_model(model_cache, True)
    assert model is not None
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])  # a crash mid-copy, a full disk
    after = OnnxEmbedder(quantized=True, cache_dir=model_cache).embed(corpus_texts[:8])
    np.testing.assert_allclose(after, before, atol=1e-6)
    assert onnx.cached_model(model_cache, True) == model


def test_an_embedding_error_never_shows_the_key() -> None:
    """Some endpoints echo the key they were sent in their error body: the ``LLMError`` (which the CLI prints and
    the API streams to its clients) says what failed without it."""
    import httpx
    import openai
    import respx

    key = "sk-LIVE-9f8e7d6c5b4a"
    body = {"error": {"message": f"Incorrect API key: Bearer {key}; key was {key}", "type": "invalid_request_error"}}
    with respx.mock(base_url="http://embed.test/v1") as mock:
        mock.post("/embeddings").mock(return_value=httpx.Response(401, json=body))
        client = openai.OpenAI(api_key=key, base_url="http://embed.test/v1", max_retries=0)
        embedder = OpenAIEmbedder(client, "text-embedding-3-small")
        with pytest.raises(LLMError) as caught:
            embedder.embed(["a question"])
    message = str(caught.value)
    assert "embedding request failed" in message and "401" in message and "check OPENAI_API_KEY" in message
    assert key not in message and "9f8e7d6c5b4a" not in message
