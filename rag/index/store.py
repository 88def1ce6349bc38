"""Chroma storage of chunk and sentence vectors. Vectors are always passed in: Chroma never embeds.

Per embedder, two collections: ``chunks-<model>`` (one record per chunk, carrying the paper and its
content hash) and ``sentences-<model>`` (one record per abstract sentence: its paper, index, span and vector,
without the text, which is its paper's abstract sliced; a document would cost Chroma a full-text index row,
~30% of writing a sentence). A paper counts as stored only when all its chunks carry its current hash;
sentences are written before chunks, so a crash at any point leaves either a complete paper or one the next
ingest redoes. This module (the writes) and its helpers
(``store_reader``: the reads; ``store_records``: the record ids and the stored paper record;
``store_client``: connecting, healing, the stamp; ``store_files``: the on-disk layout, checked before
Chroma reads it; ``store_errors``: failures as ``RagError``s naming the fix) are the only code that
knows Chroma. Every method raises ``RagError``s only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from rag.index.store_client import discard_index, embedder_key, open_chroma, translated
from rag.index.store_reader import StoreReader
from rag.index.store_records import StoredSentence, chunk_id, paper_filter, paper_record, sentence_id
from rag.types import Chunk, Paper

__all__ = ["Store", "StoredSentence", "discard_index", "embedder_key", "open_chroma"]


class Store(StoreReader):
    """The chunk and sentence collections of one embedding model: reading (``StoreReader``) and writing their
    records."""

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
                ids=[sentence_id(s.paper_id, s.index) for s in sentences],
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
            ids=[chunk_id(c.paper_id, c.index) for c in chunks],
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
        found = self.chunks.get(where=paper_filter(by_id), include=["metadatas"])
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
        where = paper_filter(paper_ids)
        self.chunks.delete(where=where)
        self.sentences.delete(where=where)

    @translated("dropping the index")
    def drop(self) -> Store:
        """Drop this embedder's collections (chunks, the completeness marker, first); the returned store over the
        same client is empty. Other embedders' collections are left alone."""
        for collection in (self.chunks, self.sentences):
            self.client.delete_collection(collection.name)
        return Store(self.client, self.embedder_name)
