"""How an answer's quotes are chosen (``Quoting``: the piece model, the word budget, the probability a quote after
the first needs, the role preference), and the two answers made of per-paper quotes: a comparison's lines, one per
compared paper, and a record question's note followed by the paper's best quote."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.compose.contrast import aspect_terms, comparable, per_paper_budget
from rag.answer.compose.draft import Draft, Evidence
from rag.answer.compose.evidence import Pick, Weights, score_sentences
from rag.answer.compose.lead import RoleOrder, lead_index
from rag.answer.compose.pieces import Piece, PieceModel, choose, cut_pieces, probabilities
from rag.answer.compose.record import venue_stated
from rag.answer.compose.shapes import compare, prose
from rag.answer.notes import record_sentence, record_values, unrecorded_sentence
from rag.text import short_title
from rag.types import Retrieved


@dataclass(frozen=True, slots=True)
class Quoting:
    """How quotes are chosen: ``pieces`` scores clause pieces, an answer quotes at most ``words`` words, and a quote
    after the first needs probability ``floor``; ``roles`` (a sentence-role predictor's preference) may favour a
    lead."""

    pieces: PieceModel
    words: int
    floor: float
    roles: RoleOrder | None = None

    def choose(self, cands: Sequence[Piece], probs: Sequence[float] | np.ndarray, lead: int | None = None,
               max_quotes: int | None = None, words: int | None = None) -> list[Pick]:
        """``rag.answer.compose.pieces.choose`` within ``words`` (default: the answer's budget)."""
        return choose(cands, probs, self.pieces, self.words if words is None else words, self.floor, lead, max_quotes)


def contrast_lines(ev: Evidence, retrieved: Retrieved, weights: Weights, quoting: Quoting, max_quotes: int) -> str:
    """One line per compared paper quoting what it says on the asked aspect: its pieces chosen as a prose answer's
    (lead by slot and role, then supporting pieces, at most ``max_quotes`` sentences) within its share of the word
    budget; a last line names the compared names no retrieved paper is about. "" unless ``comparable``."""
    compared = ev.compared
    if not comparable(compared):
        return ""
    question, slot = ev.analysis.text, ev.analysis.slot
    found = [c.hit for c in compared if c.hit is not None]
    budget = per_paper_budget(quoting.words, len(found))
    lines: dict[int, list[Pick]] = {}
    terms = aspect_terms(ev.terms, [c.name for c in compared], [retrieved.hits[h].paper.title for h in found])
    picks = score_sentences(ev.analysis, retrieved, weights, terms) if terms != ev.terms else ev.picks
    for hit in found:
        cands = cut_pieces([p for p in picks if p.hit == hit], terms, ev.analysis, quoting.pieces.pool)
        probs = probabilities(cands, quoting.pieces)
        bonus = quoting.roles(question, cands, retrieved) if quoting.roles is not None else None
        lead = lead_index(cands, probs, slot, bonus)
        lines[hit] = quoting.choose(cands, probs, lead, max_quotes, words=budget)
    labels = {h: short_title(retrieved.hits[h].paper.title) for h in found}
    return compare(lines, labels, [c.name for c in compared if c.hit is None], retrieved)


def record_draft(fields: Sequence[str], h: int, cands: Sequence[Piece], probs: np.ndarray, retrieved: Retrieved,
                 quoting: Quoting) -> Draft:
    """A record question's answer (``rag.answer.compose.record``): hit ``h``'s record note with the asked ``fields``
    it has, a "does not state" note for those it lacks (not a venue its abstract names: "... presented at ICLR"),
    then its best quote."""
    paper = retrieved.hits[h].paper
    name = short_title(paper.title)
    listed = record_sentence(name, paper, fields)
    stated = record_values(paper)
    lacking = [f for f in fields if f not in stated and not (f == "venue" and venue_stated(paper.abstract))]
    unstated = unrecorded_sentence(name, lacking) if lacking else None
    own = [j for j, c in enumerate(cands) if c.pick.hit == h]
    quote = quoting.choose([cands[j] for j in own], probs[own], max_quotes=1)
    lines = [f"{note} [{h + 1}]" for note in (listed, unstated) if note]
    return Draft("\n".join([*lines, prose(quote)]).strip(), unstated)
