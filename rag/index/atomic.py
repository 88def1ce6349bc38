"""Folders of the data dir (the BM25 index, the index snapshot) and cache files written whole or not at all."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from rag.index.store_errors import storage_error

log = logging.getLogger(__name__)
T = TypeVar("T")


@contextmanager
def replacing(folder: Path) -> Iterator[Path]:
    """A new temporary folder beside ``folder`` to write into; when the block ends it replaces ``folder``, so
    readers see the old folder or the new one, never half of one. If the block fails the temporary folder is
    removed and ``folder`` is left as it was; a disk that cannot be written is a ``StorageError`` naming the fix."""
    tmp: Path | None = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
        yield tmp
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        tmp = None
        shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        raise storage_error(exc, folder.parent) from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def read_cache(path: Path, key: str, load: Callable[[Any], T]) -> T | None:
    """``load`` of the items a ``{"key": ..., "items": ...}`` cache file holds under ``key``; None when the file
    is missing, damaged, of another key, or its items do not load (a cache miss is never an error)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return load(data["items"]) if data["key"] == key else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def write_cache(path: Path, data: object) -> None:
    """``data`` as JSON in ``path`` (``write_file``)."""
    write_file(path, lambda fh: fh.write(json.dumps(data).encode()))


def write_file(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """A cache file written by ``write`` to a temporary file and renamed over ``path``, so a reader sees the
    old file or the new one. A cache only saves time: a disk that cannot take it is logged, never raised."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as fh:
            write(fh)
        tmp.replace(path)
    except OSError as exc:
        log.warning("could not write the cache file %s: %s", path, exc)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
