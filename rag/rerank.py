"""Second-stage rerankers behind one interface, and the abstention model.

* ``FeatureReranker`` (default, offline): a logistic model over per-candidate features (fusion,
  dense, sentence, lexical and exact-match groups), weights fitted by ``evals/fit_reranker.py`` and
  stored in ``rag/data/reranker.json``.
* ``CrossEncoderReranker``: a sentence-transformers ``CrossEncoder`` from a local path
  (``RAG_RERANKER_MODEL``) rescoring the top candidates.
* ``FusionReranker``: keeps the reciprocal-rank-fusion order (``RAG_RERANKER=none``).
* ``LLMReranker`` (optional, off by default): listwise reranking of the top few by the configured LLM.

Every reranker attaches the same features to its hits, so the abstention model (a logistic model on
the top hit's features, also in ``reranker.json``) works whichever reranker orders them.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rag.keyword import tokenize
from rag.query import Query, parse_query
from rag.retrieval import Candidate
from rag.types import Hit, Paper, Span

WEIGHTS_PATH = Path(__file__).resolve().parent / "data" / "reranker.json"

FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "fusion": ("rrf", "rr_bm25", "rr_dense", "rr_sentence"),
    "dense": ("dense", "dense_gap"),
    "sentence": ("sent_max", "sent_top2", "sent_gap"),
    "lexical": ("bm25", "title_overlap", "doc_overlap", "idf_overlap", "bigram"),
    "exact": ("name_match", "name_title", "name_miss", "name_miss_frac", "number_match"),
}
FEATURES: tuple[str, ...] = tuple(f for group in FEATURE_GROUPS.values() for f in group)
ABSTAIN_FEATURES: tuple[str, ...] = (
    "logit", "margin", "dense", "sent_max", "doc_overlap", "idf_overlap", "name_miss", "name_miss_frac", "oov",
)
_NUM = re.compile(r"(?<![A-Za-z0-9.])\d+(?:\.\d+)?")


@lru_cache(maxsize=8192)
def _spans(abstract: str) -> tuple[Span, ...]:
    from rag.chunking import split_sentences

    return tuple(split_sentences(abstract))


def to_hit(candidate: Candidate, paper: Paper, score: float, features: dict[str, float] | None = None) -> Hit:
    """A ``Hit`` for a candidate: its best sentence comes from the sentence similarities."""
    sims = candidate.sentence_scores
    spans = _spans(paper.abstract)
    best = int(np.argmax(sims)) if len(sims) else 0
    sentence = paper.abstract[spans[best].start : spans[best].end] if spans and best < len(spans) else paper.abstract
    return Hit(
        paper=paper,
        score=float(score),
        sentence=sentence,
        sentence_index=best,
        sentence_score=float(sims[best]) if len(sims) else 0.0,
        ranks=dict(candidate.ranks),
        features=dict(features if features is not None else candidate.scores),
        sentence_scores=tuple(sims.tolist()),
    )


# ---- features ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _PaperText:
    title_tokens: frozenset[str]
    tokens: frozenset[str]
    bigrams: frozenset[str]
    lower: str
    title_lower: str
    numbers: frozenset[str]


@lru_cache(maxsize=16384)
def _paper_text(title: str, abstract: str) -> _PaperText:
    body = tokenize(abstract)
    title_tokens = tokenize(title)
    everything = title_tokens + body
    return _PaperText(
        frozenset(title_tokens),
        frozenset(everything),
        frozenset(f"{a} {b}" for seq in (title_tokens, body) for a, b in itertools.pairwise(seq)),
        f"{title}\n{abstract}".lower(),
        title.lower(),
        frozenset(_NUM.findall(f"{title} {abstract}")),
    )


@lru_cache(maxsize=4096)
def _name_pattern(name: str) -> tuple[str, re.Pattern[str]]:
    """(lower-case core for a fast substring pre-check, whole-word pattern) of a query name."""
    core = (name[:-1] if name.endswith("s") and len(name) > 2 and name[-2].isupper() else name).lower()
    return core, re.compile(r"(?<![a-z0-9])" + re.escape(core) + r"s?(?![a-z0-9])")


def _has_name(pattern: tuple[str, re.Pattern[str]], text: str) -> bool:
    return pattern[0] in text and pattern[1].search(text) is not None


def featurize(query: Query, candidates: Sequence[Candidate], papers: Mapping[str, Paper]) -> np.ndarray:
    """The ``FEATURES`` matrix of the candidates (one row each), normalised per query where it matters."""
    n = len(candidates)
    x = np.zeros((n, len(FEATURES)), dtype=np.float64)
    if not n:
        return x
    patterns = [_name_pattern(name) for name in query.names]
    qtokens = set(query.tokens)
    idf = dict(zip(query.tokens, query.idf, strict=True)) if query.idf else dict.fromkeys(query.tokens, 1.0)
    idf_total = sum(idf.values()) or 1.0
    bigrams = query.bigrams
    numbers = query.numbers
    bm25 = [c.scores.get("bm25", 0.0) for c in candidates]
    dense = [c.scores.get("dense", 0.0) for c in candidates]
    sims = [sorted(c.sentence_scores.tolist(), reverse=True) for c in candidates]
    sent = [s[0] if s else 0.0 for s in sims]
    max_bm25, max_dense, max_sent = max(bm25), max(dense), max(sent)
    rows = []
    for i, c in enumerate(candidates):
        paper = papers[c.paper_id]
        text = _paper_text(paper.title, paper.abstract)
        ranks = c.ranks
        r_bm25, r_dense, r_sent = ranks.get("bm25"), ranks.get("dense"), ranks.get("sentence")
        top2 = sims[i][:2]
        if qtokens:
            title_overlap = len(qtokens & text.title_tokens) / len(qtokens)
            doc_overlap = len(qtokens & text.tokens) / len(qtokens)
            idf_overlap = sum(w for t, w in idf.items() if t in text.tokens) / idf_total
        else:
            title_overlap = doc_overlap = idf_overlap = 0.0
        bigram = sum(b in text.bigrams for b in bigrams) / len(bigrams) if bigrams else 0.0
        name_match = name_title = name_miss = name_miss_frac = 0.0
        if patterns:
            found = sum(_has_name(p, text.lower) for p in patterns)
            name_match = found / len(patterns)
            name_miss = float(len(patterns) - found)
            name_miss_frac = 1.0 - name_match
            name_title = sum(_has_name(p, text.title_lower) for p in patterns) / len(patterns)
        number_match = sum(num in text.numbers for num in numbers) / len(numbers) if numbers else 0.0
        rows.append(
            (
                c.rrf * 60.0,
                1.0 / r_bm25 if r_bm25 else 0.0,
                1.0 / r_dense if r_dense else 0.0,
                1.0 / r_sent if r_sent else 0.0,
                dense[i],
                dense[i] - max_dense,
                sent[i],
                sum(top2) / len(top2) if top2 else 0.0,
                sent[i] - max_sent,
                bm25[i] / max_bm25 if max_bm25 > 0 else 0.0,
                title_overlap,
                doc_overlap,
                idf_overlap,
                bigram,
                name_match,
                name_title,
                name_miss,
                name_miss_frac,
                number_match,
            )
        )
    x[:] = rows  # columns in FEATURES order
    return x
    col = {name: i for i, name in enumerate(FEATURES)}
    patterns = [_name_pattern(name) for name in query.names]
    qtokens = set(query.tokens)
    idf = dict(zip(query.tokens, query.idf, strict=True)) if query.idf else dict.fromkeys(query.tokens, 1.0)
    idf_total = sum(idf.values()) or 1.0
    max_bm25 = max(c.scores.get("bm25", 0.0) for c in candidates)
    dense = np.array([c.scores.get("dense", 0.0) for c in candidates])
    sent = np.array([float(c.sentence_scores.max()) if len(c.sentence_scores) else 0.0 for c in candidates])
    for i, c in enumerate(candidates):
        paper = papers[c.paper_id]
        text = _paper_text(paper.title, paper.abstract)
        row = x[i]
        row[col["rrf"]] = c.rrf * 60.0
        for stage in ("bm25", "dense", "sentence"):
            rank = c.ranks.get(stage)
            row[col[f"rr_{stage}"]] = 1.0 / rank if rank else 0.0
        row[col["dense"]] = dense[i]
        row[col["dense_gap"]] = dense[i] - dense.max()
        sims = np.sort(c.sentence_scores)[::-1]
        row[col["sent_max"]] = sent[i]
        row[col["sent_top2"]] = float(sims[:2].mean()) if len(sims) else 0.0
        row[col["sent_gap"]] = sent[i] - sent.max()
        row[col["bm25"]] = c.scores.get("bm25", 0.0) / max_bm25 if max_bm25 > 0 else 0.0
        if qtokens:
            row[col["title_overlap"]] = len(qtokens & text.title_tokens) / len(qtokens)
            row[col["doc_overlap"]] = len(qtokens & text.tokens) / len(qtokens)
            row[col["idf_overlap"]] = sum(w for t, w in idf.items() if t in text.tokens) / idf_total
        if query.bigrams:
            row[col["bigram"]] = sum(b in text.bigrams for b in query.bigrams) / len(query.bigrams)
        if patterns:
            found = [bool(p.search(text.lower)) for p in patterns]
            row[col["name_match"]] = sum(found) / len(found)
            row[col["name_miss"]] = float(len(found) - sum(found))
            row[col["name_miss_frac"]] = 1.0 - row[col["name_match"]]
            row[col["name_title"]] = sum(bool(p.search(text.title_lower)) for p in patterns) / len(patterns)
        if query.numbers:
            row[col["number_match"]] = sum(num in text.numbers for num in query.numbers) / len(query.numbers)
    return x


@dataclass(frozen=True, slots=True)
class LinearModel:
    """Standardise, dot with weights, add intercept: the logit of a logistic model."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def logits(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(((x - self.mean) / self.scale) @ self.coef + self.intercept, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": [float(v) for v in self.mean],
            "scale": [float(v) for v in self.scale],
            "coef": [float(v) for v in self.coef],
            "intercept": float(self.intercept),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LinearModel:
        return cls(
            tuple(data["features"]),
            np.asarray(data["mean"], dtype=np.float64),
            np.asarray(data["scale"], dtype=np.float64),
            np.asarray(data["coef"], dtype=np.float64),
            float(data["intercept"]),
        )

    @classmethod
    def only(cls, features: Sequence[str], name: str, weight: float = 1.0) -> LinearModel:
        """A model that scores by one feature (the fallback before weights are fitted)."""
        coef = np.array([weight if f == name else 0.0 for f in features])
        return cls(tuple(features), np.zeros(len(features)), np.ones(len(features)), coef, 0.0)


def sigmoid(z: float | np.ndarray) -> Any:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def load_weights(path: Path = WEIGHTS_PATH) -> dict[str, Any]:
    """The fitted weights; a part whose features this code does not compute is dropped (with a warning:
    rerun ``evals/fit_reranker.py``)."""
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    for part, known in (("ranker", FEATURES), ("abstain", ABSTAIN_FEATURES)):
        if part in data and not set(data[part].get("features", ())) <= set(known):
            warnings.warn(f"{path}: {part} weights are stale; rerun evals/fit_reranker.py", stacklevel=2)
            del data[part]
    return data


class FeatureScorer:
    """Features and the fitted ranking model's logits for candidates (shared by every reranker)."""

    def __init__(self, model: LinearModel | None = None) -> None:
        self.model = model or LinearModel.only(FEATURES, "rrf", 10.0)
        self._cols = [FEATURES.index(f) for f in self.model.features]

    @classmethod
    def load(cls, path: Path = WEIGHTS_PATH) -> FeatureScorer:
        data = load_weights(path).get("ranker")
        return cls(LinearModel.from_dict(data) if data else None)

    def score(
        self, query: str | Query, candidates: Sequence[Candidate], papers: Mapping[str, Paper]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(feature matrix, logits) of the candidates."""
        q = parse_query(query) if isinstance(query, str) else query
        x = featurize(q, candidates, papers)
        logits = self.model.logits(x[:, self._cols]) if len(candidates) else np.zeros(0)
        return x, logits

    def hits(
        self,
        query: str | Query,
        candidates: Sequence[Candidate],
        papers: Mapping[str, Paper],
        order: str,
        k: int | None = None,
    ) -> list[Hit]:
        """The best ``k`` (default all) hits carrying their features, ordered by the model
        (``order="model"``) or by RRF (``"rrf"``)."""
        q = parse_query(query) if isinstance(query, str) else query
        x, logits = self.score(q, candidates, papers)
        if order == "model":
            idx = sorted(range(len(candidates)), key=lambda i: (-logits[i], candidates[i].paper_id))
        else:
            idx = list(range(len(candidates)))
        out = []
        for i in idx[: max(k, 2) if k is not None else None]:
            c = candidates[i]
            logit = float(logits[i])
            features = hit_features(x[i], logit, c, q)
            score = 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0))) if order == "model" else c.rrf
            out.append(to_hit(c, papers[c.paper_id], score, features))
        return out


def hit_features(row: np.ndarray, logit: float, candidate: Candidate, query: Query) -> dict[str, float]:
    """What a hit carries in ``Hit.features``: its feature row, the model's logit, raw stage scores and
    query-level signals (``oov``)."""
    features = {name: float(v) for name, v in zip(FEATURES, row, strict=True)}
    features["logit"] = logit
    features["bm25_raw"] = float(candidate.scores.get("bm25", 0.0))
    features["oov"] = float(query.oov)
    return features


class Reranker(Protocol):
    name: str

    def rerank(
        self,
        query: str | Query,
        qvec: np.ndarray,
        candidates: Sequence[Candidate],
        papers: Mapping[str, Paper],
        k: int | None = None,
    ) -> list[Hit]:
        """Hits for the candidates, best first: at least the best ``k`` (and two, for the abstention
        margin); ``None``: all of them."""
        ...


class FusionReranker:
    """No second stage: keeps the reciprocal-rank-fusion order (features still attached)."""

    name = "rrf"

    def __init__(self, scorer: FeatureScorer | None = None) -> None:
        self.scorer = scorer or FeatureScorer()

    def rerank(
        self,
        query: str | Query,
        qvec: np.ndarray,
        candidates: Sequence[Candidate],
        papers: Mapping[str, Paper],
        k: int | None = None,
    ) -> list[Hit]:
        return self.scorer.hits(query, candidates, papers, "rrf", k)


class FeatureReranker:
    """Learned logistic model over per-candidate features (weights in ``rag/data/reranker.json``)."""

    name = "features"

    def __init__(self, scorer: FeatureScorer | None = None) -> None:
        self.scorer = scorer or FeatureScorer.load()

    def rerank(
        self,
        query: str | Query,
        qvec: np.ndarray,
        candidates: Sequence[Candidate],
        papers: Mapping[str, Paper],
        k: int | None = None,
    ) -> list[Hit]:
        return self.scorer.hits(query, candidates, papers, "model", k)


class CrossEncoderReranker:
    """A local sentence-transformers ``CrossEncoder`` rescoring the feature model's top ``top_n``."""

    name = "cross-encoder"

    def __init__(self, model: Any, scorer: FeatureScorer | None = None, top_n: int = 20) -> None:
        if isinstance(model, str | Path):
            model = load_cross_encoder(Path(model))
        self.model = model
        self.scorer = scorer or FeatureScorer.load()
        self.top_n = top_n

    def rerank(
        self,
        query: str | Query,
        qvec: np.ndarray,
        candidates: Sequence[Candidate],
        papers: Mapping[str, Paper],
        k: int | None = None,
    ) -> list[Hit]:
        hits = self.scorer.hits(query, candidates, papers, "model", max(k or 0, self.top_n))
        head, tail = hits[: self.top_n], hits[self.top_n :]
        if not head:
            return hits
        text = query.text if isinstance(query, Query) else query
        pairs = [(text, f"{h.paper.title}. {h.paper.abstract}") for h in head]
        scores = np.asarray(self.model.predict(pairs, show_progress_bar=False), dtype=np.float64).reshape(len(head), -1)
        ce = scores[:, -1]
        order = sorted(range(len(head)), key=lambda i: (-ce[i], head[i].paper.id))
        reranked = []
        for i in order:
            h = head[i]
            reranked.append(_replace_hit(h, float(ce[i]), {**h.features, "cross_encoder": float(ce[i])}))
        return reranked + tail


class LLMReranker:
    """Optional listwise reranking by an OpenAI-compatible chat model (``RAG_RERANKER=llm``; off by
    default): the feature model's top ``top_n`` are shown as numbered title + abstract snippets and the
    model answers with the numbers in order of relevance. Any failure (network, refusal, unparsable
    answer) keeps the feature order; numbers the model leaves out keep their relative order after it."""

    name = "llm"
    PROMPT = (
        "Rank the papers below by how well they answer the question. Reply with the paper numbers only, "
        "most relevant first, separated by commas.\n\nQuestion: {question}\n\n{papers}"
    )

    def __init__(
        self, client: Any, model: str, scorer: FeatureScorer | None = None, top_n: int = 10, timeout: float = 30.0
    ) -> None:
        self.client = client
        self.model = model
        self.scorer = scorer or FeatureScorer.load()
        self.top_n = top_n
        self.timeout = timeout
        self.last_error: str | None = None

    def rerank(
        self,
        query: str | Query,
        qvec: np.ndarray,
        candidates: Sequence[Candidate],
        papers: Mapping[str, Paper],
        k: int | None = None,
    ) -> list[Hit]:
        hits = self.scorer.hits(query, candidates, papers, "model", max(k or 0, self.top_n))
        head, tail = hits[: self.top_n], hits[self.top_n :]
        if len(head) < 2:
            return hits
        text = query.text if isinstance(query, Query) else query
        listing = "\n\n".join(f"[{i}] {h.paper.title}\n{h.paper.abstract[:600]}" for i, h in enumerate(head, 1))
        self.last_error = None
        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=[{"role": "user", "content": self.PROMPT.format(question=text, papers=listing)}],
                temperature=0,
                timeout=self.timeout,
            )
            answer = response.choices[0].message.content or ""
        except Exception as exc:  # the reranker is an optimisation: never fail the search
            self.last_error = f"{type(exc).__name__}: {exc}"
            return hits
        order: list[int] = []
        for number in re.findall(r"\d+", answer):
            i = int(number) - 1
            if 0 <= i < len(head) and i not in order:
                order.append(i)
        if not order:
            self.last_error = f"unparsable ranking {answer[:80]!r}"
            return hits
        order += [i for i in range(len(head)) if i not in order]
        reranked = [
            _replace_hit(head[i], 1.0 / (rank + 1), {**head[i].features, "llm_rank": float(rank + 1)})
            for rank, i in enumerate(order)
        ]
        return reranked + tail


def _replace_hit(hit: Hit, score: float, features: dict[str, float]) -> Hit:
    import dataclasses

    return dataclasses.replace(hit, score=score, features=features)


def load_cross_encoder(path: Path) -> Any:
    """A ``CrossEncoder`` from a local folder (never the hub)."""
    from rag.errors import ConfigError

    if not path.exists():
        raise ConfigError(f"RAG_RERANKER_MODEL={path} does not exist; point it at a local CrossEncoder folder")
    from sentence_transformers import CrossEncoder

    return CrossEncoder(str(path), device="cpu", local_files_only=True)


# ---- abstention ----------------------------------------------------------------------------------
def abstain_features(hits: Sequence[Hit]) -> np.ndarray:
    """``ABSTAIN_FEATURES`` of a ranked list: the top hit's evidence and its margin over the second."""
    if not hits:
        return np.zeros(len(ABSTAIN_FEATURES))
    top = hits[0].features
    second = hits[1].features.get("logit", 0.0) if len(hits) > 1 else top.get("logit", 0.0) - 5.0
    values = {**top, "margin": top.get("logit", 0.0) - second}
    return np.array([values.get(name, 0.0) for name in ABSTAIN_FEATURES], dtype=np.float64)


class AbstentionModel:
    """Calibrated probability that the corpus answers the query, from the top hits' features."""

    def __init__(self, model: LinearModel | None = None, threshold: float = 0.5) -> None:
        self.model = model
        self.threshold = threshold
        self._cols = [ABSTAIN_FEATURES.index(f) for f in model.features] if model is not None else []

    @classmethod
    def load(cls, path: Path = WEIGHTS_PATH) -> AbstentionModel:
        data = load_weights(path).get("abstain")
        if not data:
            return cls(None, 0.0)
        return cls(LinearModel.from_dict(data), float(data.get("threshold", 0.5)))

    def confidence(self, hits: Sequence[Hit]) -> float:
        if not hits:
            return 0.0
        if self.model is None:  # before fitting: the best sentence similarity, clipped
            return float(min(max(hits[0].sentence_score, 0.0), 1.0))
        x = abstain_features(hits)[self._cols]
        p = float(sigmoid(self.model.logits(x[None, :])[0]))
        return p if math.isfinite(p) else 0.0
