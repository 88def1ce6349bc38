"""A local, fingerprinted copy of what retrieval loads from the index: papers, chunk texts and vectors, and
sentence vectors, so a cold start maps a few files instead of reading every vector back from Chroma (16 s of
a 28 s cold search at 20,000 papers).

``<data dir>/snapshot-<embedder>/`` holds ``papers.json``, ``chunks.json`` (paper id and text per chunk),
``chunk_vectors.npy``, ``sentences.npy`` (paper, index, start, end per sentence), ``sentence_vectors.npy``
and ``meta.json`` (the store's stamp and a CRC-32 and size of every file). It is trusted only when its stamp is
the store's current one (every write changes the stamp before it changes a record) and every file checks
out; otherwise it is rebuilt. An ingest builds it from the previous snapshot plus what it wrote
(``rag.index.spool``) instead of reading Chroma; the vectors are opened memory-mapped.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.errors import RagError
from rag.index.atomic import replacing
from rag.index.store import Store
from rag.index.store_client import embedder_key
from rag.index.store_records import StoredSentence, paper_record
from rag.types import Paper, Span

log = logging.getLogger(__name__)
VERSION = 1
_memo: dict[Path, tuple[tuple[str, int, int], Snapshot]] = {}
FILES = ("papers.json", "chunks.json", "chunk_vectors.npy", "sentences.npy", "sentence_vectors.npy")


def snapshot_dir(data_dir: Path, embedder_name: str) -> Path:
    return data_dir / f"snapshot-{embedder_key(embedder_name)}"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One consistent view of the store. Chunks are in chunk-id order (``Store.chunk_texts``); sentences are
    sorted by (paper id, index) with ``sentences[:, 0]`` the row of their paper in ``paper_ids``."""

    papers: dict[str, Paper]
    chunk_ids: list[str]
    chunk_paper_ids: list[str]
    chunk_texts: list[str]
    chunk_vectors: np.ndarray
    sentence_rows: np.ndarray
    """int64 (n, 4): paper row (in ``paper_ids``), sentence index, span start, span end."""
    sentence_vectors: np.ndarray

    @classmethod
    def empty(cls) -> Snapshot:
        nothing = np.zeros((0, 0), np.float32)
        return cls({}, [], [], [], nothing, np.zeros((0, 4), np.int64), nothing)

    @property
    def paper_ids(self) -> list[str]:
        return sorted(self.papers)

    def sentence_paper_ids(self) -> list[str]:
        ids = self.paper_ids
        return [ids[r] for r in self.sentence_rows[:, 0].tolist()]

    def stored_sentences(self) -> list[StoredSentence]:
        ids = self.paper_ids
        return [StoredSentence(ids[p], i, Span(s, e)) for p, i, s, e in self.sentence_rows.tolist()]

    @classmethod
    def read(cls, store: Store) -> Snapshot:
        """Read everything back from the store (the slow path: every record and vector)."""
        papers = store.papers()
        chunk_ids, chunk_paper_ids, chunk_texts, chunk_vectors = store.chunk_records()
        sentences, sentence_vectors = store.sentence_matrix()
        keep = [i for i, s in enumerate(sentences) if s.paper_id in papers]  # leftovers of a killed write
        row = {pid: i for i, pid in enumerate(sorted(papers))}
        rows = np.array(
            [(row[s.paper_id], s.index, s.span.start, s.span.end) for s in (sentences[i] for i in keep)], np.int64
        ).reshape(-1, 4)
        vectors = sentence_vectors[np.array(keep, dtype=np.int64)] if keep else np.zeros((0, 0), np.float32)
        return cls(papers, chunk_ids, chunk_paper_ids, chunk_texts, chunk_vectors, rows, vectors)

    def save(self, folder: Path, stamp: str) -> None:
        """Written to a temporary folder and swapped in: readers see the old snapshot or the new one."""
        with replacing(folder) as tmp:
            papers = {pid: paper_record(self.papers[pid]) for pid in self.paper_ids}
            (tmp / "papers.json").write_text(json.dumps(papers), encoding="utf-8")
            chunks = {"ids": self.chunk_ids, "paper_ids": self.chunk_paper_ids, "texts": self.chunk_texts}
            (tmp / "chunks.json").write_text(json.dumps(chunks), encoding="utf-8")
            np.save(tmp / "chunk_vectors.npy", np.asarray(self.chunk_vectors, dtype=np.float32))
            np.save(tmp / "sentences.npy", np.asarray(self.sentence_rows, dtype=np.int64))
            np.save(tmp / "sentence_vectors.npy", np.asarray(self.sentence_vectors, dtype=np.float32))
            write_meta(tmp, stamp)

    @classmethod
    def load(cls, folder: Path, stamp: str) -> Snapshot | None:
        """The snapshot if it was saved at ``stamp`` and every file is intact, else None (rebuild it)."""
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            if meta.get("version") != VERSION or meta.get("stamp") != stamp:
                return None
            for name in FILES:
                if _checksum(folder / name) != tuple(meta["files"][name]):
                    raise ValueError(f"{name} changed since it was saved")
            papers = {pid: Paper.from_dict(d) for pid, d in json.loads((folder / "papers.json").read_text()).items()}
            chunks = json.loads((folder / "chunks.json").read_text(encoding="utf-8"))
            snapshot = cls(
                papers,
                [str(x) for x in chunks["ids"]],
                [str(x) for x in chunks["paper_ids"]],
                [str(x) for x in chunks["texts"]],
                np.load(folder / "chunk_vectors.npy", mmap_mode="r", allow_pickle=False),
                np.load(folder / "sentences.npy", allow_pickle=False),
                np.load(folder / "sentence_vectors.npy", mmap_mode="r", allow_pickle=False),
            )
            snapshot.check()
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            log.warning("the index snapshot in %s is damaged (%s); reading the index instead", folder, exc)
            return None
        return snapshot

    def check(self) -> None:
        """``ValueError`` unless the parts fit together (shapes, dtypes, rows in range)."""
        n_chunks, n_sentences = len(self.chunk_paper_ids), len(self.sentence_rows)
        ok = (
            len(self.chunk_texts) == len(self.chunk_ids) == n_chunks
            and self.chunk_vectors.dtype == np.float32
            and self.sentence_vectors.dtype == np.float32
            and (n_chunks == 0 or self.chunk_vectors.shape[0] == n_chunks)
            and (n_sentences == 0 or self.sentence_vectors.shape[0] == n_sentences)
            and self.sentence_rows.ndim == 2
            and self.sentence_rows.shape[1] == 4
            and (n_sentences == 0 or int(self.sentence_rows[:, 0].min()) >= 0)
            and (n_sentences == 0 or int(self.sentence_rows[:, 0].max()) < len(self.papers))
            and set(self.chunk_paper_ids) <= set(self.papers)
        )
        if not ok:
            raise ValueError("its parts do not fit together")


def write_meta(folder: Path, stamp: str) -> None:
    """Record the checksums of the snapshot's files in ``folder`` and the stamp it was saved at."""
    files = {name: list(_checksum(folder / name)) for name in FILES}
    (folder / "meta.json").write_text(json.dumps({"version": VERSION, "stamp": stamp, "files": files}))


def _checksum(path: Path) -> tuple[int, int]:
    """(size, CRC-32) of a file, read in 16 MB blocks: catches truncation and damage, fast on GBs."""
    crc, size = 0, 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 24):
            crc = zlib.crc32(block, crc)
            size += len(block)
    return size, crc


def sentence_order(paper_rows: np.ndarray, indexes: np.ndarray) -> np.ndarray:
    """Row order sorting sentences by (paper row, index)."""
    return np.lexsort((indexes, paper_rows)) if len(paper_rows) else np.zeros(0, dtype=np.int64)


def chunk_order(chunk_ids: Sequence[str]) -> list[int]:
    """Row order sorting chunks by chunk id (``<paper id>:<n>`` as a string, as ``Store.chunk_texts``)."""
    return sorted(range(len(chunk_ids)), key=chunk_ids.__getitem__)


def current(store: Store, data_dir: Path | None = None) -> Snapshot:
    """The snapshot of ``store`` as it is now: loaded from ``data_dir`` (default: the store's own, for an
    on-disk index) when it matches, else read from the store and saved for next time (unless a write landed
    meanwhile). Snapshots are remembered per process by stamp, so a Chroma server's store (no data dir of its
    own) reuses the one its ingest or keyword index just loaded from the local data dir."""
    data_dir = data_dir or store.location.data_dir
    stamp = store.stamp()
    if data_dir is None:
        remembered = [snapshot for (key, snapshot) in _memo.values() if key[0] == stamp]
        return remembered[0] if remembered else Snapshot.read(store)
    folder = snapshot_dir(data_dir, store.embedder_name)
    loaded = load_memo(folder, stamp)
    if loaded is not None:
        return loaded
    snapshot = Snapshot.read(store)
    if store.stamp() == stamp:
        try:
            snapshot.save(folder, stamp)
            _remember(folder, stamp, snapshot)
        except RagError as exc:  # a disk that cannot take it: only a slower next start
            log.warning("could not save the index snapshot: %s", exc)
    return snapshot


def _remember(folder: Path, stamp: str, snapshot: Snapshot) -> None:
    try:
        info = (folder / "meta.json").stat()
    except OSError:
        return
    _memo.clear()  # one snapshot per process is enough
    _memo[folder] = ((stamp, info.st_mtime_ns, info.st_ino), snapshot)


def load_memo(folder: Path, stamp: str) -> Snapshot | None:
    """``Snapshot.load``, remembered per process while ``meta.json`` is unchanged."""
    try:
        info = (folder / "meta.json").stat()
    except OSError:
        return None
    memo = _memo.get(folder)
    if memo is not None and memo[0] == (stamp, info.st_mtime_ns, info.st_ino):
        return memo[1]
    loaded = Snapshot.load(folder, stamp)
    if loaded is not None:
        _remember(folder, stamp, loaded)
    return loaded
