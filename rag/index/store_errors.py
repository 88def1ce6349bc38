"""What a failure of the index's storage means, as a ``RagError`` whose message names the fix.

Chroma reports sqlite, HNSW and HTTP failures as ``chromadb.errors`` exceptions whose only distinguishing
feature is their text; the OS reports disk problems as ``OSError`` errnos. ``translate`` maps both onto the
error tree (``StorageError``: the disk; ``IndexDamagedError``: the files; ``IndexNotReadyError``: the server
or anything else) with one line of detail and never a traceback.
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from rag.errors import IndexDamagedError, IndexNotReadyError, IngestBusyError, RagError, StorageError
from rag.index.lock import live_owner
from rag.text import is_html

REBUILD = "run `rag ingest --rebuild` to rebuild it from the corpus"
NEARLY_FULL = 2 * 1024 * 1024
"""Bytes free below which a failed write is reported as a full disk."""
RESUME = "then rerun `rag ingest` (it resumes where it stopped)"

_READ_ONLY = ("readonly database", "read-only file system", "permission denied", "attempt to write a readonly")
_FULL = ("database or disk is full", "no space left", "disk is full", "disk quota")
_DAMAGED = (
    "malformed", "not a database", "hnsw", "error finding id", "error getting embedding", "pickle",
    "no such table", "no such column", "corrupt",
)  # fmt: skip
_UNREACHABLE = (
    "could not connect", "connection refused", "connecterror", "connection reset", "remoteprotocolerror",
    "server disconnected", "readerror", "timed out", "name or service not known", "connection aborted",
)  # fmt: skip
_DIMENSION = ("dimension",)


@dataclass(frozen=True, slots=True)
class Location:
    """Where the index lives, for messages: an on-disk data dir or a Chroma server URL."""

    data_dir: Path | None = None
    chroma_url: str | None = None

    def describe(self) -> str:
        return f"the Chroma server at {self.chroma_url}" if self.chroma_url else f"the index in {self.data_dir}"


def detail(exc: BaseException) -> str:
    """The first line of an exception's text, cut to 200 characters (never a traceback)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def read_only(path: Path, why: str) -> StorageError:
    return StorageError(
        f"the data directory {path} cannot be written ({why}): make it writable, or set RAG_DATA_DIR to a "
        f"writable directory (copy the index there first: `cp -a {path} NEW_DIR`)"
    )


def disk_full(path: Path, why: str) -> StorageError:
    return StorageError(
        f"the disk holding {path} is full ({why}): free some space (or set RAG_DATA_DIR to a disk with room), " + RESUME
    )


def not_a_directory(path: Path) -> StorageError:
    return StorageError(
        f"RAG_DATA_DIR={path} is not a directory (a file is in the way): set RAG_DATA_DIR to a directory, or "
        "move the file away"
    )


def storage_error(exc: OSError, path: Path) -> RagError:
    """An ``OSError`` met while reading or writing files under ``path``."""
    why = exc.strerror or detail(exc)
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return read_only(path, why)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return disk_full(path, why)
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return not_a_directory(path)
    return StorageError(f"cannot use the files in {path} ({why}): check the disk and RAG_DATA_DIR, " + RESUME)


def _nearly_full(path: Path) -> bool:
    """Chroma sometimes reports a full disk only as a failed compaction: look at the free space."""
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free < NEARLY_FULL
    except OSError:
        return False


def damaged(where: str, why: str) -> IndexDamagedError:
    return IndexDamagedError(f"{where} is damaged ({why}): {REBUILD}")


def translate(exc: BaseException, location: Location, action: str) -> RagError:
    """The ``RagError`` for a failure of Chroma (or the disk) while ``action`` (e.g. "writing papers")."""
    if isinstance(exc, RagError):
        return exc
    text = f"{type(exc).__name__}: {exc}".lower()
    why = detail(exc)
    if location.chroma_url is None and location.data_dir is not None:
        if isinstance(exc, OSError) and exc.errno is not None:
            return storage_error(exc, location.data_dir)
        if any(s in text for s in _READ_ONLY):
            return read_only(location.data_dir, why)
        if any(s in text for s in _FULL) or _nearly_full(location.data_dir):
            return disk_full(location.data_dir, why)
    if location.chroma_url is not None:
        if isinstance(exc, ConnectionError | TimeoutError) or any(s in text for s in _UNREACHABLE):
            return unreachable(location.chroma_url, why)
        if any(s in text for s in _READ_ONLY + _FULL):
            return StorageError(
                f"the Chroma server at {location.chroma_url} cannot write its data ({why}): free space on or make "
                "writable the disk of the server's `--path` directory, " + RESUME
            )
    writing = busy(location)
    if writing is not None:  # a read while another process writes: its half-written files are no damage
        return writing
    if any(s in text for s in _DIMENSION):
        return IndexDamagedError(
            f"{location.describe()} holds vectors of another dimension than the embedder makes ({why}): run "
            "`rag ingest` (it re-embeds into a fresh collection) or `rag ingest --rebuild`"
        )
    if any(s in text for s in _DAMAGED):
        return damaged(location.describe(), why)
    return IndexNotReadyError(
        f"{location.describe()} failed while {action} ({why}): check RAG_DATA_DIR / RAG_CHROMA_URL; if it "
        f"keeps failing, {REBUILD}"
    )


def busy(location: Location) -> IngestBusyError | None:
    """The error for a reader of a local index that another process's ``rag ingest`` is writing (its files change
    underneath: a failure then is that write, not damage, and nothing may be reset); None when no one else writes."""
    if location.chroma_url is not None or location.data_dir is None:
        return None
    pid = live_owner(location.data_dir)
    if pid is None or pid == os.getpid():
        return None
    return IngestBusyError(
        f"an ingest (pid {pid}) is writing {location.describe()}: retry in a moment (search and ask read the index "
        "again once it finishes)"
    )


def unreachable(url: str, why: str) -> IndexNotReadyError:
    """The server at ``url`` is down, or answered like a web page instead of a Chroma server (``why``: what
    the client said). Either way the command can be rerun once the server is right."""
    again = "then rerun the command (an interrupted `rag ingest` resumes where it stopped)"
    if is_html(why):
        return IndexNotReadyError(
            f"the server at {url} answered, but not as a Chroma server (it sent a web page): point RAG_CHROMA_URL "
            "at the port of `chroma run --path DIR --port PORT`, " + again
        )
    return IndexNotReadyError(
        f"cannot reach the Chroma server at {url} ({why}): start it with `chroma run --path DIR --port PORT` "
        "(or fix RAG_CHROMA_URL, or unset it to use the on-disk index in RAG_DATA_DIR), " + again
    )
