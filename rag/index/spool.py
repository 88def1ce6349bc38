"""What an ingest wrote, kept on disk batch by batch, and the next snapshot made from it and the previous one.

Each written batch appends its chunk and sentence vectors to two raw float32 files (memory stays bounded: a
full ingest of 50,000 papers spools ~0.8 GB to disk, not to RAM) and its row descriptions to lists. At the
end the new snapshot is the previous one without the papers removed or rewritten, plus the spooled rows, in
the store's order (chunk id; paper id and sentence index), copied block by block into memory-mapped output.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.index.atomic import replacing
from rag.index.snapshot import Snapshot, chunk_order, sentence_order, write_meta
from rag.index.store_errors import storage_error
from rag.index.store_records import StoredSentence, paper_record
from rag.types import Chunk, Paper

_BLOCK = 65_536
log = logging.getLogger(__name__)


def remove_leftovers(data_dir: Path) -> None:
    """Remove spools and half-written snapshots of ingests that were killed (call holding the ingest lock:
    a live ingest's are then not among them). A reader saving a snapshot meanwhile only fails to save it."""
    for leftover in (*data_dir.glob(".spool-*"), *data_dir.glob(".snapshot-*")):
        shutil.rmtree(leftover, ignore_errors=True)


class Spool:
    """Vectors and rows of the papers an ingest wrote. Use as a context manager (its folder is removed)."""

    def __init__(self, parent: Path) -> None:
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.folder = Path(tempfile.mkdtemp(dir=parent, prefix=".spool-"))
        except OSError as exc:
            raise storage_error(exc, parent) from None
        self.failed = False
        """True once a batch could not be spooled (a full disk): the snapshot is then read from the store."""
        self.chunk_ids: list[str] = []
        self.chunk_paper_ids: list[str] = []
        self.chunk_texts: list[str] = []
        self.sentences: list[tuple[str, int, int, int]] = []
        self.dim = 0

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def add(
        self,
        chunks: Sequence[Chunk],
        chunk_vectors: np.ndarray,
        sentences: Sequence[StoredSentence],
        vectors: np.ndarray,
    ) -> None:
        """Append a written batch (call in write order). A failure to write is not the ingest's: it is noted
        (``failed``) and nothing more is spooled."""
        if self.failed:
            return
        try:
            for name, matrix in (("chunks.f32", chunk_vectors), ("sentences.f32", vectors)):
                if len(matrix):
                    self.dim = int(matrix.shape[1])
                    with (self.folder / name).open("ab") as fh:
                        np.ascontiguousarray(matrix, dtype=np.float32).tofile(fh)
        except OSError as exc:
            log.warning("could not spool vectors for the index snapshot (%s); it will be read from the index", exc)
            self.failed = True
            return
        self.chunk_ids.extend(f"{c.paper_id}:{c.index}" for c in chunks)
        self.chunk_paper_ids.extend(c.paper_id for c in chunks)
        self.chunk_texts.extend(c.text for c in chunks)
        self.sentences.extend((s.paper_id, s.index, s.span.start, s.span.end) for s in sentences)

    def _vectors(self, name: str, rows: int) -> np.ndarray:
        if not rows:
            return np.zeros((0, self.dim), np.float32)
        return np.memmap(self.folder / name, dtype=np.float32, mode="r", shape=(rows, self.dim))

    def save_merged(self, old: Snapshot, papers: Sequence[Paper], folder: Path, stamp: str) -> None:
        """Save the snapshot of a store that held ``old`` and now holds exactly ``papers`` after this spool's
        writes, as ``folder`` at ``stamp``."""
        with replacing(folder) as tmp:
            self._write(old, papers, tmp)
            write_meta(tmp, stamp)

    def _write(self, old: Snapshot, papers: Sequence[Paper], tmp: Path) -> None:
        final = {p.id: p for p in papers}
        ids = sorted(final)
        rewritten = set(self.chunk_paper_ids) | {s[0] for s in self.sentences}
        kept = [i for i, pid in enumerate(old.chunk_paper_ids) if pid in final and pid not in rewritten]
        chunk_ids = [old.chunk_ids[i] for i in kept] + self.chunk_ids
        order = chunk_order(chunk_ids)
        source = [(0, i) for i in kept] + [(1, i) for i in range(len(self.chunk_ids))]
        paper_ids = [old.chunk_paper_ids[i] for i in kept] + self.chunk_paper_ids
        texts = [old.chunk_texts[i] for i in kept] + self.chunk_texts
        chunks = {
            "ids": [chunk_ids[i] for i in order],
            "paper_ids": [paper_ids[i] for i in order],
            "texts": [texts[i] for i in order],
        }
        (tmp / "papers.json").write_text(json.dumps({pid: paper_record(final[pid]) for pid in ids}), encoding="utf-8")
        (tmp / "chunks.json").write_text(json.dumps(chunks), encoding="utf-8")
        new_chunks = self._vectors("chunks.f32", len(self.chunk_ids))
        _gather(tmp / "chunk_vectors.npy", np.array([source[i] for i in order]), old.chunk_vectors, new_chunks)

        self._write_sentences(old, final, rewritten, tmp)

    def _write_sentences(self, old: Snapshot, final: dict[str, Paper], rewritten: set[str], tmp: Path) -> None:
        """Sentence rows and vectors: the old ones of papers kept as they were, then the spooled ones, sorted."""
        row = {pid: i for i, pid in enumerate(sorted(final))}
        old_ids = old.paper_ids
        new_row = np.array([row[p] if p in final and p not in rewritten else -1 for p in old_ids], dtype=np.int64)
        old_rows = np.asarray(old.sentence_rows, dtype=np.int64).reshape(-1, 4)
        keep = np.flatnonzero(new_row[old_rows[:, 0]] >= 0) if len(old_ids) else np.zeros(0, np.int64)
        kept = old_rows[keep].copy()
        kept[:, 0] = new_row[kept[:, 0]]
        spooled = [i for i, s in enumerate(self.sentences) if s[0] in row]
        added = np.array([(row[s[0]], *s[1:]) for s in (self.sentences[i] for i in spooled)], np.int64).reshape(-1, 4)
        table = np.concatenate([kept, added])
        sources = np.concatenate(
            [
                np.stack([np.zeros_like(keep), keep], axis=1),
                np.array([(1, i) for i in spooled], np.int64).reshape(-1, 2),
            ]
        )
        order = sentence_order(table[:, 0], table[:, 1])
        np.save(tmp / "sentences.npy", table[order])
        new_sentences = self._vectors("sentences.f32", len(self.sentences))
        _gather(tmp / "sentence_vectors.npy", sources[order], old.sentence_vectors, new_sentences)


def _gather(path: Path, sources: np.ndarray, old: np.ndarray, new: np.ndarray) -> None:
    """Write rows ``sources`` ((0, row of ``old``) or (1, row of ``new``)) to a new .npy file, block by block.

    Rows are read and written with plain file reads and writes where the arrays are files: mapping 600 MB of old
    vectors and 600 MB of new ones (50,000 papers) counted 1.2 GB of file pages in the ingest's peak RSS."""
    dim = max(old.shape[1] if old.ndim == 2 and len(old) else 0, new.shape[1] if len(new) else 0)
    if not len(sources) or not dim:
        np.save(path, np.zeros((0, 0), np.float32))
        return
    table = np.asarray(sources, dtype=np.int64).reshape(-1, 2)
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
              "shape": (len(table), dim)}  # fmt: skip
    with path.open("wb") as out:
        np.lib.format.write_array_header_1_0(out, header)
        for start in range(0, len(table), _BLOCK):
            block = table[start : start + _BLOCK]
            from_old = block[:, 0] == 0
            part = np.empty((len(block), dim), np.float32)
            if from_old.any():
                part[from_old] = _rows(old, block[from_old, 1], dim)
            if (~from_old).any():
                part[~from_old] = _rows(new, block[~from_old, 1], dim)
            out.write(part.tobytes())


def _rows(matrix: np.ndarray, rows: np.ndarray, dim: int) -> np.ndarray:
    """``matrix[rows]`` for increasing ``rows``: read from the file behind a memory map (the span they cover, in
    one read) without mapping its pages; an in-memory array is indexed."""
    where = _whole_file(matrix, dim)
    if not len(rows) or where is None:
        return np.asarray(matrix[rows])
    filename, offset = where
    lo, hi = int(rows.min()), int(rows.max()) + 1
    row_bytes = dim * 4
    with open(filename, "rb") as fh:
        fh.seek(offset + lo * row_bytes)
        span = np.frombuffer(fh.read((hi - lo) * row_bytes), dtype=np.float32).reshape(hi - lo, dim)
    return span[rows - lo]


def _whole_file(matrix: np.ndarray, dim: int) -> tuple[str, int] | None:
    """The file ``matrix`` maps, and its offset, when it maps a whole float32 file of rows of ``dim``, else None
    (a slice of a memory map keeps its parent's offset, so only the whole file can be read by offset)."""
    if not isinstance(matrix, np.memmap) or matrix.filename is None or matrix.dtype != np.float32:
        return None
    try:
        size = Path(matrix.filename).stat().st_size
    except OSError:
        return None
    shaped = matrix.ndim == 2 and matrix.shape[1] == dim and matrix.flags.c_contiguous
    offset = int(matrix.offset)
    return (str(matrix.filename), offset) if shaped and size == offset + matrix.nbytes else None
