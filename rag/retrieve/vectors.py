"""The first stage's two vector stages over the index snapshot: dense (each paper's best chunk cosine) and
sentence (each paper's best sentence).

Chunk and sentence rows carry their paper's code, for per-paper maxima (``PaperGroups``), and are sorted by it,
so a paper's rows are one span. Each stage scans its memory-mapped matrix exactly up to
``DENSE_MATRIX_MAX_CHUNKS`` / ``SENTENCE_SCAN_MAX`` rows, then asks Chroma's HNSW index; over
``SHORTLIST_MIN_ROWS`` rows a scan computes exact cosines only for a sign-bit shortlist (``rag.retrieve.signs``).
Every candidate's own scores are exact either way (``VectorStages.candidate_scores``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rag.index.snapshot import Snapshot
from rag.index.store import Store
from rag.retrieve.arrays import PaperGroups
from rag.retrieve.signs import SignShortlist

DENSE_MATRIX_MAX_CHUNKS = 250_000
"""Above this many chunks the dense stage asks Chroma's HNSW index instead of scanning a matrix. The matrix is
the snapshot's memory-mapped file (1.5 KB a chunk at 384 dimensions): 100,000 papers stay exact."""
SENTENCE_SCAN_MAX = 1_500_000
"""Above this many sentences the sentence stage asks Chroma's HNSW index instead of a full scan: ~2.2 GB of
memory-mapped float32 vectors at 384 dimensions, about 160,000 papers of 9 sentences. Below it every stage is
exact, so adding papers never switches to an approximate search (it did at 40,000 sentences: +100 papers over
that moved hit@1)."""
SHORTLIST_MIN_ROWS = 4_000
SHORTLIST_SHARE = 0.01
"""A dense or sentence scan over more than ``SHORTLIST_MIN_ROWS`` vectors computes exact cosines only for the
``max(SHORTLIST_MIN_ROWS, SHORTLIST_SHARE * rows)`` whose sign bits agree most with the query's; below it, and
for every candidate's own scores, everything is exact. 0.05 was chosen on dev_fit over a 10,000-paper index
(where both give 4,000 rows); 0.01 over the 50,000- and 100,000-paper indexes, where reading the shortlisted rows
was most of a search: dev_fit and dev_val hit@1, recall@10 and abstention unchanged, no top hit changed on 561
dev, held-out and comparison questions (top five reordered for 4 and 19). See docs/scale.md."""


class VectorStages:
    """The dense and sentence stages over one snapshot, for papers coded ``code`` (``paper_ids[code]``)."""

    def __init__(
        self,
        store: Store,
        snapshot: Snapshot,
        paper_ids: list[str],
        code: Mapping[str, int],
        chunks: PaperGroups,
        chunk_paper_ids: list[str],
        *,
        dense_matrix_max: int = DENSE_MATRIX_MAX_CHUNKS,
        sentence_scan_max: int = SENTENCE_SCAN_MAX,
    ) -> None:
        """``chunks``: the BM25 index's chunk rows (``chunk_paper_ids``) grouped by paper code; the snapshot's chunk
        matrix is scanned when its rows are those same chunks and there are at most ``dense_matrix_max``."""
        self.store = store
        self.paper_ids = paper_ids
        self.code = code
        n = len(paper_ids)
        # snapshot sentences are sorted by (paper id, index), their papers all known: codes stay sorted
        to_code = np.array([code[pid] for pid in snapshot.paper_ids], dtype=np.int64)
        sentence_codes = to_code[snapshot.sentence_rows[:, 0]] if len(snapshot.sentence_rows) else to_code[:0]
        self.sentence_matrix = snapshot.sentence_vectors if len(sentence_codes) else np.zeros((0, 0), np.float32)
        self.sentence_groups = PaperGroups(sentence_codes, n)
        # sentence rows of paper code c: [start[c], end[c]) (rows are sorted by paper id = by code)
        self.sentence_start = np.searchsorted(sentence_codes, np.arange(n), side="left")
        self.sentence_end = np.searchsorted(sentence_codes, np.arange(n), side="right")

        self.chunk_groups = chunks
        self.chunk_matrix: np.ndarray | None = None
        if 0 < len(chunk_paper_ids) <= dense_matrix_max and snapshot.chunk_paper_ids == chunk_paper_ids:
            self.chunk_matrix = snapshot.chunk_vectors  # the BM25 index's row order (chunk id order)
        self.chunk_start = np.searchsorted(chunks.codes, np.arange(n), side="left")
        self.chunk_end = np.searchsorted(chunks.codes, np.arange(n), side="right")
        self.sentence_scan = len(self.sentence_matrix) <= sentence_scan_max
        self.sentence_shortlist = _shortlist(self.sentence_matrix) if self.sentence_scan else None
        self.chunk_shortlist = _shortlist(self.chunk_matrix) if self.chunk_matrix is not None else None

    def dense_scores(self, qvec: np.ndarray, n: int, mask: np.ndarray | None) -> np.ndarray:
        """Best chunk cosine per paper: over the sign shortlist or every row of a matrix index (``-inf`` for
        papers outside the shortlist), else for Chroma's top ``n`` chunks."""
        if self.chunk_matrix is not None and self.chunk_shortlist is not None:
            return _shortlist_max(self.chunk_matrix, self.chunk_shortlist, self.chunk_groups, qvec)
        if self.chunk_matrix is not None:
            return self.chunk_groups.max(np.asarray(self.chunk_matrix @ qvec, dtype=np.float32))
        return self._best_per_paper(self.store.dense_query(qvec, n, self._allowed(mask)))

    def sentence_sims(self, qvec: np.ndarray) -> np.ndarray:
        """Similarity of every sentence to the query: exact, or ``-inf`` outside the sign shortlist."""
        if not len(self.sentence_matrix):
            return np.zeros(0, dtype=np.float32)
        if self.sentence_shortlist is None:
            return np.asarray(self.sentence_matrix @ qvec, dtype=np.float32)
        rows, sims = _shortlisted(self.sentence_matrix, self.sentence_shortlist, qvec)
        out = np.full(len(self.sentence_matrix), -np.inf, dtype=np.float32)
        out[rows] = sims
        return out

    def sentence_scores(
        self, qvec: np.ndarray, n: int, mask: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Best sentence similarity per paper, and the similarity of every sentence (``None`` behind a sign
        shortlist, where candidates compute their own, or when the index is too large for a full scan and
        Chroma's ``n`` nearest sentences are asked instead)."""
        sims: np.ndarray | None = None
        if self.sentence_shortlist is not None:
            sentence = _shortlist_max(self.sentence_matrix, self.sentence_shortlist, self.sentence_groups, qvec)
        elif self.sentence_scan:
            sims = self.sentence_sims(qvec)
            sentence = self.sentence_groups.max(sims) if len(sims) else np.full(len(self.paper_ids), -np.inf)
        else:
            sentence = self._sentence_hnsw(qvec, n, mask)
        return sentence.astype(np.float32, copy=False), sims

    def _sentence_hnsw(self, qvec: np.ndarray, n: int, mask: np.ndarray | None) -> np.ndarray:
        """Best sentence similarity per paper among Chroma's ``n`` nearest sentences (large indexes)."""
        if not len(self.sentence_matrix):
            return np.full(len(self.paper_ids), -np.inf, dtype=np.float32)
        return self._best_per_paper(self.store.sentence_query(qvec, n, self._allowed(mask)))

    def _allowed(self, mask: np.ndarray | None) -> list[str] | None:
        return None if mask is None else [self.paper_ids[c] for c in np.flatnonzero(mask)]

    def _best_per_paper(self, nearest: list[tuple[str, float]]) -> np.ndarray:
        """Per-paper best cosine among the store's nearest records; ``-inf`` for papers not among them."""
        out = np.full(len(self.paper_ids), -np.inf, dtype=np.float32)
        for paper_id, similarity in nearest:
            c = self.code.get(paper_id)
            if c is not None and similarity > out[c]:
                out[c] = similarity
        return out

    def candidate_scores(
        self, codes: np.ndarray, dense: np.ndarray, sentence: np.ndarray, sims: np.ndarray | None, qvec: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """The candidates' (paper ``codes``) dense and sentence scores, from the stages' per-paper ``dense`` and
        ``sentence``, and their sentences' similarities. Behind a sign shortlist a candidate's scores are computed
        from its own rows, so they are exact whether or not the shortlist held its best chunk and sentence."""
        spans = zip(self.sentence_start[codes].tolist(), self.sentence_end[codes].tolist(), strict=True)
        own = [sims[a:b] if sims is not None else self.sentence_matrix[a:b] @ qvec for a, b in spans]
        mine_dense, mine_sentence = dense[codes], sentence[codes]
        if self.sentence_shortlist is not None:
            mine_sentence = np.array([v.max() if len(v) else -np.inf for v in own], dtype=np.float32)
        missing = ~np.isfinite(mine_dense)
        if self.chunk_shortlist is not None:
            mine_dense = np.array([self._exact_dense(c, qvec) for c in codes.tolist()], dtype=np.float32)
        elif missing.any():  # HNSW did not return them: no better than the worst it returned
            finite = dense[np.isfinite(dense)]
            mine_dense = np.where(missing, finite.min() if len(finite) else mine_sentence, mine_dense)
        return mine_dense, mine_sentence, own

    def _exact_dense(self, code: int, qvec: np.ndarray) -> float:
        a, b = int(self.chunk_start[code]), int(self.chunk_end[code])
        if self.chunk_matrix is None or b <= a:
            return -np.inf
        return float((self.chunk_matrix[a:b] @ qvec).max())

    def sentence_vectors(self, paper_id: str) -> np.ndarray:
        """The stored vectors of a paper's sentences, in abstract order (empty for an unknown paper)."""
        c = self.code.get(paper_id)
        if c is None or not len(self.sentence_matrix):
            return np.zeros((0, 0), dtype=np.float32)
        return np.asarray(self.sentence_matrix[self.sentence_start[c] : self.sentence_end[c]])


def _shortlist(matrix: np.ndarray | None) -> SignShortlist | None:
    """Sign bits of a matrix over ``SHORTLIST_MIN_ROWS`` rows (built once, at load)."""
    return SignShortlist(matrix) if matrix is not None and len(matrix) > SHORTLIST_MIN_ROWS else None


def _shortlisted(matrix: np.ndarray, shortlist: SignShortlist, qvec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row numbers, exact cosines) of the sign shortlist's rows."""
    return shortlist.nearest(qvec, max(SHORTLIST_MIN_ROWS, int(SHORTLIST_SHARE * len(matrix))))


def _shortlist_max(matrix: np.ndarray, shortlist: SignShortlist, groups: PaperGroups, qvec: np.ndarray) -> np.ndarray:
    """Per-paper best cosine over the shortlisted rows (``-inf`` for papers with none of them)."""
    return groups.max_at(*_shortlisted(matrix, shortlist, qvec))
