"""What an extractive answer is composed from (``Evidence``: the question's scored sentences and the papers it
points at, compares or asks the record of) and what it composes before the citation check (``Draft``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.answer.compose.analysis import Question
from rag.answer.compose.contrast import Compared, evident
from rag.answer.compose.evidence import Pick


@dataclass(frozen=True, slots=True)
class Evidence:
    """What an extractive answer is composed from: scored sentences (best first), the question's analysis, its
    term weights, and for a comparison the papers it compares."""

    picks: list[Pick]
    analysis: Question
    terms: dict[str, float]
    others: list[Pick] = field(default_factory=list)
    """For "which of them ...": the best sentence of each other paper pointed at, whose evidence fits less."""
    compared: list[Compared] = field(default_factory=list)
    """For a comparison: the papers it compares (``rag.answer.compose.contrast.compared_hits``), named in the
    question or, for a follow-up, in the conversation its standalone query carries; empty otherwise."""
    record_hit: int | None = None
    """For a record question ("Who wrote X?", "who wrote it?"): the hit whose record answers it, if any."""
    own: tuple[int, ...] = ()
    """For a follow-up pointing at papers the last answer cited ("does it ...?"): those among the hits."""
    pointed: bool = False
    """Whether it compares papers the last answer cited ("which one is better?", "how do they differ?"), which
    are among the hits (then it is answered although the abstention model doubts its carried query)."""
    rescued: bool = False
    """Whether it is answered only because the chat found its paper (``rag.answer.compose.followup.rescued``: it
    points at the chat's one paper, which it is then about, the subject of a "does not state" note; or it picks a
    listed paper by its words)."""

    @property
    def answered_anyway(self) -> bool:
        """Whether a comparison or a record question is answered although the abstention model doubts the hits:
        two papers the comparison compares are retrieved, each named by its title or introducing the name the
        question gives (``evident``); the paper a record question names is retrieved (``subject``: "Who wrote
        TabPFN?" asks for no content, and "wrote" is in no abstract). The abstention model was fitted on
        one-paper content questions."""
        if self.analysis.record:
            return self.record_hit is not None
        return self.pointed or evident(self.compared)


@dataclass(frozen=True, slots=True)
class Draft:
    """A composed answer before checking: its text (``[n]`` numbered by the hits) and, when the abstract the
    question is about does not state the asked detail, that detail's sentence."""

    text: str
    not_stated: str | None = None
