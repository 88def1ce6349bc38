"""What a question asks for: its slot (a quantity, a dataset, hardware, a name, a reason ...), the detail it names,
and whether a piece of evidence holds a filler of that slot.

The composer leads its answer with the shortest piece that fills the slot (``rag.answer.compose.lead``), and
says the abstract "does not state" the detail when the question's subject is retrieved but nothing fills it.
The rules are general (question wording, number and name shapes), not fitted to any eval set."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.compose.chat import asked_term_words
from rag.answer.compose.definitions import asks_definition, defined_term, defines
from rag.answer.compose.quantities import (
    asks_number,
    asks_number_here,
    number_fills,
    quantity_traits,
    typed_count,
)
from rag.answer.compose.selection import says_where_code_is
from rag.text import QUESTION_WORDS, STOPWORDS, named_entities, tokenize

_PART_BREAK = re.compile(
    r",?\s+and\s+(?=(?:how|what|which|who|why|when|where|does|do|did|is|are|was|were|can|could|its|their|the)\b)"
    r"|\?\s*|;\s+|,\s+(?=(?:how|what|which|and)\b)|(?<=[a-z])\.\s+(?=(?:How|What|Which|Who|Why|When|Where)\b)",
    re.IGNORECASE,
)


def question_parts(question: str) -> list[str]:
    """The parts a question asks about: "How much cost does X save, and how are the sets produced?" ->
    ``["How much cost does X save", "how are the sets produced"]`` (split before a second question word,
    at "?" and ";", and after a statement that sets the scene: "There's a framework that ... scheduling. Which LLM
    did it use?"); parts without a content word are dropped. A one-part question is its own part."""
    parts = [p.strip() for p in _PART_BREAK.split(question) if p and tokenize(p)]
    return parts or [question]

_HARDWARE = re.compile(r"\b(?:gpus?|tpus?|cpus?|hardware|device|devices|chips?|accelerators?|(?<!vector )machines?"
                       r"(?![- ](?:translation|learning|learned|learnt|reading|comprehension|unlearning|generated|"
                       r"intelligence|teaching|vision|text|human|written)))\b",
                       re.IGNORECASE)
_HARDWARE_FILLER = re.compile(
    r"\b(?:[AHVLT]\d{2,3}|A800|H800|RTX[\w -]{0,8}|TITAN(?: \w+)?|Jetson\w*|GPUs?|TPUs?(?:v\d)?|CPUs?|FPGAs?|"
    r"ASICs?|smartphones?|mobile (?:phones?|devices?)|edge devices?|Raspberry Pi|NPU|Apple M\d|Snapdragon)\b"
)
_DATASET = re.compile(r"\b(?:which|what)\b[^?.]{0,30}\b(?:datasets?|benchmarks?|corpus|corpora|tasks?|"
                      r"domains?|languages?(?!\s+models?\b))\b", re.IGNORECASE)
_NAME = re.compile(r"\b(?:which|what)\b[^?.]{0,30}\b(?:models?|llms?|backbones?|architectures?|methods?|"
                   r"optimi[sz]ers?|algorithms?|losses|loss|regulari[sz]ers?|encoders?|baselines?|licen[cs]e|"
                   r"library|framework|tool|language model|tokeni[sz]ers?|activation functions?|schedulers?)\b",
                   re.IGNORECASE)
_WHICH_PAPER = re.compile(r"\b(?:which|what)\s+(?:papers?|stud(?:y|ies)|works?|articles?)\b", re.IGNORECASE)
"""A question asking for a paper ("Which paper shows that language models tuned on ..."): the models, datasets or
tasks it goes on to describe are not what it asks for."""
_WHICH_ONE_PAPER = re.compile(
    r"^\W*(?:(?:so|and|ok|okay|also|anyway|never mind)\W+)?(?:in\s+)?"
    r"(?:which\s+(?:paper|study|work|article)|what\s+(?:paper|study|article))\b(?!\s+design)", re.IGNORECASE)
"""A question asking which one paper does something ("Which study finds ...?", "In which paper ..."), not a list
("which papers"), nor "what work has been done on ..." or "which study design ..."."""
_METRIC = re.compile(r"\b(?:which|what)\b[^?.]{0,20}\b(?:metrics?|measures?|criteri(?:on|a))\b", re.IGNORECASE)
_EXISTENCE = re.compile(  # "Is there a paper on ...", "Is there a way to ...", "Has anyone ..."
    r"(?:^|[:;.,]\s*)(?:is there|are there|was there|do(?:es)? (?:the corpus|you|any \w+) (?:have|contain|include)|"
    r"has (?:anyone|any paper|any work)|have (?:any|there been))\b[^?]*\b(?:papers?|works?|stud(?:y|ies)|"
    r"research|abstracts?|approach(?:es)?|methods?)\b|"
    r"(?:^|[:;.,]\s*)(?:is|are|was) there (?:(?:a|an|any|some)\s+)?(?:(?!(?:of|that|in|on|for|between|to|with|"
    r"over|from|by|about|than)\s)[\w-]+\s+){0,2}?(?:ways?|techniques?|algorithms?|models?|networks?|frameworks?|"
    r"datasets?|benchmarks?|collections?|corp(?:us|ora)|tools?|tricks?|modules?|systems?|theory|theories|results?|"
    r"analys[ie]s)\s+(?:to|that|which|for|of|where|built|trained|designed|based|using|with|in which)\b|"
    r"(?:^|[:;.,]\s*)(?:has|have|did) (?:anyone|anybody|someone) (?!else\b)",
    re.IGNORECASE,
)
_HOW = re.compile(r"^\s*how\b|\bhow (?:does|do|did|is|are|was|were)\b", re.IGNORECASE)
_WHY = re.compile(r"^\s*why\b|\bwhy (?:does|do|did|is|are)\b|\bwhat (?:causes|explains|is the reason)\b",
                  re.IGNORECASE)
_REASON = re.compile(r"\b(?:because|due to|since|caused by|owing to|stems? from|arises? from|as a result|"
                     r"leads? to|thus|therefore|hence|explain\w*|the reason)\b", re.IGNORECASE)
_APPROACH = re.compile(r"\b(?:we (?:propose|introduce|present|develop|design|use|train|learn|apply)|by |via |"
                       r"through |using |consists? of|based on|which (?:uses|learns|combines|replaces|adds))",
                       re.IGNORECASE)
_DETAIL = re.compile(
    r"^(?:\W*\w+\W+){0,2}?(?:how (?:much|many|large|big|fast|long|small|quickly|often)|what|which)\s+"
    r"(?P<detail>[^?,;]+?)(?=\s+(?:does|do|did|is|are|was|were|has|have|had|can|could|will|would|should|shall|"
    r"may|might|must|in|on|for|of|from|with|when|to|per|and|or|that|between|took|take|takes|participated|"
    r"participate|joined|remain|remained|exist|existed|appear|appeared|called|named|they|it|we|you)\b|[?,;]|$)",
    re.IGNORECASE,
)
_AUX = re.compile(r"^(?:does|do|did|is|are|was|were|has|have|had|can|could|will|would|much|many|(?:\w+ )?(?:paper|"
                  r"papers|work|works|study|studies|approach|method|one|ones|of them|of these|of those)\b)",
                  re.IGNORECASE)
"""A "detail" that opens like this is none: "what does ...", "which paper finds ..." asks for a paper, not a detail."""

_CODE = re.compile(r"\b(?:code|github|repo(?:sitory)?|source code|implementation)\b[^?.]{0,25}\b(?:available|"
                   r"released?|link|url|public|open[- ]source\w*)\b|\b(?:where|link|url|links)\b[^?.]{0,25}\b(?:code|"
                   r"github|repo(?:sitory)?|implementation)\b|\b(?:public|open[- ]source\w*|official|released?) "
                   r"(?:code|implementation|repo(?:sitory)?)\b|\bgithub\b(?! issues?\b)", re.IGNORECASE)
"""A question about where a paper's code is: "where is the code for MaxSup?", "is the code available?", "github
link for maxsup"; not "... when fixing real GitHub issues?"."""
KINDS = ("code", "quantity", "hardware", "dataset", "name", "metric", "existence", "definition", "how", "why", "lookup")
SPECIFIC = frozenset({"quantity", "hardware", "dataset", "name", "metric"})
"""Slots whose filler is a specific detail an abstract may leave out (these can be "not stated")."""


@dataclass(frozen=True, slots=True)
class Slot:
    """What the question asks for: ``kind`` (one of ``KINDS``), ``detail`` (the asked noun phrase as written,
    e.g. "GPU hours"), ``head`` (its stemmed content words) and the ``entities`` it names."""

    kind: str
    detail: str
    """The asked noun phrase; for "how does X work?" the term X in lower case."""
    head: tuple[str, ...]
    entities: tuple[str, ...]
    measure: str = ""
    """For a quantity asked by its adjective alone ("how fast", "how long", "how large"): ``speed``, ``time`` or
    ``size``, the kind of number that answers it (a ratio or a rate, a duration, a count or a size)."""
    of: tuple[str, ...] = ()
    """What a share is asked of: the stemmed words after "of" in "what fraction of attention heads ..." (a "%"
    states that fraction only in a sentence about them: ``unit_missing``)."""
    count: bool = False
    """For a quantity: whether the question asks for a value ("How many experts ...?", "What BLEU score does MAE
    reach?"), which an abstract that never gives a number of it does not state (``quantity_stated``)."""


def asked_detail(question: str) -> str:
    """The noun phrase after the question word ("How many GPU hours did ..." -> "GPU hours"); "" if none."""
    match = next((m for part in question_parts(question) if (m := _DETAIL.search(part))), None)
    if not match:
        return ""
    detail = re.sub(r"^(?:is|are|was|were)\s+(?:the\s+)?", "", match.group("detail").strip(), flags=re.I)
    if _AUX.match(detail):
        return ""
    detail = re.sub(r"^(?:about\s+)?(?:(?:the|its|their|a|an|kind of|type of|sort of)\s+)?", "", detail, flags=re.I)
    return detail if tokenize(detail) else ""


_QUOTED = re.compile(r'"[^"]{3,}"|“[^”]{3,}”')


def unquoted(question: str) -> str:
    """``question`` without what it quotes: a quoted title ("How does \"Statistical Machine Translation with a
    Factorized Grammar\" work?") says which paper, not what is asked (no hardware slot from "Machine")."""
    return _QUOTED.sub(" ", question)


_STATEMENT = re.compile(r"^[^?]*?(?<!\be\.g)(?<!\bi\.e)(?<!\bal)(?<!\bvs)(?<!\bcf)(?<!\bFig)(?<!\bEq)(?<!\bDr)"
                        r"[.!]\s+(?=\w)")
"""A leading sentence that states rather than asks: "I recall a paper showing that how well a classifier ... ."."""


def asking_part(question: str) -> str:
    """``question`` from its first asking sentence on: "I recall a paper showing that how well a classifier can
    say 'none of the above' tracks its accuracy. Which one is it?" asks "Which one is it?" (the statement says
    which paper, and its "how well" asks nothing). The whole question when it has no "?" after a statement."""
    rest = question
    while "?" in rest and (match := _STATEMENT.match(rest)) is not None and "?" in rest[match.end() :]:
        rest = rest[match.end() :]
    return rest


def _quantity_part(question: str) -> str:
    """The part of a question that asks for a number ("how much did it lower the refusal rate" of "What is
    likelihood displacement, and how much did it lower the refusal rate?"); the whole question if no one part does."""
    parts = question_parts(question)
    asking = [p for p in parts if asks_number_here(p)]
    return asking[0] if len(parts) > 1 and asking else question


def asks_for_a_paper(question: str) -> bool:
    """Whether ``question`` opens by asking which one paper does something: its answer names that paper first."""
    return _WHICH_ONE_PAPER.search(unquoted(question)) is not None


def slot_of(question: str) -> Slot:
    """The slot of ``question``: first match of existence, code, quantity, hardware, metric, dataset, name, why, how,
    definition; else ``lookup``; a quoted title does not count (``unquoted``). Keyword queries without a question
    word ("coreinfer speedup titan xp") still get a slot from their nouns."""
    bare = unquoted(asking_part(question))
    about_a_paper = _WHICH_PAPER.search(bare) is not None
    if _EXISTENCE.search(bare):
        kind = "existence"
    elif _CODE.search(bare):
        kind = "code"
    elif _HARDWARE.search(bare) and not re.search(r"\bhow (?:much|many)\b", bare, re.IGNORECASE):
        kind = "hardware"
    elif asks_number(bare):
        kind = "quantity"
    elif not about_a_paper and _METRIC.search(bare):
        kind = "metric"
    elif not about_a_paper and _DATASET.search(bare):
        kind = "dataset"
    elif not about_a_paper and _NAME.search(bare):
        kind = "name"
    elif _WHY.search(bare):
        kind = "why"
    elif _HOW.search(bare):
        kind = "how"
    elif asks_definition(bare):
        kind = "definition"
    else:
        kind = "lookup"
    asking = _quantity_part(bare) if kind == "quantity" else bare  # "What is X, and how much did it lower Y?"
    detail = (asked_detail(asking) if kind in SPECIFIC else defined_term(question) if kind == "definition"
              else " ".join(asked_term_words(bare)) if kind == "how" else "")  # "how does early dropout work?"
    if kind == "quantity" and not detail:  # "tabpfn parameter count prior"
        detail = typed_count(bare)
    head = tuple(tokenize(detail))
    measure, of, count = quantity_traits(bare, head) if kind == "quantity" else ("", (), False)
    return Slot(kind, detail, head, tuple(named_entities(question)), measure, of, count)


def fills(slot: Slot, text: str, question_names: frozenset[str] = frozenset()) -> bool:
    """Whether ``text`` (a piece or sentence) holds a filler of ``slot``: a number for a quantity (with the asked
    unit, e.g. "hours", when the question names one, and the kind of number its ``measure`` asks for: "how fast"
    wants a ratio or a rate, not "67 datasets"), a device for hardware, a name the question does not
    already give for a dataset, model or metric, a reason or an approach for "why"/"how". Definitions,
    existence and plain lookups are filled by any piece."""
    kind = slot.kind
    if kind == "code":  # a link, or "code is available at ..."
        return says_where_code_is(text)
    if kind == "quantity":  # "what about the speedup?" is answered by "up to 8x faster" (its measure, not its word)
        return number_fills(slot.head, slot.measure, text)
    if kind == "hardware":
        return _HARDWARE_FILLER.search(text) is not None
    if kind in ("dataset", "name", "metric"):
        known = question_names or frozenset(n.lower() for n in slot.entities)
        # its first word counts when coined ("CIFAR-100 and ...") but not for its capital ("This transformation ...")
        new = [n for n in named_entities(text) if n.lower() not in known]
        return bool(new) or bool(set(slot.head) & set(tokenize(text)))
    if kind == "definition" and slot.detail:
        return defines(slot.detail, text)
    if kind == "why":
        return _REASON.search(text) is not None
    if kind == "how":
        return _APPROACH.search(text) is not None
    return True


RATINGS = frozenset(("sota", "soa"))
"""Words that rate a result and name nothing ("the SOTA score improvement"): no asked noun, no name to look for."""
_GENERIC = frozenset(tokenize(
    "number result results performance value amount size total model models method methods use main new kind type "
    "paper papers data score scores improvement improvements gain gains count time share baseline baselines "
    "dataset datasets benchmark benchmarks task tasks metric metrics algorithm algorithms architecture backbone "
    "llm llms language languages approach approaches framework technique techniques way ways kind much many well "
    "faster slower quicker smaller larger bigger cheaper costlier better worse higher lower fewer less more longer "
    "shorter level levels threshold thresholds cutoff limit setting settings state-of-the-art " + " ".join(RATINGS)
))
"""Words too general to say which detail is asked; comparatives too ("How much faster is X?" asks for a ratio,
which "9x" or "230 times" states, not for the word "faster")."""


def head_noun(slot: Slot) -> str:
    """The stemmed noun the asked detail is about: its last word that is not generic ("GPU hours" -> "hour",
    "BLEU score" -> "bleu", "total parameter count" -> "paramet"); "" when every word is generic."""
    specific = [t for t in slot.head if t not in _GENERIC and t not in STOPWORDS and not t.isdigit()]
    return _SHORT_FOR.get(specific[-1], specific[-1]) if specific else ""


_SHORT_FOR = {tokenize(short)[0]: tokenize(long)[0] for short, long in (
    ("params", "parameters"), ("param", "parameter"), ("acc", "accuracy"), ("hrs", "hours"), ("imgs", "images"),
    ("dims", "dimensions"), ("dim", "dimension"), ("seqs", "sequences"), ("toks", "tokens"))}
"""Short forms users type, as the noun abstracts write ("how many trainable params" is stated by "fewer than 1M
trainable parameters")."""


_WRITTEN_OUT = QUESTION_WORDS | frozenset(("in", "tell", "explain", "describe", "compare", "list", "give", "show",
                                           "find", "search", "looking", "please", "i", "any", "papers", "paper"))
"""First words of a question or request written out ("Find work on ..."), not typed as keywords."""
TYPED_ASPECT_WEIGHT = 0.6
"""What holding a keyword query's last word (``typed_aspect``) adds to a piece's probability when the lead is
chosen. Chosen on fitting data only (``evals/kw_fit.jsonl``, the other ``*_fit`` sets unchanged): first 40 words
18 / 28 at 0, 20 at 0.2, 22 at 0.3 to 1.0; the middle of that flat optimum (docs/evaluation.md, thirteenth pass)."""


def typed_aspect(question: str) -> str:
    """The stemmed last content word of a question typed as keywords, which names the asked aspect ("tabpfn
    training time gpu" -> "gpu", "concept descriptions survey main finding" -> "find"); "" for a question written
    out (a question word or a request first, a "?", or more than nine words)."""
    words = question.split()
    if not words or len(words) > 9 or "?" in question or words[0].lower() in _WRITTEN_OUT:
        return ""
    content = [t for t in tokenize(question) if t not in STOPWORDS]
    return content[-1] if content else ""


def aspect_bonus(question: str, texts: Sequence[str], bonus: Sequence[float] | None) -> Sequence[float] | None:
    """``bonus`` (a lead bonus per piece, or None) plus ``TYPED_ASPECT_WEIGHT`` for each piece text holding the
    keyword query's aspect (``typed_aspect``): "... algorithm requirements" leads with "only requires the
    gradients"."""
    aspect = typed_aspect(question)
    holds = [bool(aspect) and aspect in tokenize(t) for t in texts]
    if not any(holds):
        return bonus
    base = list(bonus) if bonus is not None else [0.0] * len(texts)
    return [b + (TYPED_ASPECT_WEIGHT if h else 0.0) for b, h in zip(base, holds, strict=True)]
