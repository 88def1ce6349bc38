"""The first stage's fusion: each stage's top papers, merged by reciprocal rank, plain (a reranker feature,
``Candidate.rrf``) and weighted, top-heavy (the first stage's own order, ``Candidate.first_stage``)."""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from rag.retrieve.arrays import top_indices

RRF_K = 60
"""The constant of the plain reciprocal-rank fusion the reranker reads as a feature (``Candidate.rrf``)."""
FIRST_STAGE_K = 5
FIRST_STAGE_WEIGHTS: Mapping[str, float] = MappingProxyType({"bm25": 2.0, "dense": 1.0, "sentence": 0.5})
"""The first stage's own order (``Candidate.first_stage``): a weighted, top-heavy reciprocal-rank fusion that
picks the candidate pool and the ten papers the recall rule keeps (``rag.retrieve.hits.keep_first_stage``).
Chosen by recall@10 on the fitting data only (``evals/dev_fit.jsonl`` and ``evals/synth.py``'s questions):
against plain RRF (k 60, equal weights) hand-written 0.981 -> 0.992, multi-paper 0.902 -> 0.957; synthetic
0.938 -> 0.982, multi-paper 0.750 -> 0.899; a broad plateau around these values."""
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


@dataclass(frozen=True, slots=True)
class Fused:
    """The first stage's pool: papers best first, and what each candidate carries from the fusion."""

    order: list[str]
    """Up to ``n`` paper ids by first-stage score (ties: plain RRF, then id)."""
    rrf: dict[str, float]
    """Plain RRF score of every paper a fused stage ranked."""
    first_stage: dict[str, float]
    """Weighted, top-heavy RRF score of the same papers."""
    ranks: dict[str, dict[int, int]]
    """Per stage (all three, fused or not): paper code -> rank among its top ``n``."""


def fuse(
    scores: Mapping[str, np.ndarray], n: int, paper_ids: Sequence[str], known: Container[str], stages: Iterable[str]
) -> Fused:
    """Fuse the top ``n`` papers of each of ``stages`` (per-paper ``scores`` by stage, ``-inf``: not retrieved) into
    up to ``n`` candidates among the ``known`` papers."""
    rankings: dict[str, list[str]] = {}
    rank_of: dict[str, dict[int, int]] = {}
    for name in STAGES:
        top = top_indices(scores[name], n)
        rank_of[name] = {int(c): r for r, c in enumerate(top, start=1)}
        if name in stages:
            rankings[name] = [paper_ids[c] for c in top]
    fused = rrf(rankings)
    first = rrf(rankings, FIRST_STAGE_K, FIRST_STAGE_WEIGHTS)
    order = sorted((pid for pid in first if pid in known), key=lambda pid: (-first[pid], -fused[pid], pid))[:n]
    return Fused(order, fused, first, rank_of)
