"""The on-disk layout of the Chroma index (chromadb 1.5), checked before Chroma is handed the files.

``<data dir>/chroma/chroma.sqlite3`` holds the collections, records and the write log; each collection's
vectors live in an HNSW segment folder ``<data dir>/chroma/<segment id>/`` (``header.bin``,
``data_level0.bin``, ``length.bin``, ``link_lists.bin``, ``index_metadata.pickle``) once Chroma has
persisted it (the segment then has a row in ``max_seq_id``). Chroma segfaults on some damaged HNSW files
(a garbage ``data_level0.bin``) and silently returns wrong neighbours on others (deleted folders), so the
checks here read the files themselves: sqlite's header and ``PRAGMA quick_check``, and every HNSW file's
sizes, header fields, link targets and labels. Only ``rag.index.store`` uses this module.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import sqlite3
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.index.atomic import write_cache
from rag.index.store_errors import damaged, not_a_directory, storage_error

SQLITE_FILE = "chroma.sqlite3"
SQLITE_MAGIC = b"SQLite format 3\x00"
HNSW_FILES = ("header.bin", "data_level0.bin", "length.bin", "link_lists.bin", "index_metadata.pickle")
_HEADER = struct.Struct("<IQQQQQQiIQQQdQ")  # version, hnswlib's saveIndex fields (100 bytes)


def chroma_dir(data_dir: Path) -> Path:
    return data_dir / "chroma"


def check_data_dir(data_dir: Path) -> None:
    """The data dir exists (created if missing), is a directory and can be written (a probe file is made and
    removed: permissions alone do not stop root, a read-only mount does). ``StorageError`` otherwise."""
    for path in (data_dir, *data_dir.parents):
        if path.exists() and not path.is_dir():
            raise not_a_directory(data_dir)
        if path.exists():
            break
    try:
        chroma_dir(data_dir).mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=chroma_dir(data_dir), prefix=".write-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        if exc.errno == errno.ENOTDIR:
            raise not_a_directory(data_dir) from None
        raise storage_error(exc, data_dir) from None


def check_sqlite(data_dir: Path) -> None:
    """``IndexDamagedError`` when ``chroma.sqlite3`` exists but is not a sound sqlite database (a missing or
    empty file is a new index). The full ``quick_check`` is skipped while the file's size, mtime and inode are
    those remembered after the last open or ingest (``remember_sqlite_sound``); the header checks always run."""
    path = chroma_dir(data_dir) / SQLITE_FILE
    for attempt in range(TRUNCATION_RETRIES + 1):
        header = _header_problem(path)
        if header is None or header.startswith("not an") or attempt == TRUNCATION_RETRIES:
            break
        time.sleep(0.1)  # another writer may be extending the file after writing its header: look again
    if header:
        raise damaged(f"the index at {path}", header)
    try:
        if path.stat().st_size == 0:
            return
    except FileNotFoundError:
        return
    signature = _file_signature(path)
    if signature is not None and _checked(data_dir).get(SQLITE_FILE) == signature:
        return  # checked sound (or left by a completed ingest) before, and not a byte written since
    problem = _sqlite_problem(path)
    if problem:  # a sound file is remembered once Chroma has opened it (``open_chroma``: opening writes to it)
        raise damaged(f"the index at {path}", problem)


TRUNCATION_RETRIES = 10
"""A file shorter than its header says is looked at again this many times, 0.1 s apart, before it is called
truncated: a checkpoint of another process writes page 1 (with the new page count) before the pages that
extend the file."""


def _header_problem(path: Path) -> str | None:
    """What is wrong with ``path``'s sqlite header: not an sqlite database, or shorter than the page count its
    header states (when that count is valid: its change counter matches "version-valid-for", as sqlite reads
    it). None for a sound header, a missing file or an empty one (a new index)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(100)
    except FileNotFoundError:
        return None
    if size == 0:
        return None
    if not head.startswith(SQLITE_MAGIC) or len(head) < 100:
        return "not an sqlite database"
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    valid = head[24:28] == head[92:96]
    if valid and pages and size < pages * page_size:
        return f"truncated: {size} of {pages * page_size} bytes"
    return None


def _sqlite_problem(path: Path) -> str | None:
    """sqlite's ``quick_check`` of the file (reads every page: 1.3 s warm, 16 s cold at 50,000 papers)."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            result = db.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if result == [("ok",)] else f"sqlite quick_check: {result[0][0]}"


def remember_sqlite_sound(data_dir: Path) -> None:
    """Record ``chroma.sqlite3`` as sound as it is now: called once ``check_sqlite`` passed and Chroma opened
    the file (opening writes to it: its mtime changes), so the next open skips the ``quick_check`` until the file
    changes. A write by anyone else during that open (milliseconds) is vouched for too. ``run_ingest`` calls it
    again after an ingest that wrote, when no other store wrote meanwhile (its own writes need no check)."""
    path = chroma_dir(data_dir) / SQLITE_FILE
    signature = _file_signature(path)
    if signature is not None and _checked(data_dir).get(SQLITE_FILE) != signature:
        _remember_sound(data_dir, SQLITE_FILE, signature)


@dataclass(frozen=True, slots=True)
class VectorSegment:
    collection: str
    folder: Path
    persisted: bool
    """True once Chroma has flushed the segment: its HNSW files must then exist."""


def vector_segments(data_dir: Path) -> list[VectorSegment]:
    """Every collection's HNSW segment, read from the sqlite catalogue (empty for a new index)."""
    path = chroma_dir(data_dir) / SQLITE_FILE
    if not path.is_file() or path.stat().st_size == 0:
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT c.name, s.id, m.seq_id IS NOT NULL FROM segments s JOIN collections c ON c.id = s.collection "
            "LEFT JOIN max_seq_id m ON m.segment_id = s.id WHERE s.scope = 'VECTOR'"
        ).fetchall()
    return [VectorSegment(name, chroma_dir(data_dir) / seg, bool(done)) for name, seg, done in rows]


class _NoObjects(pickle.Unpickler):
    """Reads plain dicts, lists, strings and numbers only: a crafted pickle cannot run code."""

    def find_class(self, module: str, name: str) -> type:
        raise pickle.UnpicklingError(f"unexpected object {module}.{name}")


def hnsw_problem(segment: VectorSegment) -> str | None:
    """Why a segment's HNSW files cannot be used, or None when they look sound (or are not persisted yet)."""
    folder = segment.folder
    if not segment.persisted and not (folder / "index_metadata.pickle").is_file():
        return None
    missing = [name for name in HNSW_FILES if not (folder / name).is_file()]
    if missing:
        return f"{', '.join(missing)} missing in {folder}"
    signature = _signature(folder)
    data_dir = folder.parent.parent  # <data dir>/chroma/<segment>
    if signature is not None and _checked(data_dir).get(folder.name) == signature:
        return None  # checked sound before, and not a byte written since
    try:
        problem = _structure_problem(folder)
    except (OSError, ValueError, struct.error, pickle.UnpicklingError, EOFError) as exc:
        return f"unreadable HNSW files in {folder}: {exc}"
    if problem is None and signature is not None:
        _remember_sound(data_dir, folder.name, signature)
    return problem


CHECKED = "hnsw-checked.json"
"""In the data dir: per HNSW segment folder, the size, mtime and inode of its files when they last checked
sound, and the same for ``chroma.sqlite3``. Reading every link of a 400,000-sentence segment costs ~2 s on
every open; a file written since (a new mtime or size, or another inode) is checked again."""


def _file_signature(path: Path) -> str | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"


def _signature(folder: Path) -> str | None:
    signatures = [_file_signature(folder / name) for name in HNSW_FILES]
    known = [s for s in signatures if s is not None]
    return ";".join(known) if len(known) == len(signatures) else None


def _checked(data_dir: Path) -> dict[str, str]:
    try:
        data = json.loads((data_dir / CHECKED).read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _remember_sound(data_dir: Path, key: str, signature: str) -> None:
    write_cache(data_dir / CHECKED, {**_checked(data_dir), key: signature})


def _upper_links_problem(data: bytes, count: int, max_m: int) -> str | None:
    """``link_lists.bin``: per element a byte size, then that many bytes of upper-level link blocks."""
    block, at, blocks = 4 + 4 * max_m, 0, []
    for _ in range(count):
        if at + 4 > len(data):
            return "link_lists.bin is truncated"
        size = int.from_bytes(data[at : at + 4], "little")
        at += 4
        if size % block or at + size > len(data):
            return "link_lists.bin holds impossible sizes"
        blocks.append(data[at : at + size])
        at += size
    if at != len(data):
        return "link_lists.bin has trailing bytes"
    raw = np.frombuffer(b"".join(blocks), dtype=np.uint8).reshape(-1, block)
    n = raw[:, 0:2].copy().view("<u2")[:, 0]
    links = raw[:, 4:].copy().view("<u4")
    if (n > max_m).any() or (links[np.arange(max_m)[None, :] < n[:, None]] >= count).any():
        return "link_lists.bin holds links to elements that do not exist"
    return None


def _structure_problem(folder: Path) -> str | None:
    header = (folder / "header.bin").read_bytes()
    if len(header) != _HEADER.size:
        return f"header.bin is {len(header)} bytes, not {_HEADER.size}"
    _, _, max_elements, count, per, label_at, data_at, max_level, entry, max_m, max_m0, _, _, _ = _HEADER.unpack(header)
    dim, rest = divmod(label_at - data_at, 4)
    if not (
        0 < max_m <= max_m0 <= 4096 and data_at == 4 + 4 * max_m0 and rest == 0 and dim > 0
        and per == label_at + 8 and count <= max_elements and 0 <= max_level < 64 and (count == 0 or entry < count)
    ):  # fmt: skip
        return "header.bin holds impossible values"
    level0 = np.fromfile(folder / "data_level0.bin", dtype=np.uint8)
    if level0.size != count * per:
        return f"data_level0.bin is {level0.size} bytes, expected {count * per}"
    rows = level0.reshape(count, per)
    links_n = rows[:, 0:2].copy().view("<u2")[:, 0]
    links = rows[:, 4:data_at].copy().view("<u4")
    if (links_n > max_m0).any() or (links[np.arange(max_m0)[None, :] < links_n[:, None]] >= count).any():
        return "data_level0.bin holds links to elements that do not exist"
    if not np.isfinite(rows[:, data_at:label_at].copy().view("<f4")).all():
        return "data_level0.bin holds vectors that are not numbers"
    norms = np.fromfile(folder / "length.bin", dtype="<f4")  # per-element vector norms (cosine space)
    if norms.size != count or not np.isfinite(norms).all():
        return f"length.bin holds {norms.size} norms for {count} elements"
    problem = _upper_links_problem((folder / "link_lists.bin").read_bytes(), count, max_m)
    if problem:
        return problem
    with (folder / "index_metadata.pickle").open("rb") as fh:
        meta = _NoObjects(fh).load()
    known = set(meta.get("id_to_label", {}).values()) if isinstance(meta, dict) else set()
    live = (rows[:, 2] & 1) == 0  # hnswlib's deleted mark
    labels = rows[live, label_at:per].copy().view("<u8")[:, 0]
    if not known.issuperset(int(x) for x in labels):
        return "index_metadata.pickle does not match data_level0.bin"
    return None
