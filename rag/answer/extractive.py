"""Answerers behind one interface. The extractive answerer is the offline default.

The extractive answerer quotes the sentences of the retrieved abstracts that best answer the question,
so every sentence of its answer is verbatim from the abstract it cites (faithful by construction).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import replace

from rag.answer.base import ABSTENTION, abstention, checked_answer
from rag.answer.citations import check_answer
from rag.answer.compose.analysis import Question, analyse
from rag.answer.compose.choose import listed
from rag.answer.compose.contrast import POINTERS, Compared, comparable, opposed, question_sides, with_pointed
from rag.answer.compose.draft import Draft, Evidence
from rag.answer.compose.evidence import Pick, Weights, question_terms, score_sentences
from rag.answer.compose.followup import (
    IsName,
    asks_of_each,
    asks_which_is_better,
    authors_pointer,
    corrected_hits,
    corrects_to,
    hits_of,
    listed_first,
    no_names,
    record_hit,
    referents,
    rescued,
    resolve_followup,
    restated,
    without_switch,
)
from rag.answer.compose.lead import RoleOrder, complete_lead, headed, missing_detail, subject_lead
from rag.answer.compose.naming import (
    Subject,
    a_paper_name,
    asks_of_its_paper,
    coined_names,
    its_name,
    names_its_paper,
    proposer,
    subject,
    with_title_name,
)
from rag.answer.compose.pieces import PieceModel, cut_pieces, probabilities
from rag.answer.compose.quoting import Quoting, contrast_lines, record_draft
from rag.answer.compose.referents import pointed_hits
from rag.answer.compose.shapes import listing, prose, two_tier_listing
from rag.answer.compose.slots import aspect_bonus
from rag.answer.compose.sources import with_wanted
from rag.index.embeddings import Embedder
from rag.settings import Settings
from rag.text import normalize_verbatim, short_title
from rag.types import Answer, Retrieved


class ExtractiveAnswerer:
    """Quotes the sentences of the retrieved abstracts that best answer the question, each cited ``[n]``.

    Offline and deterministic; every answer sentence is a verbatim quote of the abstract it cites."""

    name = "extractive"

    max_quotes = 3
    """A prose answer quotes the lead's sentence and at most two supporting ones (chosen on ``dev_fit``)."""
    max_compared_quotes = 2
    """Sentences quoted per compared paper."""

    def __init__(
        self, settings: Settings, embedder: Embedder, weights: Weights | None = None, pieces: PieceModel | None = None,
        roles: RoleOrder | None = None, acronyms: Mapping[str, Collection[str]] | None = None,
        is_name: IsName = no_names, is_unknown: IsName = no_names, names_paper: IsName | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.weights = weights or Weights()
        self.pieces = pieces or PieceModel.load()
        self.roles = roles
        """A sentence-role predictor's piece preference (``rag.answer.compose.lead.RoleOrder``), if any."""
        self.acronyms: Mapping[str, Collection[str]] = acronyms or {}
        """The corpus's acronyms and their long forms ("moe" -> "mixture of experts"): a name spelled out is named."""
        self.is_name, self.is_unknown = is_name, is_unknown
        """Whether a lower-case word names a paper of the corpus ("sparsemax"), or is in none of its documents
        ("vcd"; ``rag.retrieve.names``)."""
        self.names_paper = names_paper
        """Whether a name is some paper's own ("LoFiT"; not "MMLU"): a short follow-up naming only others asks about
        the paper under discussion ("MMLU gain?"). None: every name may (no corpus to tell)."""

    def condense(self, question: str, history: Sequence[dict[str, str]]) -> str:
        """A standalone query for a follow-up (``rag.answer.compose.followup.resolve_followup``)."""
        return resolve_followup(question, history, self.is_name, self.names_paper)

    def evidence(
        self, question: str, retrieved: Retrieved, standalone: str = "", history: Sequence[dict[str, str]] = (),
        analysis: Question | None = None, rescued: bool = False,
    ) -> Evidence:
        """Every sentence of the hits scored for the question, with the question's analysis (``analyse``, unless
        given) and term weights. A follow-up that points at sources of the last answer ("which of them", "the
        second one", "it") keeps only those papers' sentences when they are among the hits; one that compares
        them ("how do they differ?") compares those papers. ``rescued``: a doubted follow-up answered only because
        the chat found its paper (``rescued``; "they" then are its authors)."""
        extra = standalone if normalize_verbatim(standalone) != normalize_verbatim(question) else ""
        analysis = analysis or analyse(question)
        terms = question_terms(question, retrieved, extra)
        picks = score_sentences(analysis, retrieved, self.weights, terms, followup=bool(extra))
        own = pointed_hits((authors_pointer if rescued else referents)(question, history), retrieved, history)
        wrong = corrected_hits(question, history, retrieved)  # "no, I meant ...": not the papers just cited
        picks = [p for p in picks if p.hit not in wrong] or picks
        record = record_hit(question, standalone, retrieved, own) if analysis.record else None
        if record is not None:  # "who wrote it?", "who wrote X?"
            return Evidence(picks, analysis, terms, record_hit=record)
        compared = with_pointed(self.compared(analysis, retrieved, standalone), question, own, retrieved)
        carried = not coined_names(question)  # its names came from the last answer
        # "compare the first 2": no "GPT-2" line, and no paper the carried words name that was not pointed at
        stray = carried and any(c.hit is None or (own and c.hit not in own) for c in compared)
        compares = analysis.kind == "comparison" or asks_of_each(question)  # "which one is better?", "do both ..."
        if compares and len(own) >= 2 and (not comparable(compared) or stray):  # "them"
            them = [Compared(short_title(retrieved.hits[h].paper.title), h, True) for h in sorted(own)]
            asked = question_terms(question, retrieved) if extra else terms  # its own words, not the carried ones
            overrule = analysis.kind == "comparison" or asks_which_is_better(question)
            return Evidence(picks, analysis, asked, compared=them, pointed=overrule)
        if own:  # the papers pointed at compete on what this question asks, not on rank or the carried query
            own_terms = question_terms(question, retrieved) if extra else terms
            focused = score_sentences(analysis, retrieved, self.weights.pointed(), own_terms)
            picks = sorted((replace(p, score=p.relevance) for p in focused if p.hit in own),
                           key=lambda p: (-p.score, p.hit, p.index))
            others: list[Pick] = []
            if picks and picks[0].score > 0:  # "which of them ...": the papers whose evidence is close to the best
                best = {h: max((p.score for p in picks if p.hit == h), default=0.0) for h in own}
                close = {h for h, v in best.items() if v >= picks[0].score * self.weights.other_paper_ratio}
                others = [next(p for p in picks if p.hit == h) for h in sorted(own - close)]
                picks = [p for p in picks if p.hit in close]
            return Evidence(picks, analysis, terms, others, compared, own=tuple(sorted(own)), rescued=rescued)
        return Evidence(picks, analysis, terms, compared=compared)

    def shaped(self, ev: Evidence, retrieved: Retrieved) -> str:
        """A list answer (one line per paper whose evidence matches) or a comparison (one line per compared
        paper); "" when the question wants prose."""
        if ev.analysis.kind == "list":
            papers = listed(ev.picks, self.weights, [h.score for h in retrieved.hits])
            return two_tier_listing(papers.sure, papers.weaker, retrieved)
        if ev.analysis.kind == "comparison" or ev.compared:  # or "which one is better?" of the papers shown
            return contrast_lines(ev, retrieved, self.weights, self.quoting, self.max_compared_quotes)
        return ""

    def compared(self, analysis: Question, retrieved: Retrieved, standalone: str = "") -> list[Compared]:
        """The papers a comparison question compares (``rag.answer.compose.contrast.question_sides``), named in
        the question or, for a follow-up, in the conversation its ``standalone`` query carries."""
        comparison, text = analysis.kind == "comparison", standalone or analysis.text  # or "X and Y each ..."
        return question_sides(text, comparison, bool(standalone), retrieved, self.is_name, self.is_unknown)

    def sources(self, question: str, ranked: Retrieved, k: int, history: Sequence[dict[str, str]] = ()) -> Retrieved:
        """The ``k`` hits an answer is given (``with_wanted``): the best ranked, with the papers a comparison
        itself names ("GRAM" of "How does GRAM compare to Con-J?"; not a name its follow-up query carries) and the
        last answer's sources a follow-up points at ("which of them ...") brought up from below ``k``."""
        question = restated(question, history, self.is_name, self.names_paper) or question
        wanted = hits_of(referents(question, history), ranked)
        analysis = replace(analyse(without_switch(question)), text=question)
        sides = opposed(question, [*coined_names(question), *POINTERS])  # "GRAM compare to Con-J", "it vs
        # SeerAttention-R"; not "[MASK]" of "ExLM and MAE-LM differ"
        wanted |= {c.hit for c in self.compared(analysis, ranked)  # a typed name's own paper ("GRAM: ..."), not one
                   if c.hit is not None and c.name in sides and a_paper_name(c.name)  # about it, nor a field ("MoE")
                   and its_name(c.name, ranked.hits[c.hit].paper, self.acronyms)}
        return with_wanted(ranked, wanted, k)

    def owns(self, question: str, retrieved: Retrieved, history: Sequence[dict[str, str]] = ()) -> bool:
        """Whether only this answerer can answer: a record question about a paper it names ("Who wrote X?"),
        answered from the paper's record, which the LLM answerer is not given."""
        analysis = analyse(question)
        if not analysis.record or not retrieved.hits:
            return False
        standalone = retrieved.query if history else ""
        return self.evidence(question, retrieved, standalone, history, analysis).record_hit is not None

    def overrules(self, question: str, retrieved: Retrieved, history: Sequence[dict[str, str]] = ()) -> bool:
        """Whether this answerer answers although the abstention model doubts the hits (``Evidence.answered_anyway``: a
        comparison of papers plainly retrieved; ``names_its_paper``: "what is SPLADE?"), so that an LLM answerer is
        handed them too."""
        analysis = analyse(question)
        if retrieved.hits and self.plainly_named(question, analysis, retrieved, history):
            return True
        if self.rescues(question, analysis, retrieved, history):
            return True  # "what GPU did they use?": the chat's paper answers it
        if not retrieved.hits or analysis.kind != "comparison":
            return False
        standalone = retrieved.query if history else ""
        return self.evidence(question, retrieved, standalone, history, analysis).answered_anyway

    def rescues(self, question: str, analysis: Question, retrieved: Retrieved,
                history: Sequence[dict[str, str]]) -> bool:
        """Whether a question that is no comparison or record question, and that the abstention model doubts, is
        answered from the chat's paper it points at or picks (``rescued``)."""
        return (analysis.kind != "comparison" and not analysis.record
                and rescued(question, retrieved, history, self.weights.pointed_confidence))

    def plainly_named(self, question: str, analysis: Question, retrieved: Retrieved,
                      history: Sequence[dict[str, str]]) -> bool:
        """Whether the question names a retrieved paper plainly: only by its own coined name ("what is SPLADE?",
        ``names_its_paper``), by that name with other names its abstract gives ("What gains did SELMA report on TIFA
        and DSG?", ``asks_of_its_paper``), or as a correction naming its title ("no, I meant the on-policy
        self-judgment paper", ``corrects_to``)."""
        spelled = self.acronyms
        cased = with_title_name(analysis.text, retrieved)  # "selma tifa dsg gains": SELMA's paper is first
        analysis = replace(analysis, text=cased) if cased != analysis.text else analysis
        return (names_its_paper(analysis, retrieved, spelled) or asks_of_its_paper(analysis, retrieved, spelled)
                or corrects_to(question, retrieved, history) is not None)

    @property
    def quoting(self) -> Quoting:
        """How quotes are chosen: a quote after the first needs ``RAG_ANSWER_EVIDENCE``, else the piece model's
        probability."""
        evidence = self.settings.answer_evidence
        floor = self.pieces.min_probability if evidence is None else evidence
        return Quoting(self.pieces, self.settings.answer_words, floor, self.roles)

    def compose(
        self, question: str, retrieved: Retrieved, standalone: str = "", history: Sequence[dict[str, str]] = ()
    ) -> str:
        """The answer text with ``[n]`` markers numbered by ``retrieved.hits`` (``draft``'s text)."""
        return self.draft(question, retrieved, standalone, history).text

    def draft(
        self, question: str, retrieved: Retrieved, standalone: str = "", history: Sequence[dict[str, str]] = ()
    ) -> Draft:
        """One line per listed paper, one per compared method, or prose that leads with the piece holding what
        the question asks for (its slot, ``rag.answer.compose.slots``) followed by at most two supporting pieces
        (for "which of them ...", then a line for each other paper pointed at, with its closest sentence);
        "The X abstract does not state ..." first when the paper asked about holds no such piece; "Yes: <title>"
        first for "is there a paper on ...". Markers are numbered by ``retrieved.hits`` (renumbered later)."""
        return self.drafted(self.evidence(question, retrieved, standalone, history), retrieved, standalone)

    def drafted(self, ev: Evidence, retrieved: Retrieved, standalone: str = "") -> Draft:
        """``draft`` from the question's evidence (``evidence``), which carries its analysis."""
        question, slot = ev.analysis.text, ev.analysis.slot
        shaped = "" if ev.record_hit is not None else self.shaped(ev, retrieved)
        if shaped:
            return Draft(shaped)
        owner = proposer(retrieved.query or question, retrieved)  # "Which paper proposes X?": X's own paper
        picks = ev.picks if owner is None else [p for p in ev.picks if p.hit == owner]
        cands = cut_pieces(picks, ev.terms, ev.analysis, self.pieces.pool)
        probs = probabilities(cands, self.pieces)
        quoting = self.quoting
        if ev.record_hit is not None:  # "who wrote X?": the paper's own record, then its best quote
            return record_draft(ev.analysis.record, ev.record_hit, cands, probs, retrieved, quoting)
        subj = subject(standalone or question, retrieved)
        if ev.rescued and len(ev.own) == 1:  # a doubted question about the chat's paper is about that paper
            subj = Subject(ev.own[0], short_title(retrieved.hits[ev.own[0]].paper.title))
        missing = missing_detail(slot, retrieved, subj, self.acronyms)
        if missing and subj is not None:
            own = [j for j, c in enumerate(cands) if c.pick.hit == subj.hit]
            mine = [cands[j] for j in own]
            closest = quoting.choose(mine, probs[own], max_quotes=2)
            return Draft(f"{missing} [{subj.hit + 1}]\n{prose(closest)}".strip(), missing)
        bonus = self.roles(standalone or question, cands, retrieved) if self.roles is not None else None
        bonus = aspect_bonus(question, [c.text for c in cands], bonus)  # "... algorithm requirements"
        lead = subject_lead(cands, probs, slot, bonus, subj, [h.paper.title for h in retrieved.hits])
        probs = complete_lead(cands, probs, slot, lead, quoting.floor)
        chosen = quoting.choose(cands, probs, lead, self.max_quotes)
        text = prose(chosen)
        if ev.others:  # the other papers the question points at: what each says on the asked point
            text = "\n".join([text, listing({p.hit: [p] for p in ev.others}, retrieved)])
        first = chosen[0].hit if chosen else None
        return headed(text, first, ev, retrieved, self.acronyms, self.weights.list_min_score)

    def stream(
        self, question: str, retrieved: Retrieved, history: Sequence[dict[str, str]]
    ) -> Iterator[str | Answer]:
        t0 = time.perf_counter()
        standalone = retrieved.query if history else ""
        question = restated(question, history, self.is_name, self.names_paper) or question  # "what about RLHF?"
        retrieved = listed_first(question, retrieved, history)  # "which one ...?" after a list: a listed paper
        plain = without_switch(question)  # "never mind, what is WINA?" asks what "what is WINA?" asks
        analysis = replace(analyse(plain), text=question)  # its words, opener included, still weigh the quotes
        them = asks_which_is_better(question) and len(referents(question, history)) >= 2  # "which one is better?"
        named = self.plainly_named(plain, replace(analysis, text=plain), retrieved, history)
        overruled = analysis.kind == "comparison" or bool(analysis.record) or them or named
        rescued = not overruled and self.rescues(question, analysis, retrieved, history)
        answerable = retrieved.hits and not (retrieved.abstain and not overruled and not rescued)
        ev = self.evidence(question, retrieved, standalone, history, analysis, rescued) if answerable else None
        no_paper = ev is not None and bool(analysis.record) and ev.record_hit is None  # "Who wrote <not here>?"
        if ev is None or no_paper or (retrieved.abstain and not named and not rescued and not ev.answered_anyway):
            yield ABSTENTION
            yield abstention(question, retrieved, self.name)
            return
        draft = self.drafted(ev, retrieved, standalone)
        t1 = time.perf_counter()
        checked = check_answer(draft.text, [h.paper for h in retrieved.hits], self.embedder)
        timings = {"answer": t1 - t0, "check": time.perf_counter() - t1}
        yield checked.text
        yield checked_answer(question, checked, self.name, retrieved, timings, not_stated=draft.not_stated,
                             kind=analysis.kind)
