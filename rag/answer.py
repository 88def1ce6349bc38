"""Answerers behind one interface. The extractive answerer is the offline default."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from rag.chunking import split_sentences
from rag.embeddings import Embedder
from rag.settings import Settings
from rag.types import Answer, Citation, Retrieved

ABSTENTION = "The corpus does not cover this question."
"""The one abstention sentence, shared by prompts, answerers, UI and evals."""


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


class ExtractiveAnswerer:
    """Quotes the best evidence sentence of each top paper (placeholder until the answers issue)."""

    name = "extractive"

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder

    def condense(self, question: str, history: Sequence[dict[str, str]]) -> str:
        return question

    def stream(
        self, question: str, retrieved: Retrieved, history: Sequence[dict[str, str]]
    ) -> Iterator[str | Answer]:
        if retrieved.abstain or not retrieved.hits:
            yield ABSTENTION
            yield Answer(question, ABSTENTION, (), True, self.name, retrieved.hits)
            return
        parts, citations = [], []
        for n, hit in enumerate(retrieved.hits[:3], start=1):
            spans = split_sentences(hit.paper.abstract)
            citations.append(Citation(n, hit.paper, hit.sentence, (hit.sentence_index,), "supported", 1.0))
            parts.append(f"{hit.sentence} [{n}]")
            del spans
        text = " ".join(parts)
        yield text
        yield Answer(question, text, tuple(citations), False, self.name, retrieved.hits)
