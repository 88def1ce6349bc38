"""One writer at a time: every ingest holds an exclusive lock on its data dir.

The lock is ``<data dir>/ingest.lock`` (``filelock``: an OS-level ``flock``, released by the kernel when
the process dies, so a killed ingest never leaves a stale lock). The holder's pid is written next to it
(``ingest.owner``) so a second ingest can say who it is waiting for. Readers (search, ask, the app) never
take the lock: they keep working on what is stored while an ingest runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from rag.errors import IngestBusyError, StorageError

LOCK_NAME = "ingest.lock"
OWNER_NAME = "ingest.owner"


def lock_owner(data_dir: Path) -> int | None:
    """The pid of the ingest holding (or last holding) the lock, when it left one."""
    try:
        text = (data_dir / OWNER_NAME).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def live_owner(data_dir: Path) -> int | None:
    """``lock_owner`` if that process still runs (a killed ingest leaves its pid behind; its lock is gone)."""
    pid = lock_owner(data_dir)
    if pid is None:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # it runs, as another user
    return pid


def _storage_error(data_dir: Path, exc: OSError) -> StorageError:
    return StorageError(
        f"cannot take the ingest lock in {data_dir} ({exc.strerror or exc}); make the folder writable "
        "or point RAG_DATA_DIR at a writable folder"
    )


@contextmanager
def ingest_lock(
    data_dir: Path, timeout: float, *, on_wait: Callable[[int | None], None] | None = None
) -> Iterator[None]:
    """Hold the data dir's write lock for the body. When another ingest holds it, call ``on_wait`` with its
    pid, wait up to ``timeout`` seconds, then raise ``IngestBusyError`` naming that pid."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _storage_error(data_dir, exc) from exc
    lock = FileLock(data_dir / LOCK_NAME, thread_local=False)
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if on_wait is not None:
                on_wait(lock_owner(data_dir))
            try:
                lock.acquire(timeout=timeout, poll_interval=0.1)
            except Timeout:
                pid = lock_owner(data_dir)
                raise IngestBusyError(
                    f"another ingest (pid {pid if pid is not None else 'unknown'}) is running on {data_dir}; "
                    f"waited {timeout:g}s. Let it finish and rerun `rag ingest`, or wait longer with "
                    "RAG_INGEST_LOCK_TIMEOUT=SECONDS"
                ) from None
    except OSError as exc:
        raise _storage_error(data_dir, exc) from exc
    owner = data_dir / OWNER_NAME
    try:
        try:
            owner.write_text(f"{os.getpid()}\n", encoding="ascii")
        except OSError as exc:
            raise _storage_error(data_dir, exc) from exc
        yield
    finally:
        if lock_owner(data_dir) == os.getpid():
            owner.unlink(missing_ok=True)
        lock.release()
