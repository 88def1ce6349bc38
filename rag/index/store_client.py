"""Connecting to Chroma and keeping one embedder's two collections sound: open, heal, stamp.

``open_chroma`` checks an on-disk data dir before Chroma touches it (``store_files``); ``Collections``
opens the chunk and sentence collections, resets them when their files are damaged or their vectors
have another dimension than the embedder's, and keeps a generation stamp that every committed write
changes (the app compares it to notice an ingest made by another process).
"""

from __future__ import annotations

import functools
import logging
import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from rag.index import store_files
from rag.index.store_errors import Location, busy, translate, unreachable

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


class _Located(Protocol):
    location: Location


S = TypeVar("S", bound=_Located)


def open_chroma(data_dir: Path, chroma_url: str | None = None, *, fresh: bool = False) -> Any:
    """A persistent on-disk Chroma client in ``data_dir`` (checked first: a directory, writable, a sound
    sqlite file), or an HTTP client for ``chroma_url``. ``fresh`` drops Chroma's per-process cache of that
    directory, so the client reads what other processes wrote since (an old client keeps its cached view)."""
    import chromadb

    settings = chromadb.Settings(anonymized_telemetry=False)
    if chroma_url:
        from urllib.parse import urlparse

        url = urlparse(chroma_url)
        tls = url.scheme == "https"
        port = url.port or (443 if tls else 8000)  # https without a port is 443, as for any https URL
        try:
            return chromadb.HttpClient(host=url.hostname or "127.0.0.1", port=port, ssl=tls, settings=settings)
        except Exception as exc:
            raise unreachable(chroma_url, str(exc).splitlines()[0][:200]) from None
    store_files.check_data_dir(data_dir)
    store_files.check_sqlite(data_dir)
    path = store_files.chroma_dir(data_dir)
    if fresh:
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient._identifier_to_system.pop(str(path), None)
    try:
        client = chromadb.PersistentClient(path=str(path), settings=settings)
    except Exception as exc:
        raise translate(exc, Location(data_dir=data_dir), "opening the index") from None
    store_files.remember_sqlite_sound(data_dir)  # checked just now; Chroma's open wrote to it
    return client


def discard_index(data_dir: Path) -> None:
    """Delete the on-disk Chroma index (for ``rag ingest --rebuild`` when it cannot even be opened)."""
    shutil.rmtree(store_files.chroma_dir(data_dir), ignore_errors=True)


def location_of(client: Any) -> Location:
    settings = client.get_settings()
    if settings.is_persistent and settings.persist_directory:
        return Location(data_dir=Path(settings.persist_directory).parent)
    return Location(chroma_url=f"http://{settings.chroma_server_host}:{settings.chroma_server_http_port}")


def translated(action: str) -> Callable[[Callable[Concatenate[S, P], R]], Callable[Concatenate[S, P], R]]:
    """Store methods raise ``RagError``s only: Chroma's and the disk's failures are translated."""

    def wrap(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
        @functools.wraps(method)
        def run(self: S, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(self, *args, **kwargs)
            except Exception as exc:
                raise translate(exc, self.location, action) from None

        return run

    return wrap


def embedder_key(embedder_name: str) -> str:
    """The file-name-safe key of an embedder (collection names; derived indexes such as BM25 use it too)."""
    return re.sub(r"[^a-zA-Z0-9._-]+", "-", embedder_name).strip("-.")[:200] or "default"


def _not_while_written(location: Location) -> None:
    """Raise ``IngestBusyError`` when another process's ingest is writing the index: a reader never resets what a
    writer is in the middle of (Chroma rewrites its vector files in place, so a check may catch them half
    written), and the ingest heals what is really damaged once it holds the lock."""
    writing = busy(location)
    if writing is not None:
        raise writing


class Collections:
    """The two collections of one embedder, opened sound: damaged HNSW files (checked before Chroma reads them:
    some damage crashes the process) or stored vectors of another size than ``dim`` (the embedder's, when
    given) reset both collections, and the next ingest re-embeds; ``healed`` says what was done."""

    def __init__(self, client: Any, embedder_name: str, *, dim: int | None = None) -> None:
        self.client = client
        self.embedder_name = embedder_name
        self.location = location_of(client)
        slug = embedder_key(embedder_name)
        self._names = (f"chunks-{slug}", f"sentences-{slug}")
        self.healed: list[str] = []
        """What opening repaired (empty when nothing was wrong)."""
        self.last_stamp: str | None = None
        """The stamp after this object's last write (or as set by its user before writing); None: not tracked."""
        self.interleaved = False
        """True once a write by someone else was seen between two writes of this object (see ``_bump``)."""
        self._open(heal_files=True)
        if dim is not None:
            stored = self._stored_dim()
            if stored is not None and stored != dim:
                _not_while_written(self.location)
                self._heal(f"its vectors have {stored} dimensions, the embedder {embedder_name} makes {dim}")

    @translated("opening the collections")
    def _open(self, heal_files: bool = False) -> None:
        if heal_files and self.location.data_dir is not None:
            for segment in store_files.vector_segments(self.location.data_dir):
                problem = segment.collection in self._names and store_files.hnsw_problem(segment)
                if problem:  # removed before Chroma reads it: some damage makes Chroma crash the process
                    _not_while_written(self.location)
                    shutil.rmtree(segment.folder, ignore_errors=True)
                    self._heal(f"its vector files are damaged: {problem}")
                    return
        config = {"hnsw": {"space": "cosine"}}
        meta = {"embedder": self.embedder_name}
        self.chunks = self.client.get_or_create_collection(
            self._names[0], embedding_function=None, configuration=config, metadata=meta
        )
        self.sentences = self.client.get_or_create_collection(
            self._names[1], embedding_function=None, configuration=config, metadata=meta
        )

    @translated("resetting the collections")
    def _heal(self, why: str) -> None:
        """Drop both collections (a paper needs both) and start fresh ones: the next ingest re-embeds."""
        for name in self._names:
            try:
                self.client.delete_collection(name)
            except Exception as exc:  # already gone
                log.debug("delete_collection(%s): %s", name, exc)
        note = (
            f"{self.location.describe()} was reset for {self.embedder_name} ({why}); the next `rag ingest` "
            "(or opening the app) re-embeds the papers"
        )
        log.warning(note)
        self.healed.append(note)
        self._open()

    @translated("reading the index")
    def _stored_dim(self) -> int | None:
        for collection in (self.chunks, self.sentences):
            row = collection.get(limit=1, include=["embeddings"])
            if row["ids"]:
                return len(row["embeddings"][0])
        return None

    def _bump(self) -> None:
        """A new generation in the chunk collection's metadata. Writes call it before they change any record
        and again when they are done, so a write, even one killed midway, always changes ``stamp``. When the
        stamp found is not the one this object last saw (``last_stamp``, once set), another writer wrote in
        between: ``interleaved`` becomes True."""
        if self.last_stamp is not None and self.stamp() != self.last_stamp:
            self.interleaved = True
        generation = uuid.uuid4().hex
        self.chunks.modify(metadata={"embedder": self.embedder_name, "generation": generation})
        self.last_stamp = f"{self.chunks.id}:{generation}"

    @translated("reading the index")
    def stamp(self) -> str:
        """Cheap (one catalogue read, ~2 ms), changes with every write by any process or client and when the
        collections are reset: the app compares it before answering to notice an ingest."""
        current = self.client.get_collection(self._names[0])
        return f"{current.id}:{(current.metadata or {}).get('generation', '')}"
