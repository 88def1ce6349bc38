"""Incremental ingest: parse everything first, then embed and store only what changed.

Keyed by paper id + content hash, per embedding model (each model has its own collections).
A second run embeds nothing; a changed abstract is re-embedded; a paper no longer in the inputs is
deleted, but an ingest that would delete more than half of the indexed papers needs ``prune=True``
(``rag ingest --prune``). Papers are written in small batches, each complete before the next, so a killed
ingest resumes where it stopped with no duplicates. ``run_ingest`` is the whole command: parse, then under
the data dir's write lock (``rag.index.lock``) open the store, optionally drop it (``--rebuild``), ingest.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import numpy as np
from tqdm import tqdm

from rag.errors import IndexDamagedError, IndexNotReadyError, IngestBusyError
from rag.index.batch import Prepared, layouts, prepare, write_prepared
from rag.index.embeddings import Embedder
from rag.index.keyword import KeywordIndex
from rag.index.lexicon import lexicon_for
from rag.index.lock import ingest_lock, live_owner
from rag.index.manifest import manifest_path
from rag.index.parsed import parsed_papers
from rag.index.plan import plan_ingest
from rag.index.sidecars import (
    refresh_lexicon,
    save_manifest,
    save_snapshot,
    snapshot_before,
    stored_counts,
    stored_state,
)
from rag.index.snapshot import current
from rag.index.spool import Spool, remove_leftovers
from rag.index.store import Store, discard_index, embedder_key, open_chroma
from rag.index.store_files import remember_sqlite_sound
from rag.index.store_records import fingerprint_of
from rag.settings import Settings
from rag.text import counted
from rag.types import Paper

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestReport:
    added: int
    updated: int
    unchanged: int
    removed: int
    seconds: float
    papers: int
    chunks: int
    sentences: int
    relabeled: int = 0
    """Unchanged papers whose stored record (sources, date, URLs) was refreshed without re-embedding."""
    rebuilt: bool = False
    """The collections and keyword index were dropped first (``rag ingest --rebuild``)."""

    def summary(self) -> str:
        relabeled = f" ({self.relabeled} with new sources or dates)" if self.relabeled else ""
        return (
            ("rebuilt from scratch: " if self.rebuilt else "")
            + f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}{relabeled}, "
            f"removed {self.removed} in {self.seconds:.1f}s; index holds {counted(self.papers, 'paper')}, "
            f"{counted(self.chunks, 'chunk')}, {counted(self.sentences, 'sentence')}"
        )


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def ingest(
    papers: Sequence[Paper],
    store: Store,
    embedder: Embedder,
    data_dir: Path,
    *,
    batch_size: int = 32,
    progress: bool = True,
    overlap: bool = True,
    prune: bool = False,
) -> IngestReport:
    """Make the store hold exactly ``papers``, embedding only new and changed ones. Nothing is embedded (and
    a lazily loaded model is never loaded) when nothing changed. Removing more than half of the indexed
    papers is a ``ConfigError`` (nothing written) unless ``prune``. ``overlap=False`` writes each batch
    before embedding the next (for measurement). The caller holds the data dir's lock (``run_ingest``)."""
    started = time.perf_counter()
    remove_leftovers(data_dir)
    store.last_stamp, store.interleaved = store.stamp(), False  # writes by others from now on are noticed
    plan = plan_ingest(papers, store, data_dir, store.last_stamp, prune=prune)
    todo = plan.todo
    changes = bool(todo or plan.relabel or plan.removed)
    old = snapshot_before(store, data_dir, plan) if changes else None  # read before any write: at the start stamp
    store.update_papers(plan.relabel)
    store.delete(plan.removed)
    with Spool(data_dir) as spool:
        written = _embed_and_write_all(todo, store, embedder, spool, batch_size, progress=progress, overlap=overlap)
        manifest = plan.previous
        if manifest is None or changes:
            manifest = save_manifest(manifest_path(data_dir, store.embedder_name), papers, store, plan, written)
            save_snapshot(store, data_dir, spool, old, papers, manifest)
    refresh_lexicon(store, data_dir)
    refresh_keyword_index(store, data_dir)
    counts = stored_counts(store, manifest)
    updated = sum(1 for p in todo if p.id in plan.stored)
    return IngestReport(
        added=len(todo) - updated,
        updated=updated,
        unchanged=len(papers) - len(todo),
        removed=sum(1 for pid in plan.removed if pid in plan.stored),
        seconds=time.perf_counter() - started,
        papers=counts["papers"],
        chunks=counts["chunks"],
        sentences=counts["sentences"],
        relabeled=len(plan.relabel),
    )


def _write_and_spool(prepared: Prepared, vectors: np.ndarray, store: Store, spool: Spool) -> None:
    write_prepared(prepared, vectors, store)
    n = len(prepared.chunks)
    spool.add(prepared.chunks, vectors[:n], prepared.sentences, vectors[n:])


def _embed_and_write_all(
    todo: Sequence[Paper],
    store: Store,
    embedder: Embedder,
    spool: Spool,
    batch_size: int,
    *,
    progress: bool,
    overlap: bool,
) -> dict[str, str]:
    """Embed and write ``todo`` batch by batch; the layout hash of every paper written."""
    written: dict[str, str] = {}
    # One encode call per batch. Batch n is written by one writer thread while batch n + 1 is embedded (ONNX
    # Runtime releases the GIL while it runs; Chroma's upsert holds it), and each write finishes before the
    # next starts, so batches are stored complete and in order: a kill leaves whole papers only.
    with (
        tqdm(
            total=len(todo), desc="Embedding papers", unit="paper", disable=not progress or not todo, file=sys.stderr
        ) as bar,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="rag-ingest-write") as writer,
    ):
        pending: tuple[Future[None], int] | None = None
        for batch in _batches(todo, batch_size):
            prepared = prepare(batch)
            written.update(layouts(prepared))
            vectors = embedder.embed(prepared.texts)
            if pending is not None:
                pending[0].result()
                bar.update(pending[1])
            pending = (writer.submit(_write_and_spool, prepared, vectors, store, spool), len(batch))
            if not overlap:
                pending[0].result()
        if pending is not None:
            pending[0].result()
            bar.update(pending[1])
    return written


def rebuild_marker(data_dir: Path, embedder_name: str) -> Path:
    """Present while a ``--rebuild`` is unfinished: a rerun resumes it instead of dropping again."""
    return data_dir / f"rebuild-{embedder_key(embedder_name)}.pending"


def check_not_rebuilding(data_dir: Path, embedder_name: str) -> None:
    """For readers: raise ``IngestBusyError`` while this embedder's collections are being rebuilt (``rag ingest
    --rebuild``: dropped, then refilled batch by batch), ``IndexNotReadyError`` when an interrupted rebuild left
    them incomplete. A stat of the rebuild marker, cheap enough for every request."""
    if not rebuild_marker(data_dir, embedder_name).exists():
        return
    pid = live_owner(data_dir)
    if pid is not None:
        raise IngestBusyError(
            f"the index is being rebuilt (`rag ingest --rebuild`, pid {pid}); answers resume when it finishes, "
            "in a minute or two: ask again then"
        )
    raise IndexNotReadyError(
        f"a `rag ingest --rebuild` on {data_dir} was interrupted and the index is incomplete; run `rag ingest` "
        "to finish it (it rebuilds from the inputs the interrupted rebuild was given)"
    )


def rebuild_inputs(marker: Path) -> list[Path] | None:
    """The inputs an interrupted rebuild was given (recorded in its marker), so that a plain ``rag ingest``
    finishes that rebuild instead of refilling the index from the configured corpus; None when the marker
    names none (a marker written before inputs were recorded) or cannot be read."""
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8")).get("inputs")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(recorded, list) or not recorded or not all(isinstance(p, str) for p in recorded):
        return None
    return [Path(p) for p in recorded]


def drop_index(store: Store, data_dir: Path) -> Store:
    """Drop this embedder's collections (chunks, the completeness marker, first) and its keyword index;
    the returned store is empty. Other embedders' collections are left alone."""
    shutil.rmtree(keyword_dir(data_dir, store.embedder_name), ignore_errors=True)
    return store.drop()


def _open_store(settings: Settings, embedder_name: str, *, rebuild: bool) -> Store:
    """The store to ingest into, through a fresh client (never this process's cached view of the files, which
    misses what another process wrote: writing through it is how two ingests corrupted the index). A rebuild
    of an on-disk index too damaged to open discards its files."""
    try:
        return Store(open_chroma(settings.data_dir, settings.chroma_url, fresh=True), embedder_name)
    except IndexDamagedError:
        if not rebuild or settings.chroma_url:
            raise
        discard_index(settings.data_dir)
        return Store(open_chroma(settings.data_dir, fresh=True), embedder_name)


def run_ingest(
    settings: Settings,
    embedder: Embedder,
    paths: Sequence[Path] | None = None,
    *,
    prune: bool = False,
    rebuild: bool = False,
    progress: bool = True,
    on_wait: Callable[[int | None], None] | None = None,
    store: Store | None = None,
) -> IngestReport:
    """The one ingest entry point (``rag ingest``, and ``Pipeline.open`` on an empty index): parse every input
    (before waiting or writing anything), then, holding the data dir's write lock, open the store and ingest.
    ``rebuild`` drops the store first and records ``paths`` in its marker; if it fails midway, rerunning (with or
    without ``--rebuild``; without paths, from the recorded ones) continues from what the interrupted rebuild
    stored. The Chroma client is opened only once the lock is held, so two
    ingests never write through two stale clients; a caller that holds a ``store`` it just opened passes it."""
    marker = rebuild_marker(settings.data_dir, embedder.name)
    inputs = list(paths or (rebuild_inputs(marker) if marker.exists() else None) or settings.corpus_paths)
    papers = parsed_papers(inputs, settings.data_dir)
    with ingest_lock(settings.data_dir, settings.ingest_lock_timeout, on_wait=on_wait):
        store = store if store is not None else _open_store(settings, embedder.name, rebuild=rebuild)
        resuming = marker.exists()
        if rebuild and not resuming:
            recorded = {"started": "a rebuild; `rag ingest` finishes it", "inputs": [str(p.resolve()) for p in inputs]}
            marker.write_text(json.dumps(recorded) + "\n", encoding="utf-8")
            store = drop_index(store, settings.data_dir)
        opened = store.stamp()
        report = ingest(
            papers, store, embedder, settings.data_dir, progress=progress, prune=prune or rebuild or resuming
        )
        marker.unlink(missing_ok=True)
        wrote_alone = store.last_stamp != opened and not store.interleaved and store.stamp() == store.last_stamp
        if store.location.data_dir is not None and wrote_alone:  # a no-op vouches for nothing: the open did
            remember_sqlite_sound(store.location.data_dir)  # only this ingest wrote: the next open need not check
    return replace(report, rebuilt=rebuild or resuming)


def keyword_dir(data_dir: Path, embedder_name: str) -> Path:
    return data_dir / f"bm25-{embedder_key(embedder_name)}"


def refresh_keyword_index(store: Store, data_dir: Path) -> KeywordIndex:
    """The BM25 index matching the store's current content, rebuilt and saved if stale. For a Chroma server's
    store it also loads the snapshot from ``data_dir``, for the retriever opened next (which knows no data dir)."""
    folder = keyword_dir(data_dir, store.embedder_name)
    fingerprint = fingerprint_of(store.embedder_name, stored_state(store, data_dir))
    index = KeywordIndex.load(folder, fingerprint)
    if index is None or store.location.data_dir is None:
        snapshot = current(store, data_dir)
    if index is None:  # chunks that are whole papers take their tokens from the lexicon (made or brought up to date)
        lexicon = lexicon_for(snapshot.papers, data_dir, store.embedder_name, store.stamp())
        index = KeywordIndex.build(snapshot.chunk_paper_ids, snapshot.chunk_texts, snapshot.papers, lexicon)
        index.save(folder, fingerprint)
    return index
