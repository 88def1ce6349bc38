"""The abstention part of the refit (``evals/fit_reranker.py`` calls it): a logistic model over the
list-level signals of ``rag.retrieve.abstain`` (best score, margin, share of the best, evidence-sentence
strength, query-term / name / number coverage of the best abstract, BM25, out-of-vocabulary share).

Inputs are every item's ranked list under the OUT-OF-FOLD ranker (what the model sees at query time on a
question it was not fitted on). Positives: answerable items (hand-written + synthetic); negatives:
hand-written unanswerables and the leave-one-out twins (gold papers hidden before featurising).

Selection, all by grouped cross-validation on the fitting data (never ``evals/dev_val.jsonl``):

* feature set (``FEATURE_SETS``), C and the weights of the synthetic rows and of the hand-written items'
  leave-one-out twins against the hand-written items, by OOF log-loss on the hand-written items (the
  distribution users ask from; the other rows are extra training data, not the target);
* the threshold: the best OOF accuracy on the hand-written items, smoothed over +-``SMOOTH``.

Both error kinds are reported OOF: wrongly answered (unanswerable answered) and wrongly refused.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from evals.fit_data import Row
from rag.linear import LinearModel
from rag.retrieve.abstain import ABSTAIN_FEATURES, list_features
from rag.retrieve.features import hit_features
from rag.retrieve.hits import FIRST_STAGE_DEPTH, keep_first_stage

FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "top-hit": ("logit", "margin", "dense", "sent_max", "doc_overlap", "idf_overlap", "name_miss",
                "name_miss_frac", "oov"),
    "list": ABSTAIN_FEATURES,
}  # fmt: skip
"""``top-hit``: the shipped model's signals (best hit + margin); ``list``: every list-level signal."""
C_GRID = (0.03, 0.3, 3.0)
SYNTH_WEIGHTS = (0.0, 0.02, 0.1)
LOO_FIT_WEIGHTS = (0.0, 0.2, 1.0)
"""Weights of the synthetic rows (positives and their leave-one-out twins) and of the hand-written items'
own leave-one-out twins, against 1 for a hand-written item."""
SMOOTH = 0.05
"""The threshold maximises the OOF accuracy averaged over thresholds within this distance (a flat,
robust optimum rather than a lucky point between two items)."""
THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.01), 2)


def fold_of(rows: Sequence[Row], k: int) -> np.ndarray:
    """A row's fold from a CRC of its group (its paper): no paper on both sides of a fold."""
    return np.array([zlib.crc32(r.group.encode()) % k for r in rows])


def fit_linear(
    x: np.ndarray, y: np.ndarray, names: tuple[str, ...], c: float, w: np.ndarray | None = None
) -> LinearModel:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit((x - mean) / scale, y, sample_weight=w)
    return LinearModel(names, mean, scale, model.coef_[0].astype(np.float64), float(model.intercept_[0]))


def ranked_indices(row: Row, logits: np.ndarray) -> list[int]:
    """Candidate indices as ``FeatureScorer.hits`` orders them (fusion top ten kept in the top ten)."""
    idx = sorted(range(len(row.candidates)), key=lambda i: (-logits[i], row.candidates[i].paper_id))
    return keep_first_stage(idx, range(min(FIRST_STAGE_DEPTH, len(row.candidates))))


def abstain_matrix(rows: Sequence[Row], logits: Sequence[np.ndarray]) -> np.ndarray:
    """``ABSTAIN_FEATURES`` of every row's ranked list under the given ranking logits."""
    out = []
    for row, lg in zip(rows, logits, strict=True):
        idx = ranked_indices(row, lg)[:10]
        out.append(list_features([hit_features(row.x[i], float(lg[i]), row.candidates[i], row.query) for i in idx]))
    return np.vstack(out)


def hand_written(rows: Sequence[Row]) -> np.ndarray:
    return np.array([r.source == "fit" for r in rows])


def weights(rows: Sequence[Row], synth_weight: float, loo_fit_weight: float) -> np.ndarray:
    loo_fit = np.array([r.source == "loo-fit" for r in rows])
    return np.where(hand_written(rows), 1.0, np.where(loo_fit, loo_fit_weight, synth_weight))


Choice = tuple[str, float, float, float]
"""(feature set name, C, synthetic weight, leave-one-out-of-hand-written weight)."""


def oof_probs(rows: Sequence[Row], x: np.ndarray, y: np.ndarray, k: int, choice: Choice) -> np.ndarray:
    set_name, c, sw, lw = choice
    names = FEATURE_SETS[set_name]
    cols = [ABSTAIN_FEATURES.index(n) for n in names]
    folds, w = fold_of(rows, k), weights(rows, sw, lw)
    probs = np.zeros(len(y))
    for f in range(k):
        train = (folds != f) & (w > 0)
        model = fit_linear(x[train][:, cols], y[train], names, c, w[train])
        probs[folds == f] = 1 / (1 + np.exp(-model.logits(x[folds == f][:, cols])))
    return probs


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def select(rows: Sequence[Row], x: np.ndarray, y: np.ndarray, k: int) -> tuple[Choice, dict[str, Any]]:
    """The choice with the best OOF log-loss on the hand-written items, and the grid's losses."""
    hand = hand_written(rows)
    grid: dict[Choice, float] = {}
    for choice in itertools.product(FEATURE_SETS, C_GRID, SYNTH_WEIGHTS, LOO_FIT_WEIGHTS):
        grid[choice] = log_loss(oof_probs(rows, x, y, k, choice)[hand], y[hand])
    best = min(grid, key=lambda key: (grid[key], key[1]))
    losses = {f"{a},C={b},synth_weight={c},loo_fit_weight={d}": v for (a, b, c, d), v in grid.items()}
    return best, {"oof_log_loss_hand_written": losses}


def choose_threshold(rows: Sequence[Row], probs: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(threshold, its OOF accuracy on the hand-written items): the best accuracy averaged over a window
    of +-``SMOOTH`` (ties: the middle of the tied thresholds)."""
    hand = hand_written(rows)
    acc = np.array([np.mean((probs[hand] >= t) == (y[hand] == 1)) for t in THRESHOLDS])
    smooth = np.array([acc[np.abs(THRESHOLDS - t) <= SMOOTH + 1e-9].mean() for t in THRESHOLDS])
    best = np.flatnonzero(smooth >= smooth.max() - 1e-9)
    i = best[len(best) // 2]
    return float(THRESHOLDS[i]), float(acc[i])


def error_rates(rows: Sequence[Row], probs: np.ndarray, y: np.ndarray, t: float, sources: set[str]) -> dict[str, float]:
    """Accuracy and both error kinds at threshold ``t`` over the rows of ``sources``."""
    pick = np.array([r.source in sources for r in rows])
    answer = probs >= t
    pos, neg = pick & (y == 1), pick & (y == 0)
    return {
        "accuracy": float(np.mean(answer[pick] == (y[pick] == 1))) if pick.any() else 0.0,
        "wrongly_refused": float(np.mean(~answer[pos])) if pos.any() else 0.0,
        "wrongly_answered": float(np.mean(answer[neg])) if neg.any() else 0.0,
        "n": int(pick.sum()),
        "n_unanswerable": int(neg.sum()),
    }


def fit_abstention(rows: Sequence[Row], oof_logits: Sequence[np.ndarray], k: int, synth: set[str]) -> dict[str, Any]:
    """The abstention weights (``reranker.json``'s ``abstain`` part) and the report of how they were chosen."""
    y = np.array([r.answerable for r in rows], dtype=np.int64)
    x = abstain_matrix(rows, oof_logits)
    choice, log = select(rows, x, y, k)
    set_name, c, sw, lw = choice
    names = FEATURE_SETS[set_name]
    probs = oof_probs(rows, x, y, k, choice)
    threshold, hand_acc = choose_threshold(rows, probs, y)
    cols = [ABSTAIN_FEATURES.index(n) for n in names]
    w = weights(rows, sw, lw)
    model = fit_linear(x[w > 0][:, cols], y[w > 0], names, c, w[w > 0])
    curve = {f"{t:.2f}": error_rates(rows, probs, y, float(t), {"fit"}) for t in THRESHOLDS[::5]}
    report = {
        "features": set_name, "C": c, "synth_weight": sw, "loo_fit_weight": lw, "threshold": threshold, **log,
        "oof_hand_written": error_rates(rows, probs, y, threshold, {"fit"}),
        "oof_synthetic_and_loo": error_rates(rows, probs, y, threshold, synth | {"loo"}),
        "oof_loo_of_hand_written": error_rates(rows, probs, y, threshold, {"loo-fit"}),
        "oof_hand_written_curve": curve,
    }  # fmt: skip
    assert abs(report["oof_hand_written"]["accuracy"] - hand_acc) < 1e-9
    return {"weights": {**model.to_dict(), "threshold": threshold}, "report": report}
