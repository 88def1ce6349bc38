"""Folders of the data dir written whole or not at all (the BM25 index, the index snapshot)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.index.store_errors import storage_error


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
