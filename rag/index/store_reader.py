"""Reading one embedder's chunk and sentence collections: the stored state, layout, papers, texts and vectors,
and nearest-neighbour queries. ``Store`` (``rag.index.store``) adds the writes. Every method raises ``RagError``s
only.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

import numpy as np

from rag.index.store_client import Collections, translated
from rag.index.store_records import StoredSentence, fingerprint_of, paper_filter, record_paper
from rag.types import Paper, Span

_PAGE = 5000


class StoreReader(Collections):
    """The chunk and sentence collections of one embedding model: reading their records."""

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
        """Only distances are fetched: the paper is read from the record id (``record_paper``)."""
        if paper_ids is not None and not paper_ids:
            return []
        total = int(collection.count())
        if total == 0 or n <= 0:
            return []
        result = collection.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=min(n, total),
            where=paper_filter(paper_ids) if paper_ids is not None else None,
            include=["distances"],
        )
        return [
            (record_paper(record_id), 1.0 - float(dist))
            for record_id, dist in zip(result["ids"][0], result["distances"][0], strict=True)
        ]
