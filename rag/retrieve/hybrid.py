"""First-stage hybrid retrieval: BM25, dense chunks and best sentence, fused by weighted reciprocal rank.

Everything is loaded once, from the index snapshot (``rag.index.snapshot``: memory-mapped files in the data dir).
Papers get integer codes (sorted ids); chunk and sentence rows carry their paper's code, for per-paper maxima
(``PaperGroups``). Dense and sentence stages scan exactly up to ``DENSE_MATRIX_MAX_CHUNKS`` /
``SENTENCE_SCAN_MAX`` rows, then ask Chroma's HNSW index; over ``SHORTLIST_MIN_ROWS`` rows a scan computes exact
cosines only for a sign-bit shortlist (``rag.retrieve.signs``). Every candidate's own scores are exact either
way, and its lexical features come from the lexicon (``rag.index.lexicon``). A filter is a boolean mask over
paper codes applied to all three stages.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np

from rag.index.keyword import KeywordIndex
from rag.index.lexicon import lexicon_for
from rag.index.snapshot import current
from rag.index.store import Store
from rag.retrieve.acronym_cache import acronym_table, name_casing
from rag.retrieve.arrays import PaperGroups, SingleThreadBlas, top_indices
from rag.retrieve.base import Candidate, PreparedQuery
from rag.retrieve.features import lexical_features
from rag.retrieve.names import NameWords
from rag.retrieve.query import Query, parse_query
from rag.retrieve.signs import SignShortlist
from rag.types import Paper

RRF_K = 60
"""The constant of the plain reciprocal-rank fusion the reranker reads as a feature (``Candidate.rrf``)."""
FIRST_STAGE_K = 5
FIRST_STAGE_WEIGHTS: Mapping[str, float] = MappingProxyType({"bm25": 2.0, "dense": 1.0, "sentence": 0.5})
"""The first stage's own order (``Candidate.first_stage``): a weighted, top-heavy reciprocal-rank fusion that
picks the candidate pool and the ten papers the recall rule keeps (``rag.retrieve.hits.keep_first_stage``).
Chosen by recall@10 on the fitting data only (``evals/dev_fit.jsonl`` and ``evals/synth.py``'s questions):
against plain RRF (k 60, equal weights) hand-written 0.981 -> 0.992, multi-paper 0.902 -> 0.957; synthetic
0.938 -> 0.982, multi-paper 0.750 -> 0.899; a broad plateau around these values."""
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
STAGES = ("bm25", "dense", "sentence")


def rrf(
    rankings: dict[str, list[str]], k: float = RRF_K, weights: Mapping[str, float] | None = None
) -> dict[str, float]:
    """Reciprocal-rank fusion: sum over rankings of weight / (k + rank), ranks from 1, weight 1 unless
    ``weights`` names the ranking. Deterministic."""
    fused: dict[str, float] = {}
    for name, ranking in rankings.items():
        weight = 1.0 if weights is None else weights.get(name, 1.0)
        for rank, pid in enumerate(ranking, start=1):
            fused[pid] = fused.get(pid, 0.0) + weight / (k + rank)
    return fused


class HybridRetriever:
    """BM25 + dense + best-sentence retrieval over one store."""

    def __init__(
        self,
        store: Store,
        keyword: KeywordIndex,
        *,
        dense_matrix_max: int = DENSE_MATRIX_MAX_CHUNKS,
        sentence_scan_max: int = SENTENCE_SCAN_MAX,
        data_dir: Path | None = None,
    ) -> None:
        """``data_dir``: where the acronym table and the lexicon are kept (default: the store's own data dir;
        a Chroma server's store has none, so ``Pipeline.open`` passes the local one)."""
        self.store = store
        self.keyword = keyword
        stamp = store.stamp()
        snapshot = current(store)  # the local snapshot when it matches the store, else read from the store
        self.papers: dict[str, Paper] = snapshot.papers
        ids = set(self.papers) | set(keyword.paper_ids)
        self.paper_ids: list[str] = sorted(ids)
        self.code: dict[str, int] = {pid: i for i, pid in enumerate(self.paper_ids)}
        n = len(self.paper_ids)

        # snapshot sentences are sorted by (paper id, index), their papers all known: codes stay sorted
        to_code = np.array([self.code[pid] for pid in snapshot.paper_ids], dtype=np.int64)
        sentence_codes = to_code[snapshot.sentence_rows[:, 0]] if len(snapshot.sentence_rows) else to_code[:0]
        self.sentence_matrix = snapshot.sentence_vectors if len(sentence_codes) else np.zeros((0, 0), np.float32)
        self._sentence_groups = PaperGroups(sentence_codes, n)
        # sentence rows of paper code c: [start[c], end[c]) (rows are sorted by paper id = by code)
        self._sentence_start = np.searchsorted(sentence_codes, np.arange(n), side="left")
        self._sentence_end = np.searchsorted(sentence_codes, np.arange(n), side="right")

        self.chunk_code = np.array([self.code[pid] for pid in keyword.paper_ids], dtype=np.int64)
        self._chunk_groups = PaperGroups(self.chunk_code, n)
        self.chunk_matrix: np.ndarray | None = None
        if 0 < len(keyword.paper_ids) <= dense_matrix_max and snapshot.chunk_paper_ids == keyword.paper_ids:
            self.chunk_matrix = snapshot.chunk_vectors  # the BM25 index's row order (chunk id order)
        self._chunk_start = np.searchsorted(self.chunk_code, np.arange(n), side="left")
        self._chunk_end = np.searchsorted(self.chunk_code, np.arange(n), side="right")
        self.sentence_scan = len(self.sentence_matrix) <= sentence_scan_max
        self.sentence_shortlist = _shortlist(self.sentence_matrix) if self.sentence_scan else None
        self.chunk_shortlist = _shortlist(self.chunk_matrix) if self.chunk_matrix is not None else None
        self._blas = SingleThreadBlas()
        cache = (data_dir or store.location.data_dir) if store.stamp() == stamp else None  # no write meanwhile
        self.acronyms = acronym_table(self.papers.values(), cache, store.embedder_name, stamp)
        self.casing = name_casing(self.papers.values(), cache, store.embedder_name, stamp)
        self.lexicon = lexicon_for(self.papers, cache, store.embedder_name, stamp)
        self.name_words = NameWords(self.papers, self.lexicon, self.doc_freq)

    # ---- filters ---------------------------------------------------------------------------------
    def mask(self, allowed: Collection[str] | None) -> np.ndarray | None:
        """Boolean mask over paper codes for an allowed paper-id set (None: everything)."""
        if allowed is None:
            return None
        mask = np.zeros(len(self.paper_ids), dtype=bool)
        codes = [self.code[pid] for pid in allowed if pid in self.code]
        mask[codes] = True
        return mask

    # ---- stages ----------------------------------------------------------------------------------
    def parse(self, text: str) -> Query:
        return parse_query(text, self.acronyms, self.doc_freq)

    def names_word(self, word: str) -> bool:
        """Whether a word typed in lower case reads as a paper's own name (``rag.retrieve.names.NameWords``)."""
        return self.name_words.names(word)

    def unknown_word(self, word: str) -> bool:
        """Whether a word typed in lower case is a name the corpus lacks (``NameWords.unknown``)."""
        return self.name_words.unknown(word)

    def doc_freq(self, token: str) -> tuple[int, int]:
        """(chunks containing ``token``, chunks) from the BM25 index."""
        retriever = self.keyword.retriever
        n = len(self.keyword.paper_ids)
        vocab = getattr(retriever, "vocab_dict", None) or {}
        tid = vocab.get(token)
        scores = getattr(retriever, "scores", None)
        if tid is None or not isinstance(scores, dict) or "indptr" not in scores:
            return 0, n
        indptr = scores["indptr"]
        return int(indptr[tid + 1] - indptr[tid]), n

    def bm25_scores(self, query: Query) -> np.ndarray:
        """Best BM25 score of each paper's chunks (expanded query); ``-inf`` where none is positive."""
        scores = self.keyword.scores(list(query.bm25_tokens)) if query.bm25_tokens else None
        if scores is None or not len(scores):
            return np.full(len(self.paper_ids), -np.inf, dtype=np.float32)
        best = self._chunk_groups.max(scores)
        best[best <= 0] = -np.inf
        return best

    def dense_scores(self, qvec: np.ndarray, n: int, mask: np.ndarray | None) -> np.ndarray:
        """Best chunk cosine per paper: over the sign shortlist or every row of a matrix index (``-inf`` for
        papers outside the shortlist), else for Chroma's top ``n`` chunks."""
        if self.chunk_matrix is not None and self.chunk_shortlist is not None:
            return _shortlist_max(self.chunk_matrix, self.chunk_shortlist, self._chunk_groups, qvec)
        if self.chunk_matrix is not None:
            return self._chunk_groups.max(np.asarray(self.chunk_matrix @ qvec, dtype=np.float32))
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

    def stage_scores(
        self, query: Query, qvec: np.ndarray, n: int, mask: np.ndarray | None
    ) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """Per-paper scores of each stage (``-inf``: not retrieved / filtered out) and the similarity of
        every sentence (``None`` when the index is too large for a full scan: HNSW is asked instead)."""
        sims: np.ndarray | None = None
        if self.sentence_shortlist is not None:  # not every sentence's similarity: candidates compute their own
            sentence = _shortlist_max(self.sentence_matrix, self.sentence_shortlist, self._sentence_groups, qvec)
        elif self.sentence_scan:
            sims = self.sentence_sims(qvec)
            sentence = self._sentence_groups.max(sims) if len(sims) else np.full(len(self.paper_ids), -np.inf)
        else:
            sentence = self._sentence_hnsw(qvec, n * 4, mask)
        scores = {
            "bm25": self.bm25_scores(query),
            "dense": self.dense_scores(qvec, n * 2, mask),
            "sentence": sentence.astype(np.float32, copy=False),
        }
        if mask is not None:
            for values in scores.values():
                values[~mask] = -np.inf
        return scores, sims

    def candidates(self, pq: PreparedQuery, n: int = 50, stages: Iterable[str] = STAGES) -> list[Candidate]:
        """Up to ``n`` candidates fused from the ``stages`` (default all three), best first, among the papers
        ``pq.allowed`` names.

        Matrix-vector products run with single-threaded BLAS: on a shared machine a multi-threaded
        OpenBLAS call on a few thousand rows is 10x slower than one thread."""
        with self._blas:
            return self._candidates(pq.query, np.asarray(pq.vector, dtype=np.float32), n, pq.allowed, stages)

    def _candidates(
        self, q: Query, qvec: np.ndarray, n: int, allowed: Collection[str] | None, stages: Iterable[str]
    ) -> list[Candidate]:
        mask = self.mask(allowed)
        if mask is not None and not mask.any():
            return []
        scores, sims = self.stage_scores(q, qvec, n, mask)
        rankings: dict[str, list[str]] = {}
        rank_of: dict[str, dict[int, int]] = {}
        for name in STAGES:
            top = top_indices(scores[name], n)
            rank_of[name] = {int(c): r for r, c in enumerate(top, start=1)}
            if name in stages:
                rankings[name] = [self.paper_ids[c] for c in top]
        fused = rrf(rankings)
        first = rrf(rankings, FIRST_STAGE_K, FIRST_STAGE_WEIGHTS)
        known = (pid for pid in first if pid in self.papers)
        order = sorted(known, key=lambda pid: (-first[pid], -fused[pid], pid))[:n]
        if not order:
            return []
        codes = np.array([self.code[pid] for pid in order], dtype=np.int64)
        stage, own = self._candidate_scores(codes, scores, sims, qvec)
        lexical = lexical_features(q, [self.papers[pid] for pid in order], self.lexicon)
        return [
            Candidate(pid, fused[pid], {n: rank_of[n].get(c) for n in STAGES}, stage[i], own[i], first[pid], lexical[i])
            for i, (pid, c) in enumerate(zip(order, codes.tolist(), strict=True))
        ]

    def _candidate_scores(
        self, codes: np.ndarray, scores: dict[str, np.ndarray], sims: np.ndarray | None, qvec: np.ndarray
    ) -> tuple[list[dict[str, float]], list[np.ndarray]]:
        """Per candidate: its three stage scores (0 where a stage has none) and its sentences' similarities.
        Behind a sign shortlist, a candidate's dense and sentence scores are computed from its own rows, so they
        are exact whether or not the shortlist held its best chunk and sentence."""
        spans = zip(self._sentence_start[codes].tolist(), self._sentence_end[codes].tolist(), strict=True)
        own = [sims[a:b] if sims is not None else self.sentence_matrix[a:b] @ qvec for a, b in spans]
        bm25, dense, sentence = (scores[name][codes] for name in STAGES)
        if self.sentence_shortlist is not None:
            sentence = np.array([v.max() if len(v) else -np.inf for v in own], dtype=np.float32)
        missing = ~np.isfinite(dense)
        if self.chunk_shortlist is not None:
            dense = np.array([self._exact_dense(c, qvec) for c in codes.tolist()], dtype=np.float32)
        elif missing.any():  # HNSW did not return them: no better than the worst it returned
            finite = scores["dense"][np.isfinite(scores["dense"])]
            dense = np.where(missing, finite.min() if len(finite) else sentence, dense)
        lists = [np.where(np.isfinite(v), v, 0.0).tolist() for v in (bm25, dense, sentence)]
        stage = [dict(zip(STAGES, values, strict=True)) for values in zip(*lists, strict=True)]
        return stage, own

    def _exact_dense(self, code: int, qvec: np.ndarray) -> float:
        a, b = int(self._chunk_start[code]), int(self._chunk_end[code])
        if self.chunk_matrix is None or b <= a:
            return -np.inf
        return float((self.chunk_matrix[a:b] @ qvec).max())

    def sentence_vectors(self, paper_id: str) -> np.ndarray:
        """The stored vectors of a paper's sentences, in abstract order (empty for an unknown paper)."""
        c = self.code.get(paper_id)
        if c is None or not len(self.sentence_matrix):
            return np.zeros((0, 0), dtype=np.float32)
        return np.asarray(self.sentence_matrix[self._sentence_start[c] : self._sentence_end[c]])


def _shortlist(matrix: np.ndarray | None) -> SignShortlist | None:
    """Sign bits of a matrix over ``SHORTLIST_MIN_ROWS`` rows (built once, at load)."""
    return SignShortlist(matrix) if matrix is not None and len(matrix) > SHORTLIST_MIN_ROWS else None


def _shortlisted(matrix: np.ndarray, shortlist: SignShortlist, qvec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row numbers, exact cosines) of the sign shortlist's rows."""
    return shortlist.nearest(qvec, max(SHORTLIST_MIN_ROWS, int(SHORTLIST_SHARE * len(matrix))))


def _shortlist_max(matrix: np.ndarray, shortlist: SignShortlist, groups: PaperGroups, qvec: np.ndarray) -> np.ndarray:
    """Per-paper best cosine over the shortlisted rows (``-inf`` for papers with none of them)."""
    return groups.max_at(*_shortlisted(matrix, shortlist, qvec))
