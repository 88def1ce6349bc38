"""Frozen value objects shared by every stage of the pipeline, and the ``AnswerStream`` that delivers an
``Answer`` as it is produced."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypedDict

from rag.errors import RagError

Verdict = Literal["supported", "weak", "unsupported"]

AnswererName = Literal["extractive", "llm"]
"""The answerers a caller can pick per request (None: the configured default)."""


class Filters(TypedDict, total=False):
    """Retrieval filters, as keyword arguments of ``search``/``ask``/``stream`` (checked by ``rag.request``,
    which documents each: ``rag.request.FILTERS``), applied before ranking.

    ``listing_date="Mar 21"``: exact, case-insensitive; ``source="003_x.txt"``: a source file name prefix;
    ``since=2020``/``until=2023``: the paper's year (inclusive); ``author="müller"``: a case- and
    accent-insensitive substring of an author's name; ``category="cs.CL"``: an arXiv category or keyword (``cs``
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


class AnswerStream:
    """An answer as it is produced: iterate for its text chunks, then read ``.answer``.

    Modelled on simonw/llm's ``Response``::

        stream = rag.stream("What does MaxSup penalize?")
        for chunk in stream:          # text deltas as the answerer writes them
            print(chunk, end="", flush=True)
        answer = stream.answer        # the final, citation-checked Answer

    - The work runs once, lazily, as the stream is consumed. Iterating again (or from several threads) replays
      the chunks already produced and continues where the stream is; nothing runs twice.
    - ``.answer`` (or ``.text()``) before or halfway through an iteration consumes the rest of the stream first.
    - The chunks are what was streamed (an LLM's markers as it wrote them, a fallback notice); ``answer.text``
      is the authoritative text, with markers renumbered and checked.
    - An error raised while producing the answer is raised to whoever is consuming the stream, and again by
      every later iteration, ``.answer`` or ``.text()``.
    - ``close()`` stops an unfinished stream (e.g. the client went away) and releases the LLM connection.

    It lives here, with the values, because it crosses stages: the pipeline returns it; the UI, the CLI,
    the evals and the HTTP API consume it.
    """

    __slots__ = ("_answer", "_chunks", "_error", "_lock", "_source")

    def __init__(self, source: Iterator[str | Answer]) -> None:
        """``source`` follows the answerer protocol: text chunks, then exactly one ``Answer``, last."""
        self._source: Iterator[str | Answer] | None = source
        self._chunks: list[str] = []
        self._answer: Answer | None = None
        self._error: Exception | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, answer: Answer) -> AnswerStream:
        """A finished stream of an answer given whole (its text as the single chunk)."""
        return cls(iter((answer.text, answer)))

    @property
    def done(self) -> bool:
        """True once the final answer is there (or the stream failed or was closed)."""
        return self._source is None

    def _pull(self, position: int) -> bool:
        """Make chunk ``position`` available, producing more if needed; False when the stream has ended."""
        with self._lock:
            while position >= len(self._chunks) and self._source is not None:
                try:
                    item = next(self._source)
                except StopIteration:
                    self._finish(None)
                    if self._answer is None:
                        self._error = RagError(
                            "the answerer ended its stream without an Answer; Answerer.stream must yield the "
                            "final Answer last"
                        )
                except Exception as exc:
                    self._finish(exc)
                except BaseException:  # Ctrl-C mid-answer: the stream is over, and says so if read again
                    self._finish(RagError("the answer stream was interrupted; ask again"))
                    raise
                else:
                    if isinstance(item, Answer):
                        self._answer = item
                        self._finish(None)
                    elif item:
                        self._chunks.append(item)
            if position < len(self._chunks):
                return True
        if self._error is not None:
            raise self._error
        return False

    def _finish(self, error: Exception | None) -> None:
        source, self._source = self._source, None
        self._error = error
        close = getattr(source, "close", None)
        if close is not None:
            close()

    def __iter__(self) -> Iterator[str]:
        position = 0
        while self._pull(position):
            yield self._chunks[position]
            position += 1

    @property
    def answer(self) -> Answer:
        """The final ``Answer`` (consumes the rest of the stream first)."""
        for _ in self:
            pass
        assert self._answer is not None
        return self._answer

    def text(self) -> str:
        """Every streamed chunk joined (consumes the stream). For the checked text, use ``answer.text``."""
        for _ in self:
            pass
        return "".join(self._chunks)

    def close(self) -> None:
        """Stop an unfinished stream; later reads of ``.answer`` raise a ``RagError`` (a finished one is kept)."""
        with self._lock:
            if self._source is not None:
                self._finish(RagError("the answer stream was closed before it finished; ask the question again"))

    def __enter__(self) -> AnswerStream:
        return self

    def __exit__(self, *exc: object) -> None:
        """``with rag.stream(q) as s:`` closes it on leaving, so breaking out early frees the LLM at once."""
        self.close()

    def __repr__(self) -> str:
        state = "done" if self.done else "streaming"
        return f"<AnswerStream {state}, {len(self._chunks)} chunks>"
