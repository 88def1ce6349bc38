"""Training rows for the reranker and abstention refit: hand-written fitting items + synthetic ones.

Items: ``evals/dev_fit.jsonl`` (never ``dev_val.jsonl``: ``loo.load_fit_items`` refuses it), the
seeded synthetic positives of ``evals/synth.py`` and one leave-one-out unanswerable per answerable item
(its gold papers removed from the candidate list *before* featurising, so list-relative and abstention
features are those of an index without them).

Every item is retrieved the way ``Pipeline.ask`` retrieves it: the extractive answerer's ``condense``
makes a follow-up standalone, the query is normalised and encoded once with the pipeline's embedder
(the default ONNX fp32 runtime unless ``RAG_EMBEDDER_RUNTIME`` says otherwise).

Grouping for cross-validation is by paper: an item's group is its (first, sorted) gold paper, a
leave-one-out twin's group is the paper it hides, a hand-written unanswerable is its own group, so
no paper's questions sit on both sides of a fold. (A multi-paper item can share its other gold
papers with another group: a small leak, noted in the report.)
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evals.loo import FIT_PATH, load_fit_items
from evals.synth import generate
from rag.retrieve.base import Candidate
from rag.retrieve.features import featurize
from rag.retrieve.fusion import STAGES
from rag.retrieve.query import Query
from rag.text import normalize_query


@dataclass
class Row:
    """One item's first-stage candidates (fusion order) and their feature rows, gold-labelled."""

    item: dict[str, Any]
    query: Query
    gold: set[str]
    candidates: list[Candidate]
    x: np.ndarray
    y: np.ndarray
    group: str

    @property
    def answerable(self) -> bool:
        return bool(self.gold)

    @property
    def source(self) -> str:
        """``fit`` (hand-written), ``loo-fit`` (its leave-one-out twin), or a synthetic kind / ``loo``."""
        kind = str(self.item.get("kind", "fit"))
        if kind == "loo":
            return "loo-fit" if self.item.get("source_kind") == "fit" else "loo"
        return kind


def open_pipeline() -> Any:
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    return Pipeline.open(Settings(), progress=False)


def training_rows(
    seed: int = 0, candidates: int = 50, cache: Path | None = None, fit_paths: Sequence[Path] = (FIT_PATH,)
) -> list[Row]:
    """``collect``'s rows for ``training_items`` (hand-written fitting items of ``fit_paths``, synthetic,
    leave-one-out), read from the pickle ``cache`` when it exists, else collected on the current index and
    written there."""
    if cache is not None and cache.exists():
        rows: list[Row] = pickle.loads(cache.read_bytes())
        return rows
    pipeline = open_pipeline()
    rows = collect(pipeline, training_items(list(pipeline.papers.values()), seed, fit_paths), candidates)
    if cache is not None:
        cache.write_bytes(pickle.dumps(rows))
    return rows


def training_items(
    papers: list[Any], seed: int = 0, fit_paths: Sequence[Path] = (FIT_PATH,)
) -> list[dict[str, Any]]:
    """Hand-written fitting items (of every file of ``fit_paths``), then synthetic positives, then every
    leave-one-out twin."""
    fit = [item for path in fit_paths for item in load_fit_items(path, papers)]
    return [*fit, *generate(papers, seed, fit_items=fit)]


def group_of(item: dict[str, Any]) -> str:
    ids = sorted(item.get("gold_ids") or item.get("hidden_ids") or [])
    return ids[0] if ids else f"item:{item['id']}"


def standalone(pipeline: Any, item: dict[str, Any]) -> str:
    """The query ``Pipeline.ask`` retrieves with: the extractive condensation of the question."""
    return normalize_query(pipeline.fallback.condense(item["question"], item.get("history", [])))


def collect(
    pipeline: Any,
    items: list[dict[str, Any]],
    n: int = 50,
    stages: tuple[str, ...] = STAGES,
    qvecs: dict[str, np.ndarray] | None = None,
) -> list[Row]:
    """First-stage candidates and their features for every item (each distinct query encoded once)."""
    qvecs = qvecs if qvecs is not None else {}
    texts = [standalone(pipeline, item) for item in items]
    for text in texts:  # one at a time, as at query time (int8 activation scales are per batch)
        if text not in qvecs:
            qvecs[text] = np.asarray(pipeline.embedder.embed_query(text), dtype=np.float32)
    everything = frozenset(pipeline.papers)
    rows = []
    for item, text in zip(items, texts, strict=True):
        hidden = set(item.get("hidden_ids", ()))
        pq = pipeline.prepare(text, vector=qvecs[text])
        if hidden:
            pq = dataclasses.replace(pq, allowed=everything - hidden)
        candidates = pipeline.candidates(pq, n, stages)
        gold = set(item.get("gold_ids", ()))
        x = featurize(pq.query, candidates, pipeline.papers)
        y = np.array([c.paper_id in gold for c in candidates], dtype=np.int64)
        rows.append(Row(item, pq.query, gold, candidates, x, y, group_of(item)))
    return rows
