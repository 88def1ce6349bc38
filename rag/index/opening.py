"""Opening the index a pipeline serves: the store for the configured embedder, an earlier fp32 index kept in
use, a first build from the corpus on disk, and a plain error for an empty Chroma server."""

from __future__ import annotations

import sys
from typing import Any

from rag.errors import IndexNotReadyError, public_url
from rag.index.embeddings import MINILM, Embedder, make_embedder
from rag.index.ingest import check_not_rebuilding, run_ingest
from rag.index.store import Store, open_chroma
from rag.index.store_client import embedder_key
from rag.settings import Settings


def open_index(settings: Settings, embedder: Embedder | None = None, chroma_client: Any = None,
               llm_client: Any = None, progress: bool = True) -> tuple[Embedder, Store]:
    """The embedder and store to serve (building an empty on-disk index from the corpus first; an empty Chroma
    server is an ``IndexNotReadyError`` saying to run ``rag ingest``). Raises ``IngestBusyError`` while a
    ``rag ingest --rebuild`` runs and ``IndexNotReadyError`` when one was interrupted (``check_not_rebuilding``):
    a half-rebuilt index is never served, nor built a second time."""
    chosen = embedder
    embedder = embedder or make_embedder(settings, llm_client)
    check_not_rebuilding(settings.data_dir, embedder.name)
    client = chroma_client if chroma_client is not None else open_chroma(settings.data_dir, settings.chroma_url)
    store = Store(client, embedder.name, dim=embedder.dim)
    if chosen is None and store.is_empty():
        kept = fp32_index(settings, client, llm_client, progress)
        embedder, store = kept if kept is not None else (embedder, store)
    if store.is_empty() and settings.chroma_url:  # also a reopen by the running app (LivePipeline)
        raise IndexNotReadyError(
            f"the Chroma server at {public_url(settings.chroma_url)} holds no index for {embedder.name}: run "
            "`rag ingest` with this RAG_CHROMA_URL first (a search never fills a shared server by itself)"
        )
    if store.is_empty():
        if progress:
            print("Building the index from the corpus (first run only)...", file=sys.stderr)
        run_ingest(settings, embedder, store=store, progress=progress)
    return embedder, store


def fp32_index(settings: Settings, client: Any, llm_client: Any, progress: bool) -> tuple[Embedder, Store] | None:
    """An index built before int8 became the default runtime, kept in use: when the runtime was left to its
    default, the int8 collections are empty and the fp32 ones hold papers. ``rag ingest`` re-embeds it."""
    if settings.embedder != "minilm" or "embedder_runtime" in settings.model_fields_set:
        return None
    try:
        names = {getattr(c, "name", c) for c in client.list_collections()}
    except Exception:  # a server that cannot list: the default runtime it is
        return None
    if f"chunks-{embedder_key(MINILM)}" not in names:
        return None
    fp32 = Store(client, MINILM)
    if fp32.is_empty():
        return None
    check_not_rebuilding(settings.data_dir, MINILM)
    if progress:
        print(
            "note: this index holds fp32 embeddings from an earlier version and is used as it is; `rag ingest "
            "PATH ...` re-embeds it with int8 (the default, 1.85x faster to ingest), RAG_EMBEDDER_RUNTIME=onnx "
            "keeps fp32", file=sys.stderr,
        )  # fmt: skip
    return make_embedder(settings.model_copy(update={"embedder_runtime": "onnx"}), llm_client), fp32
