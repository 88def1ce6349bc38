"""Fit the feature reranker and the abstention model on the dev set, with k-fold cross-validation.

For every dev question the first stage (BM25 + dense + sentence, RRF) returns ``--candidates``
papers; ``rag.retrieve.features.featurize`` turns them into feature rows labelled 1 for gold papers.

* Ranker: logistic regression (standardised features, L2, C=``--C``) on the candidate rows of the
  answerable questions. Reported metrics are OUT-OF-FOLD: questions are split into ``--folds`` folds
  (shuffled, seed 0); each fold is ranked by a model fitted on the other folds only.
* Abstention: logistic regression on the top hit's features (``rag.retrieve.features.ABSTAIN_FEATURES``) under
  the out-of-fold ranker, label = answerable. Its accuracy is cross-validated with the same folds.
  Threshold 0.5 on the calibrated probability (not tuned).
* The saved weights (``rag/data/reranker.json``) are then fitted on all questions.

Follow-up questions are retrieved with the history's user turns prepended to the question (the
answerer does real condensation; for retrieval metrics this is a fixed, simple stand-in).

scikit-learn is in the ``fit`` extra (``pip install -e '.[fit]'``; ``make install`` includes it).

    HF_HUB_OFFLINE=1 RAG_DATA_DIR=/tmp/idx python evals/fit_reranker.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

try:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold
except ImportError as exc:  # pragma: no cover
    raise SystemExit("refitting needs scikit-learn, in the 'fit' extra: pip install -e '.[fit]'") from exc

from rag.evals.ranking import ranking_metrics
from rag.retrieve.features import (
    ABSTAIN_FEATURES,
    FEATURES,
    WEIGHTS_PATH,
    LinearModel,
    abstain_features,
    featurize,
    hit_features,
)
from rag.retrieve.hybrid import STAGES, Candidate
from rag.retrieve.query import Query
from rag.retrieve.scoring import FeatureScorer
from rag.text import normalize_query
from rag.types import Hit

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "evals" / "dev.jsonl"
ABSTAIN_C = 1.0
METRICS = ("hit@1", "hit@5", "hit@10", "mrr@10", "recall@10", "ndcg@10")


def load_dev(path: Path = DEV) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def retrieval_query(item: dict[str, Any]) -> str:
    """The question, with the history's user turns in front for follow-ups."""
    turns = [t["content"] for t in item.get("history", []) if t["role"] == "user"]
    return " ".join([*turns, item["question"]])


@dataclass
class Row:
    item: dict[str, Any]
    query: Query
    gold: set[str]
    candidates: list[Candidate]
    x: np.ndarray
    y: np.ndarray

    @property
    def answerable(self) -> bool:
        return bool(self.gold)


class LazyEmbedder:
    """MiniLM, loaded only when a query is not in the on-disk cache of query vectors (``--qcache``)."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, cache: Path | None) -> None:
        self.cache = cache
        self.vectors: dict[str, np.ndarray] = {}
        if cache is not None and cache.exists():
            with np.load(cache) as data:
                self.vectors = {json.loads(k): data[k] for k in data.files}
        self._model: Any = None

    def embed(self, texts: Any) -> np.ndarray:
        if self._model is None:
            from rag.index.embeddings import MiniLMEmbedder

            self._model = MiniLMEmbedder()
        return np.asarray(self._model.embed(texts))

    def embed_query(self, text: str) -> np.ndarray:
        if text not in self.vectors:
            self.vectors[text] = self.embed([text])[0]
        return self.vectors[text]

    def save(self) -> None:
        if self.cache is not None:
            arrays: dict[str, Any] = {json.dumps(k): v for k, v in self.vectors.items()}
            np.savez(self.cache, **arrays)


def open_pipeline(qcache: Path | None = None) -> Any:
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    return Pipeline.open(Settings(), embedder=LazyEmbedder(qcache), progress=False)


def collect(
    pipeline: Any, items: list[dict[str, Any]], n: int, stages: tuple[str, ...] = STAGES,
    qvecs: dict[str, np.ndarray] | None = None,
) -> list[Row]:
    """First-stage candidates and their features for every item (each query encoded once)."""
    by_title = {p.title: pid for pid, p in pipeline.papers.items()}
    qvecs = qvecs if qvecs is not None else {}
    rows = []
    for item in items:
        text = normalize_query(retrieval_query(item))
        if text not in qvecs:
            qvecs[text] = np.asarray(pipeline.embedder.embed_query(text), dtype=np.float32)
        parsed = pipeline.retriever.parse(text)
        candidates = pipeline.retriever.candidates(parsed, qvecs[text], n, None, stages)
        gold = {by_title[t] for t in item["gold_titles"] if t in by_title}
        if len(gold) != len(item["gold_titles"]):
            print(f"warning: {item['id']}: gold title not in the index", file=sys.stderr)
        x = featurize(parsed, candidates, pipeline.papers)
        y = np.array([c.paper_id in gold for c in candidates], dtype=np.int64)
        rows.append(Row(item, parsed, gold, candidates, x, y))
    return rows


def fit_linear(x: np.ndarray, y: np.ndarray, names: tuple[str, ...], c: float) -> LinearModel:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit((x - mean) / scale, y)
    return LinearModel(names, mean, scale, model.coef_[0].astype(np.float64), float(model.intercept_[0]))


def columns(names: tuple[str, ...]) -> list[int]:
    return [FEATURES.index(n) for n in names]


def folds_of(n_items: int, k: int) -> list[np.ndarray]:
    """Held-out item indices per fold (shuffled, seed 0)."""
    return [test for _, test in KFold(n_splits=k, shuffle=True, random_state=0).split(np.arange(n_items))]


C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)


def fit_ranker(rows: list[Row], names: tuple[str, ...], c: float) -> LinearModel:
    train = [r for r in rows if r.answerable and len(r.y)]
    cols = columns(names)
    return fit_linear(np.vstack([r.x[:, cols] for r in train]), np.concatenate([r.y for r in train]), names, c)


def choose_c(rows: list[Row], names: tuple[str, ...], k: int) -> float:
    """The C of ``C_GRID`` with the best cross-validated MRR@10 on ``rows`` (ties: the smaller C)."""
    best, best_c = -1.0, C_GRID[0]
    for c in C_GRID:
        logits = oof_logits(rows, names, k, c)
        mrr = summarise(rows, order_by(rows, logits))["mrr@10"]
        if mrr > best + 1e-9:
            best, best_c = mrr, c
    return best_c


def oof_logits(rows: list[Row], names: tuple[str, ...], k: int, c: float | None) -> list[np.ndarray]:
    """Out-of-fold ranking logits of every row's candidates. ``c=None``: nested CV picks C per outer
    fold from ``C_GRID`` by an inner (k-1)-fold CV on that fold's training questions only."""
    cols = columns(names)
    out: list[np.ndarray] = [np.zeros(0)] * len(rows)
    for test in folds_of(len(rows), k):
        held = set(test.tolist())
        train = [r for i, r in enumerate(rows) if i not in held]
        fold_c = c if c is not None else choose_c(train, names, max(2, k - 1))
        model = fit_ranker(train, names, fold_c)
        for i in test:
            out[i] = model.logits(rows[i].x[:, cols]) if len(rows[i].candidates) else np.zeros(0)
    return out


def order_by(rows: list[Row], scores: list[np.ndarray]) -> list[list[str]]:
    ranked = []
    for row, s in zip(rows, scores, strict=True):
        idx = sorted(range(len(row.candidates)), key=lambda i: (-s[i], row.candidates[i].paper_id))
        ranked.append([row.candidates[i].paper_id for i in idx])
    return ranked


def summarise(rows: list[Row], ranked: list[list[str]], types: set[str] | None = None) -> dict[str, float]:
    picked = [
        ranking_metrics(r, row.gold)
        for row, r in zip(rows, ranked, strict=True)
        if row.answerable and (types is None or row.item["type"] in types)
    ]
    return {m: float(np.mean([p[m] for p in picked])) if picked else 0.0 for m in METRICS} | {"n": len(picked)}


def abstain_matrix(rows: list[Row], logits: list[np.ndarray]) -> np.ndarray:
    """``ABSTAIN_FEATURES`` of every row under the given ranking logits."""
    out = []
    for row, s in zip(rows, logits, strict=True):
        idx = sorted(range(len(row.candidates)), key=lambda i: (-s[i], row.candidates[i].paper_id))[:2]
        hits = []
        for i in idx:
            c = row.candidates[i]
            features = hit_features(row.x[i], float(s[i]), c, row.query)
            hits.append(Hit(paper=None, score=0.0, sentence="", sentence_index=0, sentence_score=0.0,  # type: ignore[arg-type]
                            features=features))
        out.append(abstain_features(hits))
    return np.vstack(out)


def fit_abstain(x: np.ndarray, y: np.ndarray, c: float) -> LinearModel:
    return fit_linear(x, y, ABSTAIN_FEATURES, c)


def cv_abstain(x: np.ndarray, y: np.ndarray, k: int, c: float, threshold: float = 0.5) -> dict[str, float]:
    """Cross-validated abstention accuracy (same folds as the ranker)."""
    probs = np.zeros(len(y))
    for test in folds_of(len(y), k):
        train = np.setdiff1d(np.arange(len(y)), test)
        model = fit_abstain(x[train], y[train], c)
        probs[test] = 1 / (1 + np.exp(-model.logits(x[test])))
    answer = probs >= threshold
    return {
        "accuracy": float(np.mean(answer == y.astype(bool))),
        "answerable_answered": float(np.mean(answer[y == 1])),
        "unanswerable_abstained": float(np.mean(~answer[y == 0])),
        "n": len(y),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--C", type=float, default=None, help="fixed C (default: nested CV over C_GRID)")
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    parser.add_argument("--dry-run", action="store_true", help="report only, do not write the weights")
    parser.add_argument("--qcache", type=Path, default=None, help="npz cache of query vectors (re-runs)")
    args = parser.parse_args()

    pipeline = open_pipeline(args.qcache)
    rows = collect(pipeline, load_dev(), args.candidates)
    pipeline.embedder.save()
    names = FEATURES
    logits = oof_logits(rows, names, args.folds, args.C)
    ranked = order_by(rows, logits)
    rrf_ranked = [[c.paper_id for c in r.candidates] for r in rows]
    report: dict[str, Any] = {
        "method": (
            f"{args.folds}-fold CV over dev questions (shuffled, seed 0); pointwise logistic regression, "
            + (f"C={args.C}" if args.C is not None else f"C from {C_GRID} by nested inner CV per fold")
        ),
        "rrf": summarise(rows, rrf_ranked),
        "oof_reranked": summarise(rows, ranked),
        "oof_reranked_paraphrase": summarise(rows, ranked, {"paraphrase"}),
    }
    y_ans = np.array([r.answerable for r in rows], dtype=np.int64)
    ax = abstain_matrix(rows, logits)
    report["abstain_cv"] = cv_abstain(ax, y_ans, args.folds, ABSTAIN_C)
    for fold_k in (2,):
        lg = oof_logits(rows, names, fold_k, args.C)
        report[f"oof_reranked_{fold_k}fold"] = summarise(rows, order_by(rows, lg))
        report[f"abstain_cv_{fold_k}fold"] = cv_abstain(abstain_matrix(rows, lg), y_ans, fold_k, ABSTAIN_C)
    print(json.dumps(report, indent=2))

    train = [r for r in rows if r.answerable and len(r.y)]
    final_c = args.C if args.C is not None else choose_c(rows, names, args.folds)
    report["final_C"] = final_c
    ranker = fit_ranker(rows, names, final_c)
    abstain = fit_abstain(ax, y_ans, ABSTAIN_C)  # trained on out-of-fold ranker features: realistic inputs
    data = {
        "ranker": ranker.to_dict(),
        "abstain": {**abstain.to_dict(), "threshold": 0.5},
        "fitted_on": f"evals/dev.jsonl ({len(rows)} questions, {len(train)} answerable), {args.candidates} candidates",
        "cv": report,
    }
    if not args.dry_run:
        args.out.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote {args.out}", file=sys.stderr)
    _ = FeatureScorer  # the runtime consumer of these weights


if __name__ == "__main__":
    main()
