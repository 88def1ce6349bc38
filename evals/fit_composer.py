"""Fit the prose answer's piece model (``rag/data/composer.json``) on ``evals/dev_fit.jsonl``.

Every answerable fitting item with key facts is asked the way ``Pipeline.ask`` asks it (the extractive
``condense``, retrieval, ``ExtractiveAnswerer.evidence``); items that get a list or a comparison answer, or are
refused, are left out of the prose rows but still count towards the answer-length median. Each candidate
piece (``rag.answer.compose.pieces.candidates``) is labelled positive when it holds one of the item's key facts
(``rag.evals.facts.key_fact_present``), or, for a fact no single piece holds, 40% of its content words.

* Logistic regression over ``PIECE_FEATURES``; C by grouped cross-validation log-loss (groups: the item's first
  gold paper, so no paper's questions are on both sides of a fold).
* ``min_probability``: the highest threshold (the shortest answers) whose out-of-fold answers keep the key-fact
  recall of all fitting items at least ``--min-recall`` (lists and comparisons counted as they are); or, with
  ``--target-words``, the lowest one keeping their median answer at most that many words.
* ``evals/dev_val.jsonl`` is never read here: validation figures come from ``rag eval --set
  evals/dev_val.jsonl`` afterwards.

    HF_HUB_OFFLINE=1 RAG_DATA_DIR=/tmp/idx python -m evals.fit_composer [--target-words 70] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from unittest.mock import patch

import numpy as np

try:
    from sklearn.linear_model import LogisticRegression
except ImportError as exc:  # pragma: no cover
    raise SystemExit("refitting needs scikit-learn, in the 'fit' extra: pip install -e '.[fit]'") from exc

from evals.loo import FIT_PATH
from rag.answer.compose.pieces import MODEL_PATH, PIECE_FEATURES, Piece, PieceModel, choose, cut_pieces
from rag.answer.compose.shapes import prose
from rag.evals.evalset import load_eval_set
from rag.evals.facts import key_fact_present, key_fact_recall
from rag.linear import LinearModel, sigmoid
from rag.text import content_words, strip_markers

C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)
THRESHOLDS = tuple(round(0.10 + 0.01 * i, 2) for i in range(41))
PARTIAL = 0.4


@dataclass
class ItemRows:
    """One fitting item: its prose candidates and labels, or the word count of its non-prose answer."""

    id: str
    group: int
    facts: list[str]
    cands: list[Piece]
    y: np.ndarray
    fixed_words: int | None = None
    """Words of a list / comparison answer (not chosen by the piece model); None for prose items."""
    fixed_recall: float = 0.0
    """Key-fact recall of that list / comparison answer."""


def labels(cands: list[Piece], facts: list[str]) -> np.ndarray:
    whole = {f: any(key_fact_present(f, c.text) for c in cands) for f in facts}
    out = []
    for c in cands:
        pos = any(key_fact_present(f, c.text) for f in facts)
        for f in facts:
            words = content_words(f)
            if not pos and not whole[f] and words and len(words & content_words(c.text)) / len(words) >= PARTIAL:
                pos = True
        out.append(int(pos))
    return np.array(out, dtype=np.int64)


def collect(pipeline: Any, path: Path, pool: int) -> list[ItemRows]:
    from tqdm import tqdm

    from rag.pipeline import RANKING_DEPTH

    answerer = pipeline.fallback
    rows = []
    for loaded in tqdm(load_eval_set(path), desc="Collecting", unit="q", file=sys.stderr):
        item = loaded.item
        if not item.answerable or not item.key_facts:
            continue
        history = [t.model_dump() for t in item.history]
        standalone = answerer.condense(item.question, history)
        ranked = pipeline.retrieve(standalone, max(pipeline.settings.top_k, RANKING_DEPTH))
        retrieved = replace(ranked, hits=ranked.hits[: pipeline.settings.top_k])
        group = zlib.crc32(item.gold_titles[0].encode())
        if retrieved.abstain or not retrieved.hits:
            continue
        ev = answerer.evidence(item.question, retrieved, retrieved.query if history else "", history)
        text = answerer.shaped(ev, retrieved)
        if text:  # a list or comparison answer: not chosen by the piece model
            words = len(strip_markers(text).split())
            rows.append(ItemRows(item.id, group, list(item.key_facts), [], np.zeros(0), words,
                                 key_fact_recall(list(item.key_facts), text) or 0.0))
            continue
        cands = cut_pieces(ev.picks, ev.terms, ev.analysis, pool)
        rows.append(ItemRows(item.id, group, list(item.key_facts), cands, labels(cands, list(item.key_facts))))
    return rows


def fit(rows: list[ItemRows], c: float) -> LinearModel:
    x = np.vstack([np.array([p.features for p in r.cands]) for r in rows if r.cands])
    y = np.concatenate([r.y for r in rows if r.cands])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    lr = LogisticRegression(C=c, max_iter=5000).fit((x - mean) / scale, y)
    return LinearModel(PIECE_FEATURES, mean, scale, lr.coef_[0].astype(np.float64), float(lr.intercept_[0]))


def out_of_fold(rows: list[ItemRows], c: float, k: int) -> list[np.ndarray]:
    probs: list[np.ndarray] = [np.zeros(len(r.cands)) for r in rows]
    for fold in range(k):
        model = fit([r for r in rows if r.group % k != fold], c)
        for i, r in enumerate(rows):
            if r.group % k == fold and r.cands:
                probs[i] = np.asarray(sigmoid(model.logits(np.array([p.features for p in r.cands]))))
    return probs


def log_loss(rows: list[ItemRows], probs: list[np.ndarray]) -> float:
    p = np.clip(np.concatenate([q for q, r in zip(probs, rows, strict=True) if r.cands]), 1e-6, 1 - 1e-6)
    y = np.concatenate([r.y for r in rows if r.cands])
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def answers(
    rows: list[ItemRows], probs: list[np.ndarray], model: PieceModel, cap: int, floor: float
) -> dict[str, float]:
    """Median / p90 words and key-fact recall of all items' answers (and of the prose ones) at ``floor``."""
    words, recall, prose_recall = [], [], []
    for r, p in zip(rows, probs, strict=True):
        if r.fixed_words is not None:
            words.append(r.fixed_words)
            recall.append(r.fixed_recall)
            continue
        text = strip_markers(prose(choose(r.cands, p, model, cap, floor)))
        words.append(len(text.split()))
        prose_recall.append(key_fact_recall(r.facts, text) or 0.0)
        recall.append(prose_recall[-1])
    return {"words_p50": float(statistics.median(words)), "words_p90": float(np.percentile(words, 90)),
            "key_fact_recall": float(np.mean(recall)), "prose_key_fact_recall": float(np.mean(prose_recall)),
            "threshold": floor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--min-recall", type=float, default=0.80,
                        help="key-fact recall the threshold keeps (out of fold, all fitting items); the shortest "
                        "answers that keep it win. 0.80: what the sentence composer it replaced got on dev_fit")
    parser.add_argument("--target-words", type=int, default=None,
                        help="instead: the most key facts whose median answer stays at most this many words")
    parser.add_argument("--cap", type=int, default=140, help="word cap of a prose answer (RAG_ANSWER_WORDS)")
    parser.add_argument("--pool", type=int, default=10)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--dry-run", action="store_true", help="print the figures, write nothing")
    parser.add_argument("--sets", type=Path, nargs="+", default=[FIT_PATH],
                        help="fitting sets (default evals/dev_fit.jsonl; never a *_val set or holdout.jsonl)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="keep this min_probability instead of choosing one (the coefficients are refitted)")
    args = parser.parse_args()
    if any(p.stem.endswith("_val") or p.stem == "holdout" for p in args.sets):
        raise SystemExit("fit on fitting sets only: a *_val set or holdout.jsonl is for reporting")

    from evals.fit_data import open_pipeline

    # The pipeline opens with a placeholder piece model (the shipped one may be fitted on other features):
    # collecting reads the sentence evidence only, never the piece model.
    placeholder = PieceModel(LinearModel.only(PIECE_FEATURES, "p_share"), 0.0, args.pool)
    with patch.object(PieceModel, "load", classmethod(lambda cls, path=MODEL_PATH: placeholder)):
        pipeline = open_pipeline()
    rows = [row for path in args.sets for row in collect(pipeline, path, args.pool)]
    prose_rows = [r for r in rows if r.cands]
    print(f"{len(rows)} items, {len(prose_rows)} prose; {sum(len(r.cands) for r in prose_rows)} pieces, "
          f"{int(sum(r.y.sum() for r in prose_rows))} positive", file=sys.stderr)
    losses = {c: log_loss(rows, out_of_fold(rows, c, args.folds)) for c in C_GRID}
    c = min(losses, key=lambda v: (losses[v], v))
    oof = out_of_fold(rows, c, args.folds)
    fitted = PieceModel(fit(rows, c), 0.0, args.pool)
    curve = [answers(rows, oof, fitted, args.cap, t) for t in THRESHOLDS]
    if args.threshold is not None:
        chosen = answers(rows, oof, fitted, args.cap, args.threshold)
    elif args.target_words is not None:
        fitting = [a for a in curve if a["words_p50"] <= args.target_words]
        chosen = min(fitting, key=lambda a: a["threshold"]) if fitting else curve[-1]
    else:
        fitting = [a for a in curve if a["key_fact_recall"] >= args.min_recall]
        chosen = max(fitting, key=lambda a: a["threshold"]) if fitting else curve[0]
    model = replace(fitted, min_probability=chosen["threshold"])
    fitted_on = ", ".join(f"evals/{p.name}" for p in args.sets)
    report = {"fitted_on": fitted_on, "C": c, "cv_log_loss": losses, "out_of_fold": chosen,
              "target_words": args.target_words, "min_recall": args.min_recall,
              "cap": args.cap, "items": len(rows), "prose_items": len(prose_rows)}
    print(json.dumps(report, indent=1))
    for a in curve[::5]:
        print(f"  threshold {a['threshold']:.2f}: median {a['words_p50']:.0f} words, p90 {a['words_p90']:.0f}, "
              f"key-fact recall {a['key_fact_recall']:.3f}, prose {a['prose_key_fact_recall']:.3f} (out of fold)")
    if not args.dry_run:
        args.out.write_text(json.dumps(model.to_dict(fitted=report), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
