"""The answer contract every answerer and every reader of answers shares: the ``Answerer`` protocol, the one
abstention sentence and how it is recognised, and the two ways an answerer's final ``Answer`` is built.

Both answerers (``rag.answer.extractive``, ``rag.answer.llm``), the guards, the UI and the evals import these
from here, so no answerer depends on another one."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from typing import Any, Protocol

from rag.answer.citations import Checked
from rag.text import normalize_verbatim, strip_markers
from rag.types import Answer, Retrieved

ABSTENTION = "The corpus does not cover this question."
"""The one abstention sentence, shared by prompts, answerers, UI and evals."""
NO_MATCH_LEAD = "No paper matches the filters"
NO_MATCH = f"{NO_MATCH_LEAD}; widen or remove them."
"""The answer (abstained) when the filters leave no paper to search; ``rag search`` says the same."""


def no_match(missing: Sequence[str] = ()) -> str:
    """``NO_MATCH``, or when the filters read fields no indexed paper has (``PaperFilter.missing_fields``: the
    bundled listing pages carry no year, author or category), a message saying so."""
    if not missing:
        return NO_MATCH
    return (f"{NO_MATCH_LEAD}: no indexed paper has {' or '.join(missing)} (listing pages such as the bundled "
            "ones carry none); ingest papers that do (docs/ingest.md) or remove those filters.")  # fmt: skip


class Answerer(Protocol):
    """Turns retrieved papers into an answer with ``[n]`` citations."""

    name: str

    def condense(self, question: str, history: Sequence[dict[str, str]]) -> str:
        """A standalone version of a follow-up question (the question itself if there is no history)."""
        ...

    def stream(
        self, question: str, retrieved: Retrieved, history: Sequence[dict[str, str]]
    ) -> Iterator[str | Answer]:
        """Text deltas, then the final ``Answer``."""
        ...


def canonical_sentence(text: str) -> str:
    """A sentence as compared for sameness: lower case, whitespace collapsed, markers and the quotes, dots and
    emphasis at its ends removed."""
    return normalize_verbatim(strip_markers(text)).strip(" \"'“”.`*")


def is_abstention(text: str) -> bool:
    """Whether ``text`` is the abstention sentence and nothing else (case, markers, quotes, trailing dots aside)."""
    return canonical_sentence(text) == canonical_sentence(ABSTENTION)


def mentions_abstention(text: str) -> bool:
    """Whether the abstention sentence occurs anywhere in ``text``."""
    return canonical_sentence(ABSTENTION) in normalize_verbatim(text)


def abstention(question: str, retrieved: Retrieved, answerer: str) -> Answer:
    """The abstaining answer: exactly ``ABSTENTION``, no citations."""
    return Answer(question, ABSTENTION, (), True, answerer, retrieved.hits)


def checked_answer(
    question: str, checked: Checked, answerer: str, retrieved: Retrieved, timings: dict[str, float], **extra: Any
) -> Answer:
    """The final ``Answer`` of an answerer from its citation-checked text (both answerers end here)."""
    return Answer(
        question,
        checked.text,
        checked.citations,
        False,
        answerer,
        retrieved.hits,
        checks=checked.checks,
        removed_markers=checked.removed_markers,
        timings=timings,
        **extra,
    )


def failed_notice(error: str, lead: str = "\n\n") -> str:
    """The line streamed when the LLM fails and the extractive answerer takes over."""
    return f"{lead}(The LLM failed: {error.rstrip('.')}. Extractive answer instead:)\n\n"


def answer_texts(items: Iterator[str | Answer]) -> Generator[str, None, Answer]:
    """Yield an answerer's text deltas and return its final ``Answer`` (the ``Answerer.stream`` protocol)."""
    for item in items:
        if isinstance(item, Answer):
            return item
        yield item
    raise AssertionError("an answerer must end its stream with an Answer")
