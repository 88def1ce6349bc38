"""Frozen value objects shared by every stage of the pipeline."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Verdict = Literal["supported", "weak", "unsupported"]


@dataclass(frozen=True, slots=True)
class Span:
    """A sentence of an abstract, as character offsets into ``Paper.abstract``."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Paper:
    """One unique paper of the corpus."""

    id: str
    title: str
    abstract: str
    sources: tuple[str, ...] = ()
    listing_date: str | None = None
    urls: tuple[str, ...] = ()

    @property
    def content_hash(self) -> str:
        """Hash of what gets embedded; a change here means re-embedding."""
        return hashlib.sha256(f"{self.title}\n{self.abstract}".encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Paper:
        return cls(
            id=data["id"],
            title=data["title"],
            abstract=data["abstract"],
            sources=tuple(data.get("sources", ())),
            listing_date=data.get("listing_date"),
            urls=tuple(data.get("urls", ())),
        )


@dataclass(frozen=True, slots=True)
class Chunk:
    """A token-bounded piece of a paper (title + abstract, or part of it) that gets embedded."""

    id: str
    paper_id: str
    index: int
    text: str
    n_tokens: int


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved paper with its score and the evidence for it."""

    paper: Paper
    score: float
    sentence: str
    sentence_index: int
    sentence_score: float
    ranks: dict[str, int | None] = field(default_factory=dict)
    features: dict[str, float] = field(default_factory=dict)
    sentence_scores: tuple[float, ...] = ()
    """Query similarity of every sentence of the abstract, in ``chunking.split_sentences`` order."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Retrieved:
    """The retrieval result handed to an answerer: reranked hits plus the abstention signal."""

    query: str
    hits: tuple[Hit, ...]
    confidence: float
    """Calibrated 0..1 score that the corpus holds the answer."""
    abstain: bool
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Citation:
    """One numbered source in an answer and how well it supports the sentences citing it."""

    marker: int
    paper: Paper
    quote: str
    sentence_indices: tuple[int, ...]
    verdict: Verdict
    support: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SentenceCheck:
    """Verdict on one sentence of an answer against the sources it cites."""

    text: str
    markers: tuple[int, ...]
    verdict: Verdict
    support: float
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class Answer:
    """What ``rag.ask`` returns: text with ``[n]`` markers and the checked citations behind them."""

    question: str
    text: str
    citations: tuple[Citation, ...]
    abstained: bool
    answerer: str
    hits: tuple[Hit, ...]
    checks: tuple[SentenceCheck, ...] = ()
    standalone_question: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    removed_markers: tuple[int, ...] = ()
    error: str | None = None

    @property
    def unsupported(self) -> tuple[SentenceCheck, ...]:
        """Sentences whose citations do not back them up."""
        return tuple(c for c in self.checks if c.verdict == "unsupported")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
