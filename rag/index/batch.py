"""One batch of papers as the index stores it: chunks and sentences cut, the texts to embed listed (chunks
first), each paper's layout hash, and the write of the embedded batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.index.chunking import chunk_paper
from rag.index.embeddings import Embedder
from rag.index.manifest import layout_hash
from rag.index.store import Store
from rag.index.store_records import StoredSentence
from rag.text import split_sentences
from rag.types import Chunk, Paper, Span


@dataclass(frozen=True, slots=True)
class Prepared:
    """A batch of papers split into what is stored: chunks, sentences, and the texts to embed (chunks first)."""

    papers: Sequence[Paper]
    chunks: list[Chunk]
    sentences: list[StoredSentence]
    texts: list[str]


def prepare(batch: Sequence[Paper]) -> Prepared:
    """Chunk and split a batch of papers into sentences."""
    chunks = [c for p in batch for c in chunk_paper(p)]
    sentences = [StoredSentence(p.id, i, s) for p in batch for i, s in enumerate(split_sentences(p.abstract))]
    by_id = {p.id: p for p in batch}
    texts = [c.text for c in chunks] + [by_id[s.paper_id].abstract[s.span.start : s.span.end] for s in sentences]
    return Prepared(batch, chunks, sentences, texts)


def write_prepared(prepared: Prepared, vectors: np.ndarray, store: Store) -> None:
    n = len(prepared.chunks)
    store.write(prepared.papers, prepared.chunks, vectors[:n], prepared.sentences, vectors[n:])


def embed_and_write(batch: Sequence[Paper], store: Store, embedder: Embedder) -> None:
    """Chunk, split into sentences, embed all texts in one call, and store complete papers."""
    prepared = prepare(batch)
    write_prepared(prepared, embedder.embed(prepared.texts), store)


def layouts(prepared: Prepared) -> dict[str, str]:
    """Layout hash of each paper of a prepared batch (what ``write_prepared`` stores)."""
    texts: dict[str, list[str]] = {}
    spans: dict[str, list[Span]] = {}
    for c in prepared.chunks:
        texts.setdefault(c.paper_id, []).append(c.text)
    for s in prepared.sentences:
        spans.setdefault(s.paper_id, []).append(s.span)
    return {p.id: layout_hash(texts.get(p.id, []), spans.get(p.id, [])) for p in prepared.papers}
