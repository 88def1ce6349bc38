"""Frozen value objects shared by every stage of the pipeline, and the ``AnswerStream`` that delivers an
``Answer`` as it is produced."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any, Literal, TypedDict, TypeVar, cast

from rag.errors import DataError

Verdict = Literal["supported", "weak", "unsupported"]
T = TypeVar("T")

AnswererName = Literal["extractive", "llm"]
"""The answerers a caller can pick per request (None: the configured default)."""


class Filters(TypedDict, total=False):
    """Retrieval filters, as keyword arguments of ``search``/``ask``/``stream`` (checked by ``rag.request``,
    which documents each: ``rag.request.FILTERS``), applied before ranking.

    ``listing_date="Mar 21"``: exact, case-insensitive; ``source="003_x.txt"``: a source file name prefix;
    ``since=2020``/``until=2023``: the paper's year (inclusive); ``author="müller"``: each word a word of
    an author's name or its start, case and accents aside; ``category="cs.CL"``: an arXiv category or keyword (``cs``
    matches ``cs.CL``). A value of the text filters may be a list of alternatives; None means no filter."""

    listing_date: str | Sequence[str] | None
    source: str | Sequence[str] | None
    since: int | str | None
    until: int | str | None
    author: str | Sequence[str] | None
    category: str | Sequence[str] | None


@dataclass(frozen=True, slots=True)
class Span:
    """A sentence of an abstract, as character offsets into ``Paper.abstract``."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Paper:
    """One unique paper of the corpus. Only title and abstract are embedded (``content_hash``); the other
    fields are metadata, every one optional (a record stored before they existed reads back with them empty)."""

    id: str
    title: str
    abstract: str
    sources: tuple[str, ...] = ()
    listing_date: str | None = None
    urls: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    year: int | None = None
    date: str | None = None
    """ISO date as precise as the input gives it (``2023``, ``2023-05``, ``2023-05-17``): for an arXiv paper
    the submission of its first version."""
    venue: str | None = None
    """Journal, proceedings or publisher (the arXiv dump's ``journal-ref``)."""
    categories: tuple[str, ...] = ()
    """arXiv categories (``cs.CL``) or a reference manager's keywords."""
    arxiv_id: str | None = None
    doi: str | None = None
    url: str | None = None
    """Where to read the paper: the arXiv abstract page, the DOI resolver, or the input's own URL."""

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
            authors=tuple(data.get("authors") or ()),
            year=data.get("year"),
            date=data.get("date"),
            venue=data.get("venue"),
            categories=tuple(data.get("categories") or ()),
            arxiv_id=data.get("arxiv_id"),
            doi=data.get("doi"),
            url=data.get("url"),
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
    """Query similarity of every sentence of the abstract, in ``rag.text.split_sentences`` order."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Hit:
        """The hit ``to_dict`` (or ``rag search --json``) gave; ``DataError`` naming a bad field."""
        return _load(cls, data)


@dataclass(frozen=True, slots=True)
class Retrieved:
    """The retrieval result handed to an answerer: reranked hits plus the abstention signal."""

    query: str
    hits: tuple[Hit, ...]
    confidence: float
    """Calibrated 0..1 score that the corpus holds the answer."""
    abstain: bool
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    """Why a stage fell back in this request (e.g. the LLM reranker failed and the feature order was kept)."""


@dataclass(frozen=True, slots=True)
class Citation:
    """One numbered source in an answer and how well it supports the sentences citing it."""

    marker: int
    paper: Paper
    quote: str
    sentence_indices: tuple[int, ...]
    verdict: Verdict
    support: float
    roles: tuple[tuple[str, int], ...] = ()
    """``(role, sentence index)`` of the abstract sentences most likely to state the paper's challenge, approach
    and outcome (``rag.answer.roles``), in that order; () when no role model ran."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Citation:
        """The citation ``to_dict`` gave; ``DataError`` naming a bad field."""
        return _load(cls, data)


@dataclass(frozen=True, slots=True)
class SentenceCheck:
    """Verdict on one sentence of an answer against the sources it cites."""

    text: str
    markers: tuple[int, ...]
    verdict: Verdict
    support: float
    reason: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SentenceCheck:
        """The check ``dataclasses.asdict`` gave; ``DataError`` naming a bad field."""
        return _load(cls, data)


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Usage:
        """The usage ``dataclasses.asdict`` gave; ``DataError`` naming a bad field."""
        return _load(cls, data)


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
    not_stated: str | None = None
    """When the abstract the question is about does not state the asked detail: the sentence saying so (it
    also opens ``text``); None otherwise."""
    kind: str = ""
    """What the question asks for, as the answerer analysed it once (``rag.answer.compose.analysis``: "lookup",
    "list", "comparison", ...); "" for an abstention. The UI and the CLI show a comparison's table by it."""

    @property
    def unsupported(self) -> tuple[SentenceCheck, ...]:
        """Sentences whose citations do not back them up."""
        return tuple(c for c in self.checks if c.verdict == "unsupported")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Answer:
        """The answer ``to_dict`` gave, after a JSON round trip too (``rag ask --json``'s output; keys it does not
        know, like ``references``, are ignored); lists become tuples again. A field that is missing (and has no
        default) or of the wrong type raises ``DataError`` naming it (``Answer.citations[0].verdict``)."""
        return _load(cls, data)


def _load(cls: type[T], data: Any) -> T:
    """``cls`` from a dict as its ``to_dict`` writes it, after a JSON round trip too, read strictly by pydantic
    (no "1" for 1, no 0 for false; lists become tuples; keys that are not fields are ignored). A field missing
    (without a default) or of the wrong type raises ``DataError`` naming its path (``Answer.hits[0].paper.id``)."""
    from pydantic import ValidationError

    if not isinstance(data, Mapping):
        raise DataError(cls.__name__, f"must be a dict, not {repr(data)[:40]}")
    try:
        return cast(T, _adapter(cast(type, cls)).validate_json(json.dumps(data), strict=True))
    except (TypeError, ValueError) as exc:  # ValidationError is a ValueError
        if not isinstance(exc, ValidationError):
            raise DataError(cls.__name__, f"is not JSON data ({exc})") from None
        first = exc.errors()[0]
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"])
        problem = "is missing" if first["type"] == "missing" else f"is invalid: {first['msg']}"
        raise DataError(cls.__name__ + where, problem) from None


@cache
def _adapter(cls: type) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(cls)
