"""Answer-first: which piece leads a prose answer (the filler of the question's slot), in what order the
supporting pieces follow, and when the answer must say the abstract does not state the asked detail.

``RoleOrder`` is the hook for a sentence-role predictor (challenge / approach / outcome): given one, "how does X
work" leads with approach pieces and "what did X find" with outcome pieces; without one, the slot rules decide."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np

from rag.answer.compose.absent import unowned_paper
from rag.answer.compose.definitions import defines
from rag.answer.compose.draft import Draft, Evidence
from rag.answer.compose.naming import (
    AUTHORS_INTRODUCE,
    NO_ACRONYMS,
    Subject,
    coined,
    coined_names,
    named_things,
    proposes,
    sentences_naming,
    title_line,
)
from rag.answer.compose.pieces import Piece
from rag.answer.compose.slots import SPECIFIC, Slot, fills, head_noun
from rag.answer.compose.stated import (
    duration_stated,
    mentioned,
    named_in,
    names_stated,
    own_names,
    quantity_stated,
    unit_missing,
    unstated_setting,
)
from rag.answer.notes import not_stated_sentence, unmentioned_sentence, unowned_sentence
from rag.text import has_digit, short_title, singular, strip_markers
from rag.types import Retrieved

RoleOrder = Callable[[str, Sequence[Piece], Retrieved], Sequence[float]]
"""A role predictor's preference: for the question, the candidate pieces and the retrieved papers, a lead bonus
per piece (0: none). ``rag.answer.roles.RoleBook.order`` (fitted on ACLSum) supplies one; the composer works
without it."""


def missing_detail(slot: Slot, retrieved: Retrieved, subj: Subject | None,
                   spelled: Mapping[str, Collection[str]] = NO_ACRONYMS) -> str:
    """The not-stated sentence when the subject's abstract holds no filler of a specific slot: the asked
    detail's head noun is nowhere in it, a quantity is asked and no sentence gives a number of it
    (``quantity_stated``), "how long" is asked and no sentence gives a duration (``duration_stated``), or a name the
    question gives besides the subject (a dataset, a benchmark) is in none of the retrieved abstracts. A question
    without an asked noun ("maxsup imagenet resnet-50 gain") is not stated when a coined name it gives besides the
    subject is not in the subject's own title and abstract (as written, without hyphens, or spelled out:
    ``spelled``). "" otherwise."""
    if subj is not None and slot.kind == "code":  # no link, no "code is available": it does not say
        paper = retrieved.hits[subj.hit].paper
        return "" if fills(slot, paper.abstract) else not_stated_sentence(subj.name, "where its code is")
    if subj is not None and not duration_stated(slot, retrieved.hits[subj.hit].paper.abstract):
        return not_stated_sentence(subj.name, "how long it takes")
    if subj is None or slot.kind not in SPECIFIC:
        return ""
    paper = retrieved.hits[subj.hit].paper
    if not names_stated(slot, paper.title, paper.abstract, f"{retrieved.query} {subj.name}", subj.name):
        return not_stated_sentence(subj.name, _names_phrase(slot, subj.name))
    own = f"{paper.title} {paper.abstract}".lower()
    if not head_noun(slot):  # the question's own names, not those a follow-up's query carries from the chat
        absent = [n for n in own_names(slot) if n.lower() not in subj.name.lower() and n.lower() != _asked_class(
            slot.detail) and not mentioned(n, own, spelled)]  # "which LLM ...": the asked class is no name to look for
        return not_stated_sentence(subj.name, "anything about " + " or ".join(absent)) if absent else ""
    detail = _detail_phrase(slot, subj.name)
    if unit_missing(slot, f"{paper.title} {paper.abstract}"):
        return not_stated_sentence(subj.name, detail)
    if slot.kind == "quantity" and not quantity_stated(slot, paper.abstract):
        return not_stated_sentence(subj.name, detail)
    everywhere = " ".join(f"{h.paper.title} {h.paper.abstract}" for h in retrieved.hits).lower()
    for name in own_names(slot):  # "R1-style" names R1
        if name.lower() not in subj.name.lower() and not named_in(name, everywhere):
            return not_stated_sentence(subj.name, f"{detail} for {name}")
    setting = unstated_setting(slot, retrieved.query, subj.name, own, spelled)
    return not_stated_sentence(subj.name, f"{detail} {setting}") if setting else ""


def _asked_class(detail: str) -> str:
    """The word naming what a "which ..." question asks for, lower case: "llm" of "which LLM ...", "" for none."""
    words = detail.lower().split()
    return words[-1] if words else ""


def unmentioned(question: str, retrieved: Retrieved, spelled: Mapping[str, Collection[str]] = NO_ACRONYMS,
                asked: str = "") -> str:
    """The note for a question whose coined names (``SeerAttention-R``, ``GSM8K``: a capital after the first
    letter or a digit) are in none of the retrieved abstracts, e.g. "CaseHOLD is not stated in any retrieved
    abstract."; "" when the question has no such name or one of them is mentioned. The last word of ``asked`` (the
    asked detail: "LLM" of "which LLM ...") is what is asked for, not a name given."""
    names = [n for n in named_things(question, 3) if n.lower() != _asked_class(asked)]
    everywhere = " ".join(f"{h.paper.title} {h.paper.abstract}" for h in retrieved.hits).lower()
    if not names or any(mentioned(n, everywhere, spelled) for n in names):
        return ""
    return unmentioned_sentence(names)


def unmentioned_in(
    question: str, retrieved: Retrieved, h: int, spelled: Mapping[str, Collection[str]] = NO_ACRONYMS
) -> str:
    """For a follow-up about one paper ("does it work with MoE models?"), the note when none of the question's
    coined names is in that paper (hit ``h``): "The SeerAttention-R abstract does not state anything about MoE.
    [1]"; "" otherwise."""
    paper = retrieved.hits[h].paper
    own = f"{paper.title} {paper.abstract}".lower()
    names = named_things(question, 3)
    if not names or any(mentioned(n, own, spelled) for n in names):
        return ""
    return f"{not_stated_sentence(short_title(paper.title), 'anything about ' + ' or '.join(names))} [{h + 1}]"


_ASKED_ABOUT = re.compile(r"^\s*(?:how|why) (?:does|do|did|is|are|was|were|can|could) (?:the )?(?P<name>\S+)|"
                          r"^\s*what (?:is|are|was|were|does) (?:the )?(?P<name2>\S+)", re.IGNORECASE)
"""A question asked about its grammatical subject: "How does X ...", "What is X ..." (the only X checked)."""


def only_mentioned(question: str, slot: Slot, retrieved: Retrieved) -> str:
    """The note for a "how"/"why"/"what is" question whose subject ("How does X ...") is a coined method that the
    retrieved abstracts only mention: no retrieved title names it and no abstract sentence naming it says the
    paper proposes it ("we propose X", "X, called ...") or defines it (for "how" and "why", not by its long form
    alone). "" otherwise."""
    if slot.kind not in ("how", "why", "definition"):
        return ""
    asked = _ASKED_ABOUT.match(question)
    if not asked:
        return ""
    subject_word = asked.group("name") or asked.group("name2")
    for name in coined_names(f"x {subject_word}", 3):
        low = singular(name).lower()
        naming = [(h, s) for h, hit in enumerate(retrieved.hits) for s in sentences_naming(hit.paper.abstract, low)]
        if not naming or any(low in h.paper.title.lower() for h in retrieved.hits):
            continue
        spelled_out = slot.kind == "definition"  # "… pretraining (CLIP)" says what CLIP is, not how it was trained
        if not any(proposes(s, name) or defines(name, s, spelled_out) for _, s in naming):  # none introduces it
            h = naming[0][0]
            what = {"how": f"how {name} works", "why": f"why, for {name}", "definition": f"what {name} is"}[slot.kind]
            return f"{not_stated_sentence(short_title(retrieved.hits[h].paper.title), what)} [{h + 1}]"
    return ""


def _detail_phrase(slot: Slot, name: str) -> str:
    detail = re.sub(rf"^{re.escape(name)}(?:'s|’s)?\s+", "", slot.detail.strip(), flags=re.IGNORECASE)
    detail = re.sub(r"^(?:the|its|their)\s+", "", detail, flags=re.IGNORECASE)
    if not detail or not head_noun(slot):
        return "the asked detail"
    return f"the {detail}"


def _names_phrase(slot: Slot, name: str) -> str:
    """What a "which datasets" question asks, as it reads after "does not state": "the names of the four
    real-world datasets", "the name of the pre-trained dense LLM"."""
    detail = _detail_phrase(slot, name).removeprefix("the ")
    if detail == "asked detail":
        detail = slot.detail or "asked model"
    last = detail.split()[-1].lower()
    plural = last in ("corpora", "data") or (last.endswith("s") and not last.endswith(("ss", "us", "is")))
    return f"the name{'s' if plural else ''} of the {detail}"


def lead_index(cands: Sequence[Piece], probs: Sequence[float] | np.ndarray, slot: Slot,
               bonus: Sequence[float] | None = None, floor: float = 0.0, titles: Sequence[str] = ()) -> int | None:
    """The piece an answer leads with: the most probable piece (``probs``, plus a role bonus) of those that hold
    a filler of ``slot`` and reach ``floor`` (for "What is X?", those that define X, when any does); the shorter
    piece on a tie. None when no piece fills the slot."""
    if not cands:
        return None
    bonus = list(bonus) if bonus is not None else [0.0] * len(cands)
    names = frozenset(n.lower() for n in slot.entities)
    fit = [j for j, c in enumerate(cands) if probs[j] >= floor and fills(slot, c.text, names)]
    if slot.kind == "how" and slot.detail and not any(map(coined, slot.entities)):  # "how does early dropout
        # work?", "How do Integrated Gradients work?": the piece that introduces the term leads ("How does DIMAT
        # work?" is left to the subject rules: how it runs, not "we introduce DIMAT")
        naming = [j for j in range(len(cands)) if probs[j] >= floor and _introduces(cands[j], slot.detail)]
        fit = [j for j in fit if j in naming] or naming or fit
    if not fit and slot.kind == "definition":
        fit = _defining(cands, [j for j in range(len(cands)) if probs[j] >= floor], slot, titles)
    if not fit:
        return None
    return max(fit, key=lambda j: (probs[j] + bonus[j], -len(cands[j].text.split()), -j))


def _introduces(piece: Piece, term: str) -> bool:
    """Whether ``piece`` names ``term`` (lower case) in a sentence that defines or proposes it ("... - early dropout:
    dropout is applied only during ..."); "I-Con can be used to derive ..." only uses it."""
    return term in piece.text.lower() and (defines(term, piece.pick.text) or proposes(piece.pick.text, term))


def _defining(cands: Sequence[Piece], able: list[int], slot: Slot, titles: Sequence[str]) -> list[int]:
    """For a definition no piece gives by itself, the pieces that may lead, first kind found: those naming the term
    in a sentence that defines it ("we propose the concept of sentence-wise core neurons" of "..., which refers
    to ..."), those naming it in a paper whose title names it, those naming it ("Our approach, T-JEPA, relies on
    ..."), for a name only the title gives the paper's "we present ..." ("what is SPLADE?"), else any."""
    term = slot.detail.lower()
    title = [titles[c.pick.hit].lower() if c.pick.hit < len(titles) else "" for c in cands]
    naming = [j for j in able if term and term in cands[j].text.lower()]
    in_definition = [j for j in naming if fills(slot, cands[j].pick.text)]
    in_its_paper = [j for j in naming if term in title[j]]  # "label smoothing": MaxSup's, not a reward model's
    titled = [j for j in able if _is_short_name(term, title[j]) and AUTHORS_INTRODUCE.search(cands[j].text)]
    return in_definition or in_its_paper or naming or titled or able


def _is_short_name(term: str, title: str) -> bool:
    """Whether ``term`` is the short name of ``title`` ("SPLADE" of "SPLADE: Sparse Lexical and Expansion Model
    ..."): a name only the title gives, which the paper's "we present ..." then defines."""
    return bool(term) and term.lower() == short_title(title).lower()


def subject_lead(cands: Sequence[Piece], probs: Sequence[float] | np.ndarray, slot: Slot,
                 bonus: Sequence[float] | None, subj: Subject | None, titles: Sequence[str] = ()) -> int | None:
    """``lead_index``, kept to the pieces of the paper the question names (``subject``): the best of them that
    fills the slot, else its most probable piece; when no piece of any paper fills it, the most probable piece of
    its best-scored sentence ("How well does SPLADE perform?" gives no score: SPLADE's sentence leads, not another
    paper's). "What is the training cost of SENTINEL?" leads with SENTINEL's abstract, not with another paper's
    number. A definition the named paper does not give comes from the paper that gives it ("what does SAE stand
    for?": "Sparse Autoencoders (SAE)")."""
    lead = lead_index(cands, probs, slot, bonus, titles=titles)
    if subj is None or (lead is not None and cands[lead].pick.hit == subj.hit):
        return lead
    own = [j for j, c in enumerate(cands) if c.pick.hit == subj.hit]
    if not own or (slot.kind == "definition" and not any(fills(slot, cands[j].text) for j in own)):
        return lead  # "what does SAE stand for?": the paper that spells it out, when the named one does not
    if lead is None:  # no piece fills the slot: the named paper's best sentence leads, as another's would have
        best = cands[own[0]].pick
        return max((j for j in own if cands[j].pick is best), key=lambda j: (probs[j], -j))
    extra = [bonus[j] for j in own] if bonus is not None else [0.0] * len(own)
    mine = lead_index([cands[j] for j in own], [probs[j] for j in own], slot, extra, titles=titles)
    if mine is None:  # none of its pieces fills the slot: still its best piece, not another paper's filler
        mine = max(range(len(own)), key=lambda i: (probs[own[i]] + extra[i], -i))
    return own[mine]


def complete_lead(cands: Sequence[Piece], probs: Sequence[float] | np.ndarray, slot: Slot, lead: int | None,
                 floor: float) -> np.ndarray:
    """``probs`` with the pieces of the lead's sentence that complete it raised to the best (at least ``floor``),
    so that the answer keeps them next: for a quantity, those holding a filler ("... exceeds the 8B
    Transformer on all 12 standard tasks" keeps "(+2.65 points on average)") or a number right after it; for a
    definition whose lead ends with the term (or a "how does X work?" lead ending with X), the piece after it
    ("... - early dropout:" keeps "dropout is applied only during the initial phases")."""
    out = np.array(probs, dtype=np.float64)
    if lead is None or slot.kind not in ("quantity", "definition", "how"):
        return out
    key = (cands[lead].pick.hit, cands[lead].pick.index)
    same = [j for j, c in enumerate(cands) if (c.pick.hit, c.pick.index) == key]
    if slot.kind == "quantity":  # or the value set against it ("of 0.006" ", whereas RelP reaches 0.956")
        after = cands[lead].end
        completing = [j for j in same if fills(slot, cands[j].text) or (cands[j].start == after
                                                                         and has_digit(cands[j].text))]
    else:
        ends = slot.detail and re.search(rf"{re.escape(slot.detail)}\W*$", cands[lead].text, re.IGNORECASE)
        completing = [j for j in same if cands[j].start == cands[lead].end] if ends else []
    top = max(float(out.max()), floor)
    for j in completing:
        out[j] = top
    return out


def headed(text: str, first: int | None, ev: Evidence, retrieved: Retrieved,
           spelled: Mapping[str, Collection[str]], sure_score: float) -> Draft:
    """A prose answer ``text`` (its first quote from hit ``first``) under the note that heads it, if any: what the
    one paper a follow-up points at does not state (``unmentioned_in``), the question's names no retrieved abstract
    has (``unmentioned``), a name the abstracts only mention (``only_mentioned``), else the paper's title for "is
    there a paper on ..." or "which paper ..." (``title_line``; "Yes:" only above ``sure_score``)."""
    question, slot = ev.analysis.text, ev.analysis.slot
    absent = unmentioned_in(question, retrieved, ev.own[0], spelled) if len(ev.own) == 1 else ""
    if absent:
        return Draft(f"{absent}\n{text}", strip_markers(absent))
    absent = unmentioned(question, retrieved, spelled, slot.detail)
    if absent:
        return Draft(f"{absent}\n{text}", absent)
    mention = only_mentioned(question, slot, retrieved)
    if mention:
        return Draft(f"{mention}\n{text}", strip_markers(mention))
    paper = unowned_paper(question, retrieved, spelled)
    if paper:
        return Draft(f"{unowned_sentence(paper)}\n{text}", unowned_sentence(paper))
    named = title_line(question, retrieved, slot.kind == "existence", first, sure_score) if first is not None else ""
    return Draft(f"{named} [{first + 1}]\n{text}" if named and first is not None else text)
