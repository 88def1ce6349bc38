"""The distractor probe's counts (``evals.distractor_probe``) on hand-made rows and a word-overlap scorer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evals.distractor_probe import probe
from evals.fit_data import Row
from rag.linear import LinearModel
from rag.retrieve.base import Candidate
from rag.retrieve.features import FEATURES
from rag.retrieve.hits import FeatureScorer
from rag.retrieve.query import Query


class OverlapScorer:
    """Scores a pair by the words question and document share: behaves like a relevance model, no ranks."""

    def __init__(self) -> None:
        self.pairs = 0

    def scores(self, question: str, documents: Sequence[str]) -> np.ndarray:
        self.pairs += len(documents)
        words = set(question.lower().split())
        return np.array([len(words & set(d.lower().split())) for d in documents], dtype=np.float64)


def row(question: str, pool: list[str], gold: set[str], rrf: list[float], source: str = "fit") -> Row:
    x = np.zeros((len(pool), len(FEATURES)))
    x[:, FEATURES.index("rrf")] = rrf
    query = Query(question, (), (), (), (), ())
    item = {"id": question, "question": question, "kind": source}
    y = np.array([p in gold for p in pool], dtype=np.int64)
    return Row(item, query, gold, [Candidate(p) for p in pool], x, y, question)


TEXTS = {
    "gold1": "sparse attention for long reasoning traces",
    "gold2": "dropout early in training helps underfitting",
    "other": "graph neural networks for molecules",
    "madeup1": "we study sparse attention for long reasoning traces in parsers",
    "madeup2": "a treebank of tweets",
}


def test_probe_counts_each_scorer_on_each_side() -> None:
    q1, q2 = "sparse attention long reasoning", "early dropout underfitting"
    small = [row(q1, ["gold1", "other"], {"gold1"}, [2.0, 1.0]), row(q2, ["gold2", "other"], {"gold2"}, [2.0, 1.0])]
    large = [
        row(q1, ["madeup1", "gold1", "other"], {"gold1"}, [3.0, 2.0, 1.0]),  # the distractor wins both scorers
        row(q2, ["madeup2", "other"], {"gold2"}, [2.0, 1.0]),  # the gold fell out of the pool
    ]
    scorer = FeatureScorer(LinearModel.only(FEATURES, "rrf", 10.0))
    tally = probe(small, large, TEXTS, OverlapScorer(), {"fit"}, scorer)
    assert tally["items"] == 2
    assert (tally["ranker_small"], tally["ranker_large"]) == (2, 0)
    assert (tally["ce_small"], tally["ce_large"]) == (2, 0)
    assert tally["ce_large_top_added"] == 2  # madeup1 by overlap, madeup2 on a tie broken by position
    assert tally["gold_out_of_large_pool"] == 1


def test_probe_skips_unanswerable_and_other_sources() -> None:
    small = [row("q", ["a"], set(), [1.0]), row("q2", ["gold1"], {"gold1"}, [1.0], source="title")]
    tally = probe(small, small, TEXTS | {"a": "a"}, OverlapScorer(), {"fit"},
                  FeatureScorer(LinearModel.only(FEATURES, "rrf", 10.0)))
    assert tally["items"] == 0
