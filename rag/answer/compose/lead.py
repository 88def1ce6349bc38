"""Answer-first: which piece leads a prose answer (the filler of the question's slot), in what order the
supporting pieces follow, and when the answer must say the abstract does not state the asked detail.

``RoleOrder`` is the hook for a sentence-role predictor (challenge / approach / outcome): given one, "how does X
work" leads with approach pieces and "what did X find" with outcome pieces; without one, the slot rules decide."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from rag.answer.compose.analysis import Question
from rag.answer.compose.definitions import defines
from rag.answer.compose.pieces import Piece
from rag.answer.compose.record import names_by_title
from rag.answer.compose.slots import SPECIFIC, Slot, fills, head_noun
from rag.answer.compose.stated import quantity_stated, unit_missing
from rag.answer.notes import not_stated_sentence, unmentioned_sentence
from rag.text import STOPWORDS, named_entities, names_word, short_title, singular, tokenize
from rag.types import Paper, Retrieved

_NO_ACRONYMS: Mapping[str, Collection[str]] = MappingProxyType({})
"""No acronym table: only names as written count as mentioned."""

RoleOrder = Callable[[str, Sequence[Piece], Retrieved], Sequence[float]]
"""A role predictor's preference: for the question, the candidate pieces and the retrieved papers, a lead bonus
per piece (0: none). ``rag.answer.roles.RoleBook.order`` (fitted on ACLSum) supplies one; the composer works
without it."""

@dataclass(frozen=True, slots=True)
class Subject:
    """The paper a question is about: hit index and the name the answer calls it by."""

    hit: int
    name: str


def subject(question: str, retrieved: Retrieved, depth: int = 2) -> Subject | None:
    """The best-ranked of the first ``depth`` hits that the question names: one of its named entities (stemmed)
    is in the paper's title or abstract, or a rare question word is in its title. None when the question names
    none of them (then the answer cannot be about "its" abstract)."""
    names = named_entities(question)
    q_tokens = [t for t in tokenize(question) if t not in STOPWORDS and len(t) >= 5]
    for h, hit in enumerate(retrieved.hits[:depth]):
        text = set(tokenize(f"{hit.paper.title} {hit.paper.abstract}"))
        title = set(tokenize(hit.paper.title))
        for name in (n for n in names if sum(c.isalpha() for c in n) >= 3):
            stems = set(tokenize(name))
            if stems and stems <= text and (stems & title or (len(stems) == 1 and coined(name))):
                own = coined(name) and name.lower() in short_title(hit.paper.title).lower()  # not "LLM" of CHESS
                return Subject(h, name if own else short_title(hit.paper.title))
        title_words = [t for t in q_tokens if t in title and _rare(t, retrieved)]
        if title_words and h == 0:
            return Subject(h, short_title(hit.paper.title))
    return None


def coined(name: str) -> bool:
    return any(c.isupper() for c in name[1:]) or any(c.isdigit() for c in name)


def coined_names(text: str, letters: int = 0) -> list[str]:
    """The coined names ``text`` gives (``named_entities`` that are ``coined``), those with at least ``letters``
    letters."""
    return [n for n in named_entities(text) if coined(n) and sum(c.isalpha() for c in n) >= letters]


def _rare(token: str, retrieved: Retrieved) -> bool:
    """A word in at most one retrieved title (a paper's own name, not a topic word)."""
    return sum(token in set(tokenize(h.paper.title)) for h in retrieved.hits) <= 1


def missing_detail(slot: Slot, retrieved: Retrieved, subj: Subject | None) -> str:
    """The not-stated sentence when the subject's abstract holds no filler of a specific slot: the asked
    detail's head noun is nowhere in it, a quantity is asked and no sentence gives a number of it
    (``quantity_stated``), or a name the question gives besides the subject (a dataset, a benchmark) is in none of
    the retrieved abstracts. "" otherwise."""
    if subj is not None and slot.kind == "code":  # no link, no "code is available": it does not say
        paper = retrieved.hits[subj.hit].paper
        return "" if fills(slot, paper.abstract) else not_stated_sentence(subj.name, "where its code is")
    if subj is None or slot.kind not in SPECIFIC or not head_noun(slot):
        return ""
    paper = retrieved.hits[subj.hit].paper
    detail = _detail_phrase(slot, subj.name)
    if unit_missing(slot, f"{paper.title} {paper.abstract}"):
        return not_stated_sentence(subj.name, detail)
    if slot.kind == "quantity" and not quantity_stated(slot, paper.abstract):
        return not_stated_sentence(subj.name, detail)
    everywhere = " ".join(f"{h.paper.title} {h.paper.abstract}" for h in retrieved.hits).lower()
    for name in slot.entities:
        if coined(name) and name.lower() not in subj.name.lower() and not _named_in(name, everywhere):
            return not_stated_sentence(subj.name, f"{detail} for {name}")
    return ""


def unmentioned(question: str, retrieved: Retrieved, spelled: Mapping[str, Collection[str]] = _NO_ACRONYMS) -> str:
    """The note for a question whose coined names (``SeerAttention-R``, ``GSM8K``: a capital after the first
    letter or a digit) are in none of the retrieved abstracts, e.g. "CaseHOLD is not stated in any retrieved
    abstract."; "" when the question has no such name or one of them is mentioned."""
    names = coined_names(question, 3)
    everywhere = " ".join(f"{h.paper.title} {h.paper.abstract}" for h in retrieved.hits).lower()
    if not names or any(_mentioned(n, everywhere, spelled) for n in names):
        return ""
    return unmentioned_sentence(names)


def _mentioned(name: str, text: str, spelled: Mapping[str, Collection[str]]) -> bool:
    """Whether a coined name is in ``text`` (lower case): as written (``_named_in``), without its hyphens ("GPT4"
    for "GPT-4"), or spelled out as the corpus defines it (``spelled``: the mined acronym table, "MoE" ->
    "mixture of experts", so "mixture-of-experts layers" mention MoE)."""
    return (_named_in(name, text) or _named_in(name.replace("-", ""), text.replace("-", ""))
            or _spelled_out(name, text, spelled))


def _spelled_out(name: str, text: str, spelled: Mapping[str, Collection[str]]) -> bool:
    """Whether ``text`` (lower case) holds a long form of the acronym ``name`` (``spelled``), hyphens as spaces."""
    flat = text.replace("-", " ")
    return any(long.replace("-", " ") in flat for long in spelled.get(singular(name).lower(), ()))


def unmentioned_in(
    question: str, retrieved: Retrieved, h: int, spelled: Mapping[str, Collection[str]] = _NO_ACRONYMS
) -> str:
    """For a follow-up about one paper ("does it work with MoE models?"), the note when none of the question's
    coined names is in that paper (hit ``h``): "The SeerAttention-R abstract does not state anything about MoE.
    [1]"; "" otherwise."""
    paper = retrieved.hits[h].paper
    own = f"{paper.title} {paper.abstract}".lower()
    names = coined_names(question, 3)
    if not names or any(_mentioned(n, own, spelled) for n in names):
        return ""
    return f"{not_stated_sentence(short_title(paper.title), 'anything about ' + ' or '.join(names))} [{h + 1}]"


_OWN = re.compile(r"\b(?:propos|introduc|present|call|dub|name|term|develop|design)\w*\b", re.IGNORECASE)
"""A sentence naming a method with one of these verbs may be the paper's own method, not a mention."""


_ASKED_ABOUT = re.compile(r"^\s*(?:how|why) (?:does|do|did|is|are|was|were|can|could) (?:the )?(?P<name>\S+)|"
                          r"^\s*what (?:is|are|was|were|does) (?:the )?(?P<name2>\S+)", re.IGNORECASE)
"""A question asked about its grammatical subject: "How does X ...", "What is X ..." (the only X checked)."""


def only_mentioned(question: str, slot: Slot, retrieved: Retrieved) -> str:
    """The note for a "how"/"why"/"what is" question whose subject ("How does X ...") is a coined method that the
    retrieved abstracts only mention: no retrieved title names it and no abstract sentence naming it says the
    paper proposes it ("we propose X", "X, called ..."). "" otherwise."""
    if slot.kind not in ("how", "why", "definition"):
        return ""
    asked = _ASKED_ABOUT.match(question)
    if not asked:
        return ""
    subject_word = asked.group("name") or asked.group("name2")
    for name in coined_names(f"x {subject_word}", 3):
        low = singular(name).lower()
        naming = [(h, s) for h, hit in enumerate(retrieved.hits) for s in _sentences_naming(hit.paper.abstract, low)]
        if not naming or any(low in h.paper.title.lower() for h in retrieved.hits):
            continue
        if not any(_OWN.search(s) or defines(name, s) for _, s in naming):  # no abstract introduces or defines it
            h = naming[0][0]
            what = {"how": f"how {name} works", "why": f"why, for {name}", "definition": f"what {name} is"}[slot.kind]
            return f"{not_stated_sentence(short_title(retrieved.hits[h].paper.title), what)} [{h + 1}]"
    return ""


def introduces(abstract: str, name: str) -> bool:
    """Whether ``abstract`` is about ``name`` rather than only mentioning it: it says the paper introduces it
    (``proposes``: "we propose X", "a method called X"), or two sentences name it ("X merges ...", "X converges
    ..."). "We develop a kernel that achieves speedups of up to 9x over FlashAttention-3" does not introduce
    FlashAttention."""
    return len(_sentences_naming(abstract, singular(name).lower())) >= 2 or proposes(abstract, name)


PROPOSE_REACH = 6
"""How many words may stand between the authors' introducing verb and the name it introduces ("we propose a
simple yet effective method, X")."""
_AUTHORS_VERB = (r"\b(?:we|this (?:paper|work))\s+(?:(?:\w+\s+){0,2}?|(?:\w+\s+){1,4}?to\s+)"
                 r"(?:propose|introduce|present|develop|design|devise|build|call|name|dub)(?:s|d|ed)?\b")
"""The authors' introducing verb: "we propose", "we also introduce", "this paper presents", "we use our framework
to propose"."""
_AUTHORS_INTRODUCE = re.compile(r"\b(?:we|this (?:paper|work))\s+(?:\w+\s+){0,2}?(?:propose|present|introduce|"
                                r"develop)s?\b", re.IGNORECASE)
"""A piece stating the paper's own contribution ("In this work, we present a new first-stage ranker ...")."""
_CALLED = (r"\b(?:called|named|dubbed|termed|coined)\s+(?:as\s+)?|\bour (?:proposed |new )?(?:approach|method|model|"
           r"framework|technique|algorithm|system),?\s+")
"""A name given: "a method called X", "our proposed approach, Loki, gains ..."."""
_APPOSED = (r"(?![A-Za-z0-9])(?!-[A-Za-z0-9])"
            r"(?=\s*(?:[,:;()\[\]]|[.!?]?\s*$|\s[-–—]\s|"
            r"\s+(?:which|that|to|for|as|a|an|in|on|with|using|by|via|through|based)\b))")
"""After the name: the end of its noun phrase ("X, a ...", "X (...)", "X which ...", "X for ...", the sentence's
end), not a longer word ("LoRAX"), a compound ("FlashAttention-3") or a noun it modifies ("the MoE backbone")."""


_NOT_AN_OBJECT = "".join(rf"(?<!\b{p}\s)" for p in ("of", "to", "on", "for", "from", "with", "over", "than", "into",
                                                    "like", "via", "upon"))
"""Before the name: no preposition ("we propose a hierarchical version of BERT" introduces no BERT)."""


def proposes(abstract: str, name: str) -> bool:
    """Whether ``abstract`` says the paper introduces ``name``: the authors' introducing verb ("we propose", "we
    introduce", "this paper presents") with the name at most ``PROPOSE_REACH`` words after it, or "called X",
    "named X", and the name ends its noun phrase there (``_APPOSED``). "Our proposed method over RNN, CNN, GNN",
    "in terms of GLUE", "the recently introduced LoRA", "we introduce a router decoupled from the MoE
    backbone" and "we propose a hierarchical version of BERT" introduce none of those names."""
    low = re.escape(singular(name).lower())
    near = re.compile(rf"(?:{_AUTHORS_VERB}(?:\W+\S+){{0,{PROPOSE_REACH}}}?\W+|{_CALLED}\W*){_NOT_AN_OBJECT}{low}"
                      rf"{_APPOSED}", re.IGNORECASE)
    return any(near.search(s) for s in _sentences_naming(abstract, singular(name).lower()))


def _sentences_naming(abstract: str, low: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", abstract) if names_word(s, low)]  # not "LoRA-BAM" for LoRA


def _named_in(name: str, text: str) -> bool:
    """Whether a coined name (a dataset, a benchmark) is in ``text`` (lower case): one of its words of three or
    more characters that is not a number is."""
    parts = [p for p in re.split(r"[^a-z0-9]+", singular(name).lower()) if len(p) >= 3 and not p.isdigit()]
    return not parts or any(re.search(rf"\b{re.escape(p)}", text) for p in parts)


def _detail_phrase(slot: Slot, name: str) -> str:
    detail = re.sub(rf"^{re.escape(name)}(?:'s|’s)?\s+", "", slot.detail.strip(), flags=re.IGNORECASE)
    detail = re.sub(r"^(?:the|its|their)\s+", "", detail, flags=re.IGNORECASE)
    if not detail or not head_noun(slot):
        return "the asked detail"
    return f"the {detail}"


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
    if not fit and slot.kind == "definition":
        fit = _defining(cands, [j for j in range(len(cands)) if probs[j] >= floor], slot, titles)
    if not fit:
        return None
    return max(fit, key=lambda j: (probs[j] + bonus[j], -len(cands[j].text.split()), -j))


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
    titled = [j for j in able if _is_short_name(term, title[j]) and _AUTHORS_INTRODUCE.search(cands[j].text)]
    return in_definition or in_its_paper or naming or titled or able


def _is_short_name(term: str, title: str) -> bool:
    """Whether ``term`` is the short name of ``title`` ("SPLADE" of "SPLADE: Sparse Lexical and Expansion Model
    ..."): a name only the title gives, which the paper's "we present ..." then defines."""
    return bool(term) and term.lower() == short_title(title).lower()


def subject_lead(cands: Sequence[Piece], probs: Sequence[float] | np.ndarray, slot: Slot,
                 bonus: Sequence[float] | None, subj: Subject | None, titles: Sequence[str] = ()) -> int | None:
    """``lead_index``, kept to the pieces of the paper the question names (``subject``): the best of them that
    fills the slot, else its most probable piece. "What is the training cost of SENTINEL?" leads with SENTINEL's
    abstract, not with another paper's number. A definition the named paper does not give comes from the paper
    that gives it ("what does SAE stand for?": "Sparse Autoencoders (SAE)")."""
    lead = lead_index(cands, probs, slot, bonus, titles=titles)
    if subj is None or lead is None or cands[lead].pick.hit == subj.hit:
        return lead
    own = [j for j, c in enumerate(cands) if c.pick.hit == subj.hit]
    if not own or (slot.kind == "definition" and not any(fills(slot, cands[j].text) for j in own)):
        return lead  # "what does SAE stand for?": the paper that spells it out, when the named one does not
    extra = [bonus[j] for j in own] if bonus is not None else [0.0] * len(own)
    mine = lead_index([cands[j] for j in own], [probs[j] for j in own], slot, extra, titles=titles)
    if mine is None:  # none of its pieces fills the slot: still its best piece, not another paper's filler
        mine = max(range(len(own)), key=lambda i: (probs[own[i]] + extra[i], -i))
    return own[mine]


def names_its_paper(analysis: Question, retrieved: Retrieved, spelled: Mapping[str, Collection[str]] = _NO_ACRONYMS
                    ) -> bool:
    """Whether a question asks only what a paper is, by the paper's own coined name, and the first hit is that
    paper: the name heads its title (as written, or spelled out by the corpus's acronym table, ``spelled``: "SAM"
    for "Sharpness-Aware Minimization") or its abstract proposes it ("What is SPLADE?", "LinearAG", "what paper
    proposes LinearAG?", "what does SAM stand for?"). Such a question is answered although the abstention model
    doubts it (it refused a reviewer's "SPLADE" and "what is splade" with the SPLADE paper first). Any other word
    ("SPLADE training time", "What is the release date of LinearAG?") leaves it to the model, and so does a name the
    title only ends with ("NER" of "... for Biomedical NER")."""
    if not retrieved.hits:
        return False
    names = coined_names(analysis.text, 3) or [  # "What is Loki?": a capitalised name the first abstract proposes
        n for n in named_entities(analysis.text) if proposes(retrieved.hits[0].paper.abstract, n)]
    if not names or any(_DESCRIBING.search(n) for n in names):
        return False
    rest = {t for t in tokenize(analysis.text) if t not in STOPWORDS and t not in _ASKING_WHAT}
    if rest - {t for n in names for t in tokenize(n)}:
        return False
    return all(its_name(n, retrieved.hits[0].paper, spelled) for n in names)


_ASKING_WHAT = frozenset(tokenize(
    "what which who is are does do stand stands for mean means define explain describe summarize summarise summary "
    "overview tell me about paper papers method model propose proposes proposed introduce introduces introduced "
    "the a an of"
))
"""The words of a question that asks only what something is or which paper it is."""
_DESCRIBING = re.compile(r"-(?:based|driven|guided|style|like|free|aware|specific|only|level|augmented|generated)$",
                         re.IGNORECASE)
"""A coined word ending like this describes ("LLM-generated text"), it names no paper."""


def its_name(name: str, paper: Paper, spelled: Mapping[str, Collection[str]]) -> bool:
    """Whether ``name`` is the paper's own: a word of its title's head (before a colon, or its first four words),
    its long form in the title, or a name its abstract proposes."""
    title = paper.title.lower()
    head = title.split(":", 1)[0] if ":" in title else " ".join(title.split()[:4])
    return bool(re.search(rf"(?<![\w-]){re.escape(name.lower())}(?![\w-])", head)) or proposes(
        paper.abstract, name) or _spelled_out(name, title, spelled)


def own_subject(question: str, retrieved: Retrieved) -> Subject | None:
    """The paper the question names (``subject``) when the question names it alone: each coined name it gives is
    in that paper's title or proposed by its abstract, or, with no coined name, its other words are the title's
    (``names_by_title``). "Who wrote the BERT paper?" is not asked of a paper that only compares with BERT, and
    "Who wrote TabPFN, and when was DIMAT published?" of neither."""
    subj = subject(question, retrieved)
    names = coined_names(question)
    if subj is None and not names and retrieved.hits:  # "the legal judgment prediction paper": two titles say so
        subj = Subject(0, short_title(retrieved.hits[0].paper.title))
    if subj is None:
        return None
    paper = retrieved.hits[subj.hit].paper
    if not names:  # "Who wrote the sparsemax paper?": its title's words
        return subj if names_by_title(question, paper.title) else None
    own = all(n.lower() in paper.title.lower() or proposes(paper.abstract, n) for n in names)  # one paper's names
    return subj if own else None


def complete_lead(cands: Sequence[Piece], probs: Sequence[float] | np.ndarray, slot: Slot, lead: int | None,
                 floor: float) -> np.ndarray:
    """``probs`` with the pieces of the lead's sentence that complete it raised to the best (at least ``floor``),
    so that the answer keeps them next: for a quantity, those holding a filler ("... exceeds the 8B
    Transformer on all 12 standard tasks" keeps "(+2.65 points on average)"); for a definition whose lead ends with
    the term, the piece after it ("... - early dropout:" keeps "dropout is applied only during the initial
    phases")."""
    out = np.array(probs, dtype=np.float64)
    if lead is None or slot.kind not in ("quantity", "definition"):
        return out
    key = (cands[lead].pick.hit, cands[lead].pick.index)
    same = [j for j, c in enumerate(cands) if (c.pick.hit, c.pick.index) == key]
    if slot.kind == "quantity":
        completing = [j for j in same if fills(slot, cands[j].text)]
    else:
        ends = slot.detail and re.search(rf"{re.escape(slot.detail)}\W*$", cands[lead].text, re.IGNORECASE)
        completing = [j for j in same if cands[j].start == cands[lead].end] if ends else []
    top = max(float(out.max()), floor)
    for j in completing:
        out[j] = top
    return out
