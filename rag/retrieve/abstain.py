"""Abstention: a calibrated probability, from the whole ranked candidate list, that the corpus answers
the query.

``abstain_features`` summarises a reranked list (``Hit.features`` as ``rag.retrieve.hits`` attaches
them): the best model score and its margin over the next, the softmax share of the best, the evidence
sentence's strength (of the best hit and the best in the top ten), query-term, name and number coverage
of the best abstract, raw BM25 and the query's out-of-vocabulary share. ``AbstentionModel`` is a logistic
model over them, fitted by ``evals/fit_reranker.py`` on answerable questions (hand-written + synthetic)
against unanswerable ones (hand-written + leave-one-out: the same questions with their gold papers
removed from the candidate list); its threshold is chosen by grouped cross-validation on that data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from rag.linear import LinearModel, sigmoid
from rag.retrieve.features import WEIGHTS_PATH, load_weights
from rag.types import Hit

ABSTAIN_FEATURES: tuple[str, ...] = (
    "logit", "margin", "top_share", "dense", "sent_max", "sent_best10", "title_overlap", "doc_overlap",
    "idf_overlap", "idf_best10", "bigram", "name_match", "name_miss", "name_miss_frac", "q_names",
    "number_match", "q_numbers", "log_bm25", "oov",
)  # fmt: skip
"""Every list-level signal the model may use; the fitted model names the subset it uses."""

LIST_DEPTH = 10
"""How many of the ranked hits the list-level signals look at."""


def abstain_features(hits: Sequence[Hit]) -> np.ndarray:
    """``ABSTAIN_FEATURES`` of a ranked list of hits (best first); zeros for an empty list."""
    return list_features([h.features for h in hits[:LIST_DEPTH]])


def list_features(ranked: Sequence[Mapping[str, float]]) -> np.ndarray:
    """``ABSTAIN_FEATURES`` from the ranked hits' ``Hit.features`` dicts (best first)."""
    if not ranked:
        return np.zeros(len(ABSTAIN_FEATURES))
    head = list(ranked[:LIST_DEPTH])
    top = head[0]
    logits = np.array([f.get("logit", 0.0) for f in head], dtype=np.float64)
    second = logits[1] if len(logits) > 1 else logits[0] - 5.0
    shares = np.exp(logits - logits.max())
    values = {
        **top,
        "margin": float(logits[0] - second),
        "top_share": float(shares[0] / shares.sum()),
        "sent_best10": max(f.get("sent_max", 0.0) for f in head),
        "idf_best10": max(f.get("idf_overlap", 0.0) for f in head),
        "log_bm25": math.log1p(max(top.get("bm25_raw", 0.0), 0.0)),
    }
    return np.array([float(values.get(name, 0.0)) for name in ABSTAIN_FEATURES], dtype=np.float64)


class AbstentionModel:
    """Calibrated probability that the corpus answers the query, from the ranked list's features."""

    def __init__(self, model: LinearModel | None = None, threshold: float = 0.5) -> None:
        self.model = model
        self.threshold = threshold
        self._cols = [ABSTAIN_FEATURES.index(f) for f in model.features] if model is not None else []

    @classmethod
    def load(cls, path: Path = WEIGHTS_PATH) -> AbstentionModel:
        data = load_weights(path, {"abstain": ABSTAIN_FEATURES}).get("abstain")
        if not data:
            return cls(None, 0.0)
        return cls(LinearModel.from_dict(data), float(data.get("threshold", 0.5)))

    def confidence(self, hits: Sequence[Hit]) -> float:
        if not hits:
            return 0.0
        if self.model is None:  # before fitting: the best sentence similarity, clipped
            return float(min(max(hits[0].sentence_score, 0.0), 1.0))
        return self.probability(abstain_features(hits))

    def probability(self, features: np.ndarray) -> float:
        """The fitted probability for one ``ABSTAIN_FEATURES`` vector (``list_features``); 0 before fitting."""
        if self.model is None:
            return 0.0
        p = float(sigmoid(self.model.logits(features[self._cols][None, :])[0]))
        return p if math.isfinite(p) else 0.0
