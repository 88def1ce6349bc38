"""Chroma storage of chunk and sentence vectors. Vectors are always passed in: Chroma never embeds.

Per embedder, two collections: ``chunks-<model>`` (one record per chunk, carrying the paper and its
content hash) and ``sentences-<model>`` (one record per abstract sentence: its paper, index, span and vector,
without the text, which is its paper's abstract sliced; a document would cost Chroma a full-text index row,
~30% of writing a sentence). A paper counts as stored only when all its chunks carry its current hash;
sentences are written before chunks, so a crash at any point leaves either a complete paper or one the next
ingest redoes. This module and its helpers
(``store_client``: connecting, healing, the stamp; ``store_files``: the on-disk layout, checked before
Chroma reads it; ``store_errors``: failures as ``RagError``s naming the fix) are the only code that
knows Chroma. Every method raises ``RagError``s only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from rag.index.store_client import Collections, discard_index, embedder_key, open_chroma, translated
from rag.types import Chunk, Paper, Span

__all__ = ["Store", "StoredSentence", "discard_index", "embedder_key", "open_chroma"]
_PAGE = 5000


def _chunk_id(paper_id: str, index: int) -> str:
    return f"{paper_id}:{index}"


def _sentence_id(paper_id: str, index: int) -> str:
    return f"{paper_id}:s{index}"


def _record_paper(record_id: str) -> str:
    """The paper of a chunk or sentence record id (``<paper id>:<n>`` / ``<paper id>:s<n>``)."""
    return record_id.rpartition(":")[0]


def _paper_filter(paper_ids: Collection[str]) -> dict[str, Any]:
    return {"paper_id": {"$in": list(paper_ids)}}


_PAPER_FIELDS = tuple(f.name for f in fields(Paper))


def paper_record(paper: Paper) -> dict[str, Any]:
    """``paper.to_dict()`` (every field is flat), 20x faster than ``dataclasses.asdict``: it runs per paper."""
    return {name: getattr(paper, name) for name in _PAPER_FIELDS}


def fingerprint_of(embedder_name: str, state: dict[str, str]) -> str:
    """``Store.fingerprint`` of a store whose ``state`` is known (read from the ingest manifest)."""
    digest = hashlib.sha256(embedder_name.encode())
    for pid, h in sorted(state.items()):
        digest.update(f"{pid}:{h};".encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class StoredSentence:
    paper_id: str
    index: int
    span: Span


class Store(Collections):
    """The chunk and sentence collections of one embedding model: reading and writing their records."""

    # ---- reading -------------------------------------------------------------------------------
    def _get_all(self, collection: Any, include: list[str]) -> Iterable[dict[str, Any]]:
        offset = 0
        while True:
            page = collection.get(include=include, limit=_PAGE, offset=offset)
            if not page["ids"]:
                return
            yield page
            offset += len(page["ids"])

    @translated("reading the index")
    def state(self) -> dict[str, str]:
        """``paper_id -> content_hash`` of the papers stored completely (every chunk present, same hash)."""
        seen: dict[str, tuple[str, int, int]] = {}
        broken: set[str] = set()
        for page in self._get_all(self.chunks, ["metadatas"]):
            for meta in page["metadatas"]:
                pid, h, n = meta["paper_id"], meta["content_hash"], int(meta["n_chunks"])
                prev = seen.get(pid)
                if prev is None:
                    seen[pid] = (h, n, 1)
                elif prev[0] != h or prev[1] != n:
                    broken.add(pid)
                else:
                    seen[pid] = (h, n, prev[2] + 1)
        return {pid: h for pid, (h, n, count) in seen.items() if pid not in broken and count == n}

    @translated("reading the index")
    def layout(self) -> dict[str, tuple[tuple[str, ...], tuple[Span, ...]]]:
        """``paper_id -> (chunk texts in order, sentence spans in order)`` as stored, so an ingest can tell
        papers that a changed chunker or sentence splitter would store differently."""
        chunks: dict[str, list[tuple[int, str]]] = {}
        for page in self._get_all(self.chunks, ["metadatas", "documents"]):
            for meta, doc in zip(page["metadatas"], page["documents"], strict=True):
                chunks.setdefault(meta["paper_id"], []).append((int(meta["chunk"]), doc))
        spans: dict[str, list[tuple[int, Span]]] = {}
        for page in self._get_all(self.sentences, ["metadatas"]):
            for meta in page["metadatas"]:
                spans.setdefault(meta["paper_id"], []).append((int(meta["index"]), Span(meta["start"], meta["end"])))
        return {
            pid: (tuple(t for _, t in sorted(rows)), tuple(s for _, s in sorted(spans.get(pid, []))))
            for pid, rows in chunks.items()
        }

    @translated("reading the index")
    def all_paper_ids(self) -> set[str]:
        """Every paper id with any chunk or sentence stored, complete or not."""
        ids = {m["paper_id"] for page in self._get_all(self.chunks, ["metadatas"]) for m in page["metadatas"]}
        ids |= {m["paper_id"] for page in self._get_all(self.sentences, ["metadatas"]) for m in page["metadatas"]}
        return ids

    @translated("reading the index")
    def papers(self) -> dict[str, Paper]:
        papers: dict[str, Paper] = {}
        for page in self._get_all(self.chunks, ["metadatas"]):
            for meta in page["metadatas"]:
                if meta["paper_id"] not in papers:
                    papers[meta["paper_id"]] = Paper.from_dict(json.loads(meta["paper"]))
        return papers

    def _chunk_rows(self, field: str) -> tuple[list[str], list[Any]]:
        """(paper_id per chunk, the chunk's ``field``: documents or embeddings), sorted by chunk id."""
        rows: list[tuple[str, str, Any]] = []
        for page in self._get_all(self.chunks, ["metadatas", field]):
            rows.extend(zip(page["ids"], [m["paper_id"] for m in page["metadatas"]], page[field], strict=True))
        rows.sort(key=lambda r: r[0])
        return [r[1] for r in rows], [r[2] for r in rows]

    @translated("reading the index")
    def chunk_records(self) -> tuple[list[str], list[str], list[str], np.ndarray]:
        """(chunk id, paper id, text, vector) of every chunk, sorted by chunk id: one pass over the records."""
        rows: list[tuple[str, str, str, Any]] = []
        for page in self._get_all(self.chunks, ["metadatas", "documents", "embeddings"]):
            metas, docs, vectors = page["metadatas"], page["documents"], page["embeddings"]
            rows.extend(zip(page["ids"], [m["paper_id"] for m in metas], docs, vectors, strict=True))
        rows.sort(key=lambda r: r[0])
        matrix = np.asarray(np.stack([r[3] for r in rows]), np.float32) if rows else np.zeros((0, 0), np.float32)
        return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], matrix

    @translated("reading the index")
    def chunk_texts(self) -> tuple[list[str], list[str]]:
        """(paper_id per chunk, chunk text), in a stable order (sorted by chunk id)."""
        return self._chunk_rows("documents")

    @translated("reading the index")
    def sentence_matrix(self) -> tuple[list[StoredSentence], np.ndarray]:
        """Every stored sentence and its vector, sorted by (paper id, index)."""
        rows: list[tuple[StoredSentence, np.ndarray]] = []
        for page in self._get_all(self.sentences, ["metadatas", "embeddings"]):
            for meta, vec in zip(page["metadatas"], page["embeddings"], strict=True):
                rows.append(
                    (StoredSentence(meta["paper_id"], int(meta["index"]), Span(meta["start"], meta["end"])), vec)
                )
        rows.sort(key=lambda r: (r[0].paper_id, r[0].index))
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        return [r[0] for r in rows], np.asarray(np.stack([r[1] for r in rows]), dtype=np.float32)

    @translated("reading the index")
    def fingerprint(self) -> str:
        """Changes whenever any stored paper changes; keys derived indexes (BM25)."""
        return fingerprint_of(self.embedder_name, self.state())

    @translated("reading the index")
    def counts(self, papers: int | None = None) -> dict[str, int]:
        """Papers, chunks and sentences stored; ``papers`` when already known (else every record is read)."""
        papers = len(self.state()) if papers is None else papers
        return {"papers": papers, "chunks": self.chunks.count(), "sentences": self.sentences.count()}

    @translated("reading the index")
    def is_empty(self) -> bool:
        """True when no chunk is stored (the index has never been built for this embedder)."""
        return int(self.chunks.count()) == 0

    @translated("reading the index")
    def chunk_vectors(self) -> tuple[list[str], np.ndarray]:
        """(paper_id per chunk, chunk vectors), in the order of ``chunk_texts`` (sorted by chunk id)."""
        paper_ids, vectors = self._chunk_rows("embeddings")
        if not vectors:
            return [], np.zeros((0, 0), dtype=np.float32)
        return paper_ids, np.ascontiguousarray(np.asarray(np.stack(vectors), dtype=np.float32))

    @translated("reading the index")
    def dense_query(
        self, vector: np.ndarray, n: int, paper_ids: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """Chroma's (HNSW) ``n`` nearest chunks as ``(paper_id, cosine similarity)``, best first, restricted
        to ``paper_ids`` when given. A paper with several chunks may appear more than once."""
        return self._nearest(self.chunks, vector, n, paper_ids)

    @translated("reading the index")
    def sentence_query(
        self, vector: np.ndarray, n: int, paper_ids: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """The ``n`` nearest abstract sentences as ``(paper_id, cosine similarity)``, best first."""
        return self._nearest(self.sentences, vector, n, paper_ids)

    def _nearest(
        self, collection: Any, vector: np.ndarray, n: int, paper_ids: Collection[str] | None
    ) -> list[tuple[str, float]]:
        """Only distances are fetched: the paper is read from the record id (``_record_paper``)."""
        if paper_ids is not None and not paper_ids:
            return []
        total = int(collection.count())
        if total == 0 or n <= 0:
            return []
        result = collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=min(n, total),
            where=_paper_filter(paper_ids) if paper_ids is not None else None,
            include=["distances"],
        )
        return [
            (_record_paper(record_id), 1.0 - float(dist))
            for record_id, dist in zip(result["ids"][0], result["distances"][0], strict=True)
        ]

    # ---- writing -------------------------------------------------------------------------------
    @translated("writing papers")
    def write(
        self,
        papers: Sequence[Paper],
        chunks: Sequence[Chunk],
        chunk_vectors: np.ndarray,
        sentences: Sequence[StoredSentence],
        sentence_vectors: np.ndarray,
    ) -> None:
        """Store complete papers: old records first removed, sentences next, chunks (the marker) last."""
        by_id = {p.id: p for p in papers}
        self._bump()
        self._delete([p.id for p in papers])
        if sentences:
            self.sentences.upsert(
                ids=[_sentence_id(s.paper_id, s.index) for s in sentences],
                embeddings=sentence_vectors,
                metadatas=[
                    {"paper_id": s.paper_id, "index": s.index, "start": s.span.start, "end": s.span.end}
                    for s in sentences
                ],
            )
        n_chunks: dict[str, int] = {}
        for c in chunks:
            n_chunks[c.paper_id] = n_chunks.get(c.paper_id, 0) + 1
        self.chunks.upsert(
            ids=[_chunk_id(c.paper_id, c.index) for c in chunks],
            embeddings=chunk_vectors,
            documents=[c.text for c in chunks],
            metadatas=[
                {
                    "paper_id": c.paper_id,
                    "chunk": c.index,
                    "n_chunks": n_chunks[c.paper_id],
                    "content_hash": by_id[c.paper_id].content_hash,
                    "listing_date": by_id[c.paper_id].listing_date or "",
                    "paper": json.dumps(paper_record(by_id[c.paper_id])),
                }
                for c in chunks
            ],
        )
        self._bump()

    @translated("updating papers")
    def update_papers(self, papers: Sequence[Paper]) -> None:
        """Refresh the stored record (sources, listing date, URLs) of papers whose embedded text is unchanged."""
        if not papers:
            return
        by_id = {p.id: p for p in papers}
        found = self.chunks.get(where=_paper_filter(by_id), include=["metadatas"])
        if not found["ids"]:
            return
        self._bump()
        metadatas = []
        for meta in found["metadatas"]:
            paper = by_id[meta["paper_id"]]
            metadatas.append(
                {**meta, "listing_date": paper.listing_date or "", "paper": json.dumps(paper_record(paper))}
            )
        self.chunks.update(ids=found["ids"], metadatas=metadatas)
        self._bump()

    @translated("deleting papers")
    def delete(self, paper_ids: Sequence[str]) -> None:
        """Remove papers: chunks (the marker) first, then their sentences."""
        if not paper_ids:
            return
        self._bump()
        self._delete(paper_ids)
        self._bump()

    def _delete(self, paper_ids: Sequence[str]) -> None:
        if not paper_ids:
            return
        where = _paper_filter(paper_ids)
        self.chunks.delete(where=where)
        self.sentences.delete(where=where)

    @translated("dropping the index")
    def drop(self) -> Store:
        """Drop this embedder's collections (chunks, the completeness marker, first); the returned store over the
        same client is empty. Other embedders' collections are left alone."""
        for collection in (self.chunks, self.sentences):
            self.client.delete_collection(collection.name)
        return Store(self.client, self.embedder_name)
