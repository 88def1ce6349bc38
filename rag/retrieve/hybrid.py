"""First-stage hybrid retrieval: BM25, dense chunks and best sentence, fused by weighted reciprocal rank.

Everything is loaded once, from the index snapshot (``rag.index.snapshot``: memory-mapped files in the data dir).
Papers get integer codes (sorted ids); chunk and sentence rows carry their paper's code, for per-paper maxima
(``PaperGroups``). BM25 and the query's parse are here; the dense and sentence stages (exact scans, sign-bit
shortlists over large indexes, Chroma's HNSW index beyond them) are ``rag.retrieve.vectors``'s, and the fusion of
the three rankings ``rag.retrieve.fusion``'s. Every candidate's own scores are exact, and its lexical features
come from the lexicon (``rag.index.lexicon``). A filter is a boolean mask over paper codes applied to all three
stages.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path

import numpy as np

from rag.index.keyword import KeywordIndex
from rag.index.lexicon import lexicon_for
from rag.index.snapshot import current
from rag.index.store import Store
from rag.retrieve.acronym_cache import acronym_table, name_casing, spelling_table
from rag.retrieve.arrays import PaperGroups, SingleThreadBlas
from rag.retrieve.base import Candidate, PreparedQuery
from rag.retrieve.features import lexical_features
from rag.retrieve.fusion import FIRST_STAGE_K, FIRST_STAGE_WEIGHTS, RRF_K, STAGES, fuse, rrf
from rag.retrieve.initials import Initials
from rag.retrieve.names import NameWords
from rag.retrieve.query import Query, parse_query
from rag.retrieve.spelling import Speller
from rag.retrieve.vectors import (
    DENSE_MATRIX_MAX_CHUNKS,
    SENTENCE_SCAN_MAX,
    SHORTLIST_MIN_ROWS,
    SHORTLIST_SHARE,
    VectorStages,
)
from rag.text import tokenize
from rag.types import Paper

__all__ = [
    "DENSE_MATRIX_MAX_CHUNKS",
    "FIRST_STAGE_K",
    "FIRST_STAGE_WEIGHTS",
    "RRF_K",
    "SENTENCE_SCAN_MAX",
    "SHORTLIST_MIN_ROWS",
    "SHORTLIST_SHARE",
    "STAGES",
    "HybridRetriever",
    "rrf",
]
"""The first stage's names, importable from here as before (their owners: ``fusion``, ``vectors``)."""


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
        self.chunk_code = np.array([self.code[pid] for pid in keyword.paper_ids], dtype=np.int64)
        self._chunk_groups = PaperGroups(self.chunk_code, len(self.paper_ids))
        self.vectors = VectorStages(
            store, snapshot, self.paper_ids, self.code, self._chunk_groups, keyword.paper_ids,
            dense_matrix_max=dense_matrix_max, sentence_scan_max=sentence_scan_max,
        )  # fmt: skip
        self._blas = SingleThreadBlas()
        cache = (data_dir or store.location.data_dir) if store.stamp() == stamp else None  # no write meanwhile
        self.acronyms = acronym_table(self.papers.values(), cache, store.embedder_name, stamp)
        self.casing = name_casing(self.papers.values(), cache, store.embedder_name, stamp)
        self.lexicon = lexicon_for(self.papers, cache, store.embedder_name, stamp)
        self.name_words = NameWords(self.papers, self.lexicon, self.doc_freq)
        words = spelling_table(self.papers.values(), cache, store.embedder_name, stamp)
        self.spelling = Speller(words, known=self.knows_word)
        self.initials = Initials(lambda: (f"{p.title}. {p.abstract}" for p in self.papers.values()),
                                 known=lambda word: self.knows_word(word) or self.acronyms.defines(word))

    # ---- filters ---------------------------------------------------------------------------------
    def mask(self, allowed: Collection[str] | None) -> np.ndarray | None:
        """Boolean mask over paper codes for an allowed paper-id set (None: everything)."""
        if allowed is None:
            return None
        mask = np.zeros(len(self.paper_ids), dtype=bool)
        codes = [self.code[pid] for pid in allowed if pid in self.code]
        mask[codes] = True
        return mask

    # ---- the query and BM25 ----------------------------------------------------------------------
    def parse(self, text: str) -> Query:
        return parse_query(text, self.acronyms, self.doc_freq)

    def names_word(self, word: str) -> bool:
        """Whether a word typed in lower case reads as a paper's own name (``rag.retrieve.names.NameWords``)."""
        return self.name_words.names(word)

    def owned_name(self, word: str) -> bool:
        """Whether a name (any casing) is some paper's own name (``NameWords.owned``)."""
        return self.name_words.owned(word)

    def unknown_word(self, word: str) -> bool:
        """Whether a word typed in lower case is a name the corpus lacks (``NameWords.unknown``)."""
        return self.name_words.unknown(word)

    def knows_word(self, word: str) -> bool:
        """Whether some paper holds the BM25 token of ``word`` ("sparsifying": "sparsifi")."""
        return any(self.doc_freq(token)[0] > 0 for token in tokenize(word))

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

    # ---- the three stages, fused -----------------------------------------------------------------
    def stage_scores(
        self, query: Query, qvec: np.ndarray, n: int, mask: np.ndarray | None
    ) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """Per-paper scores of each stage (``-inf``: not retrieved / filtered out) and the similarity of
        every sentence (``None`` when the index is too large for a full scan: HNSW is asked instead)."""
        sentence, sims = self.vectors.sentence_scores(qvec, n * 4, mask)
        scores = {
            "bm25": self.bm25_scores(query),
            "dense": self.vectors.dense_scores(qvec, n * 2, mask),
            "sentence": sentence,
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
        fused = fuse(scores, n, self.paper_ids, self.papers, stages)
        order = fused.order
        if not order:
            return []
        codes = np.array([self.code[pid] for pid in order], dtype=np.int64)
        stage, own = self._candidate_scores(codes, scores, sims, qvec)
        lexical = lexical_features(q, [self.papers[pid] for pid in order], self.lexicon)
        return [
            Candidate(pid, fused.rrf[pid], {s: fused.ranks[s].get(c) for s in STAGES}, stage[i], own[i],
                      fused.first_stage[pid], lexical[i])
            for i, (pid, c) in enumerate(zip(order, codes.tolist(), strict=True))
        ]  # fmt: skip

    def _candidate_scores(
        self, codes: np.ndarray, scores: dict[str, np.ndarray], sims: np.ndarray | None, qvec: np.ndarray
    ) -> tuple[list[dict[str, float]], list[np.ndarray]]:
        """Per candidate: its three stage scores (0 where a stage has none) and its sentences' similarities
        (``VectorStages.candidate_scores``: exact behind a sign shortlist too)."""
        dense, sentence, own = self.vectors.candidate_scores(codes, scores["dense"], scores["sentence"], sims, qvec)
        lists = [np.where(np.isfinite(v), v, 0.0).tolist() for v in (scores["bm25"][codes], dense, sentence)]
        stage = [dict(zip(STAGES, values, strict=True)) for values in zip(*lists, strict=True)]
        return stage, own

    def sentence_vectors(self, paper_id: str) -> np.ndarray:
        """The stored vectors of a paper's sentences, in abstract order (empty for an unknown paper)."""
        return self.vectors.sentence_vectors(paper_id)
