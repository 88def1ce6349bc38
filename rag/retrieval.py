"""First-stage hybrid retrieval: BM25 and dense (Chroma) fused by reciprocal rank, plus
sentence-level similarity (query against every abstract sentence, precomputed at ingest)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from rag.keyword import KeywordIndex
from rag.store import Store, StoredSentence
from rag.types import Paper

RRF_K = 60


@dataclass(slots=True)
class Candidate:
    """A paper in the candidate pool, with each stage's rank and score."""

    paper_id: str
    rrf: float = 0.0
    ranks: dict[str, int | None] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    sentence_scores: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))


def rrf(rankings: dict[str, list[str]], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal-rank fusion: sum over rankings of 1 / (k + rank), ranks from 1. Deterministic."""
    fused: dict[str, float] = {}
    for ranking in rankings.values():
        for rank, pid in enumerate(ranking, start=1):
            fused[pid] = fused.get(pid, 0.0) + 1.0 / (k + rank)
    return fused


class HybridRetriever:
    """BM25 + dense + best-sentence retrieval over one store. Everything is loaded once."""

    def __init__(self, store: Store, keyword: KeywordIndex) -> None:
        self.store = store
        self.keyword = keyword
        self.papers: dict[str, Paper] = store.papers()
        sentences, matrix = store.sentence_matrix()
        self.sentences: list[StoredSentence] = sentences
        self.sentence_matrix = matrix
        self.sentence_paper = np.array([s.paper_id for s in sentences])
        self._rows: dict[str, np.ndarray] = {}
        for row, s in enumerate(sentences):
            self._rows.setdefault(s.paper_id, []).append(row)  # type: ignore[arg-type]
        self._rows = {pid: np.asarray(rows) for pid, rows in self._rows.items()}
        self.chunk_paper = np.array(keyword.paper_ids)

    def sentence_scores(self, qvec: np.ndarray, paper_id: str) -> np.ndarray:
        rows = self._rows.get(paper_id)
        if rows is None or not len(rows):
            return np.zeros(0, dtype=np.float32)
        return self.sentence_matrix[rows] @ qvec

    def _bm25_ranking(self, query: str, n: int, allowed: Collection[str] | None) -> tuple[list[str], dict[str, float]]:
        scores = self.keyword.scores(query)
        best: dict[str, float] = {}
        for i in np.argsort(-scores, kind="stable")[: n * 3]:
            if scores[i] <= 0:
                break
            pid = str(self.chunk_paper[i])
            if allowed is not None and pid not in allowed:
                continue
            best.setdefault(pid, float(scores[i]))
        ranking = list(best)[:n]
        return ranking, best

    def _sentence_ranking(self, qvec: np.ndarray, n: int, allowed: Collection[str] | None) -> list[str]:
        if not len(self.sentences):
            return []
        sims = self.sentence_matrix @ qvec
        ranking: list[str] = []
        for i in np.argsort(-sims, kind="stable"):
            pid = str(self.sentence_paper[i])
            if (allowed is None or pid in allowed) and pid not in ranking:
                ranking.append(pid)
                if len(ranking) >= n:
                    break
        return ranking

    def candidates(
        self, query: str, qvec: np.ndarray, n: int = 50, allowed: Collection[str] | None = None
    ) -> list[Candidate]:
        """Up to ``n`` candidates fused from BM25, dense chunks and best sentences, best first."""
        bm25, bm25_scores = self._bm25_ranking(query, n, allowed)
        dense_hits = self.store.query(qvec, n * 2, sorted(allowed) if allowed is not None else None)
        dense: list[str] = []
        dense_scores: dict[str, float] = {}
        for pid, sim in dense_hits:
            if pid not in dense_scores:
                dense_scores[pid] = sim
                dense.append(pid)
        sentence = self._sentence_ranking(qvec, n, allowed)
        rankings = {"bm25": bm25, "dense": dense[:n], "sentence": sentence}
        fused = rrf(rankings)
        order = sorted(fused, key=lambda pid: (-fused[pid], pid))[:n]
        out = []
        for pid in order:
            sims = self.sentence_scores(qvec, pid)
            out.append(
                Candidate(
                    pid,
                    fused[pid],
                    {name: (r.index(pid) + 1 if pid in r else None) for name, r in rankings.items()},
                    {
                        "bm25": bm25_scores.get(pid, 0.0),
                        "dense": dense_scores.get(pid, float(sims.max()) if len(sims) else 0.0),
                        "sentence": float(sims.max()) if len(sims) else 0.0,
                    },
                    sims,
                )
            )
        return out
