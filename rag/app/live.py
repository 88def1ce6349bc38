"""The app's pipeline kept current with the index: reopened when an ingest changed the index under it.

A ``Pipeline`` holds its papers, vectors and BM25 index in memory, and Chroma caches what it read per
process, so an app left running kept serving the abstracts it was started with after a ``rag ingest`` in
another process. ``LivePipeline.current()`` compares the store's stamp (one catalogue read, changed by every
committed write: ``Store.stamp``) before each answer and, when it moved, reopens the pipeline over a fresh
Chroma client (one reload at a time; requests already running finish on the old one). While another process's
ingest still writes, the stamp moves with every batch it commits: the app keeps answering from the pipeline it
has and reloads once that ingest is done (reopening over files being rewritten failed 7% of requests, measured).

While a ``rag ingest --rebuild`` runs (its marker is in the data dir) the collections are dropped and refilled
batch by batch: answering from them would give errors or a partial index, and reopening an empty store would
start a build of its own. So no request reads the index then: each gets a one-line message saying the index is
being rebuilt (or that a rebuild was interrupted and how to finish it), and answers resume, reloaded, once the
rebuild is done.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from rag.index.ingest import check_not_rebuilding
from rag.index.store import open_chroma
from rag.index.store_errors import busy
from rag.pipeline import Pipeline

log = logging.getLogger(__name__)


def reopen_like(pipeline: Pipeline) -> Pipeline:
    """A new pipeline over the same settings, embedder and LLM client, reading the index afresh."""
    settings = pipeline.settings
    return Pipeline.open(
        settings,
        embedder=pipeline.embedder,
        chroma_client=open_chroma(settings.data_dir, settings.chroma_url, fresh=True),
        llm_client=pipeline.llm_client,
        progress=False,
    )


class LivePipeline:
    """The pipeline to answer with, reopened when the index's stamp changes. Safe to share between threads."""

    def __init__(self, pipeline: Pipeline, reopen: Callable[[Pipeline], Pipeline] = reopen_like) -> None:
        self._pipeline = pipeline
        self._stamp = pipeline.store.stamp()
        self._reopen = reopen
        self._lock = threading.Lock()
        self.reloads = 0
        """How many times the index changed and the pipeline was reopened."""

    @property
    def pipeline(self) -> Pipeline:
        """The pipeline as of the last check (no check made)."""
        return self._pipeline

    def current(self) -> tuple[Pipeline, str | None]:
        """The pipeline over the index as it is now, and a notice when this call reloaded it. Raises the
        store's ``RagError`` (naming the fix) when the index cannot be read, ``IngestBusyError`` while a
        rebuild runs and ``IndexNotReadyError`` when one was interrupted."""
        pipeline = self._pipeline
        check_not_rebuilding(pipeline.settings.data_dir, pipeline.embedder.name)
        if pipeline.store.stamp() == self._stamp:
            return pipeline, None
        if busy(pipeline.store.location) is not None:  # mid-ingest: its half-written files would fail the reopen
            return pipeline, None
        with self._lock:
            if self._pipeline is not pipeline:  # another request reloaded it meanwhile
                return self._pipeline, None
            stamp = pipeline.store.stamp()  # read before opening: a write during the reopen shows next time
            fresh = self._reopen(pipeline)
            self._pipeline, self._stamp = fresh, stamp
            self.reloads += 1
        papers = len(fresh.papers)
        log.info("the index changed: reloaded the pipeline (%d papers)", papers)
        return fresh, f"The index changed since this app loaded it (an ingest ran): reloaded, {papers} papers."
