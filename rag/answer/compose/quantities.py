"""What a quantity question asks and what number answers it: "how much / many / fast ...", a quantity noun
("what BLEU score"), a keyword query's quantity noun ("coreinfer speedup"); the measure an adjective asks for (a
speed-up, a duration, a size, a score), what a share is of, whether a value is asked (``quantity_traits``); and
whether a piece of text holds such a number (``number_fills``). ``rag.answer.compose.slots`` reads a question's
slot with these rules."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from rag.text import STOPWORDS, has_digit, tokenize

NUMBER_WORDS = frozenset(tokenize(
    "two three four five six seven eight nine ten eleven twelve dozen hundred thousand million billion half "
    "twice double triple fold"
))
_QUANTITY_NOUNS = (
    r"speed-?ups?|accuracy|accuracies|percentage|percent|fraction|ratio|share|score|scores|f1|bleu|rouge|auroc|"
    r"auc|perplexity|ppl|error rate|win rate|success rate|rate|cost|costs|hours?|days?|time|latency|throughput|"
    r"memory|size|count|number|parameters?|params|tokens|samples|examples|improvement|gain|gains|reduction|drop|"
    r"margin|budget|length|epochs|steps|layers|experts|speed|compression|probability|temperature|"
    r"sparsity level|threshold|learning rate"
)
_QUANTITY = re.compile(
    rf"\bnumber of\b|"
    rf"\b(?:what|which)(?:'s| is| are| was| were)?(?: the| its| their)?(?: [\w-]+){{0,3}}? (?:{_QUANTITY_NOUNS}|"
    rf"correlations?)\b|"  # not "Kendall's rank correlation", a statistic's name
    rf"'s (?:[\w-]+ ){{0,2}}(?:{_QUANTITY_NOUNS})\b|\b(?:speed-?up|faster|slower|times fewer|x fewer)\b",
    re.IGNORECASE,
)
_HOW_MUCH = re.compile(r"\b(?:by )?how (?:much|many|large|big|fast|long|small|quickly|often|accurate|well|good|"
                       r"effective|sparse|deep|wide|expensive|costly|cheap|efficient|slow|short|common|frequent(?:ly)?|"
                       r"precise)\b", re.IGNORECASE)
"""A gradable adjective after "how" asks for a measure of it: "how sparse are the activations?" wants "3.0%"."""
_CLAUSE = re.compile(r"[,;:—–]|\s-\s|\b(?:and|or|but|so|n)\b", re.IGNORECASE)  # "n": "and" as typed in a chat


def asks_how_much(question: str) -> bool:
    """Whether ``question`` asks "how much / many / large / fast / well ..." itself: at the start of one of its
    clauses ("On how many datasets ...", "..., and how large is it?"), or in a keyword query ("imagebind-llm visual
    cache model how many features"); not inside a clause that asks something else ("Which approach decides ...,
    ranking candidates by how much they would tell", "How can we guess how well a classifier does ...")."""
    for match in _HOW_MUCH.finditer(question):
        before = question[: match.start()]
        if len(_CLAUSE.split(before)[-1].split()) <= 1 or not _ASKING.search(before):
            return True
    return False


_ASKING = re.compile(r"\b(?:what|which|how|who|whom|whose|why|when|where|is|are|was|were|does|do|did|can|could|"
                     r"has|have|should|would|will|explain|describe|compare|list|tell)\b", re.IGNORECASE)
"""A word that makes a question of it; a query without one is typed as keywords ("coreinfer speedup")."""
_TYPED_QUANTITY = re.compile(r"\b(?:percentage|percent|fraction|proportion|share|ratio|speed-?ups?|"
                             r"(?<!information )gains?|improvement|parameter count|count)\b", re.IGNORECASE)
"""A quantity noun that makes a keyword query ask for a number ("percentage of nonzero activations in T5-base"); not
"accuracy", which as often names a topic ("accuracy-efficiency trade-off attentive probing")."""
_TYPED_COUNT = re.compile(r"\b(?!(?:total|overall|final|exact|the|a|its|their)\b)[a-z]+ count\b", re.IGNORECASE)
"""A keyword query's asked count of a thing ("tabpfn parameter count"; not "total count" or "count of experts"): its
detail, which an abstract may not state. Other typed quantity nouns stay without one ("percentage", "gain": any
number of the right kind answers them)."""

_SHARE_OF = re.compile(r"\b(?:fraction|proportion|percentage|percent|share|portion)\s+of\s+(?:the\s+)?"
                       r"(?P<of>(?:[\w-]+\s+){0,2}?[\w-]+?)(?=\s+(?:are|is|does|do|did|was|were|in|that|which|get|gets|"
                       r"have|has)\b|\s*[?,]|$)", re.IGNORECASE)


_NUMBER_WORD = "one|two|three|four|five|six|seven|eight|nine|ten|several|a few|a"
_NOT_ITEMS = "times|epochs|steps|iterations|gpus|tpus|hours|was|has|is|this|its|us"
"""Words after a number that count no items of a dataset ("300 epochs", "in 2020 it was shown")."""
CHANGE_WORDS = frozenset(tokenize(
    "improvement improvements gain gains drop drops reduction reductions boost boosts margin gap difference effect "
    "increase decrease speedup saving savings"
))
"""The size of a change is its amount: "how large is the gain?" is answered by "+2.1 points" or "12%"."""


_MEASURES = (
    ("speed", re.compile(r"\bhow (?:fast|quick(?:ly)?|slow)\b|\bhow much (?:faster|slower|quicker)\b|"
                         r"\bspeed-?ups?\b|\bfaster\b", re.IGNORECASE)),
    ("time", re.compile(r"\bhow long (?:does|do|did|will|would|to)\b", re.IGNORECASE)),  # not "how long is the context"
    ("model size", re.compile(r"\b(?:model|network) sizes?\b|\bsizes? of (?:the |its |their )?(?:models?|networks?)\b|"
                              r"\bhow (?:large|big|small) (?:is|are|was|were) "
                              r"(?:the |its |their |this |that )?(?:[\w-]+ )?(?:models?|networks?)\b", re.IGNORECASE)),
    ("size", re.compile(r"\bhow (?:large|big|small)\b", re.IGNORECASE)),
    ("score", re.compile(r"\bhow (?:accurate|well|good|effective)\b", re.IGNORECASE)),
)
_MEASURE_FILLER = {
    "speed": re.compile(r"\d\s*(?:x|×|times)(?![a-z])|\b(?:speed-?ups?|faster|slower|throughput|latency|"
                        r"per second|(?:milli)?seconds?|ms|minutes?|hours?)\b|/s\b|\bfps\b", re.IGNORECASE),
    "time": re.compile(r"\b(?:(?:milli)?seconds?|ms|minutes?|hours?|days?|weeks?|months?|epochs?|steps?|"
                       r"iterations?|rounds?)\b", re.IGNORECASE),
    "model size": re.compile(r"\d\s*[BM]\b(?![\s-]*(?:tokens?|samples?|images?|examples?|pairs?|words?|hours?))|"
                             r"\b(?:billion|million) param|\b(?:parameters?|params|layers?|size)\b", re.IGNORECASE),
    "size": re.compile(r"\d\s*(?:[KMBT]|k|billion|million|thousand|[KMGT]B)\b|\b(?:parameters?|params|layers?|"
                       r"tokens?|samples?|examples?|images?|instances?|hours?|pairs?|size)\b|"
                       rf"\b(?:{_NUMBER_WORD}) (?:hundred|thousand|million|billion)s?\b|"
                       r"\b(?:hundreds|thousands|millions) of\b|"
                       r"(?<![\d,.])(?!(?:19|20)\d\d\b)\b(?:\d{1,3}(?:,\d{3})+|\d{3,})\s+(?:[a-z-]+\s+)?"
                       rf"(?!(?:{_NOT_ITEMS})\b)[a-z]{{2,}}s\b", re.IGNORECASE),
    "score": re.compile(r"\b(?:accurac(?:y|ies)|auc|auroc|f1|bleu|rouge|scores?|precision|recall|errors?|"
                        r"win rates?|points?|perplexity)\b", re.IGNORECASE),
}
"""What a number needs beside it to answer a ``measure``: "230 times speedup", "8 GPU hours", "7B parameters" (a
model's size: a count of parameters or layers, not of tokens or samples), "an AUC of 0.856" ("how accurate")."""


def has_number(text: str) -> bool:
    """Whether ``text`` holds a number, in digits or in words ("two", "dozen")."""
    return has_digit(text) or bool(NUMBER_WORDS & set(tokenize(text)))


_COUNT = re.compile(r"\bhow (?:much|many)\b|\bnumber of\b|\bcount\b|\b(?:reach|reaches|reached|achieve[sd]?|gets?|got|"
                    r"obtain(?:s|ed)?|reports?|reported|uses?|used|runs?|ran|sets?|chooses?|chose|picks?|picked)\b",
                    re.IGNORECASE)
"""A question that asks for a value: how many, how much, or what a paper reached, got or used ("What BLEU score does
MAE reach?", "What mixout probability did they use?"); not "What is the CHES score?", which asks what it is."""


_MEASURE_WORDS = frozenset(tokenize("speedup speedups speed-up speed-ups speed faster"))
"""Asked words that name the measure itself: any number of that measure answers them."""
_MEASURE_OWN_WORDS: Mapping[str, frozenset[str]] = MappingProxyType(
    {"model size": frozenset(tokenize("model models network networks size sizes"))}
)
"""Asked words that name one measure: "at what model size" is answered by "7B parameters", which says neither."""


def asks_number(question: str) -> bool:
    """Whether ``question`` (or one part of it) asks for a number: "how much / many ..." (``asks_how_much``), a
    quantity noun after "what" ("What BLEU score ..."), "number of", "speed-up"; or, typed as keywords (no question
    word), a quantity noun ("percentage of nonzero activations in T5-base")."""
    return asks_number_here(question) or (not _ASKING.search(question) and _TYPED_QUANTITY.search(question) is not None)


def asks_number_here(part: str) -> bool:
    """Whether this part of a question itself asks "how much" or for a quantity noun (keyword rules aside)."""
    return asks_how_much(part) or _QUANTITY.search(part) is not None


def typed_count(query: str) -> str:
    """A keyword query's asked count ("tabpfn parameter count" -> "parameter count"); "" for a question, which
    names its detail after its question word, or a query without a count."""
    if _ASKING.search(query):
        return ""
    typed = _TYPED_COUNT.search(query)
    return typed.group(0) if typed else ""


def quantity_traits(question: str, head: Sequence[str]) -> tuple[str, tuple[str, ...], bool]:
    """For a quantity question with the asked detail's stemmed words ``head``: the ``measure`` its adjective asks
    for ("speed", "time", "model size", "size", "score"; "" when any number answers it, as for the size of a
    change), what a share is asked ``of``, and whether a value is asked (``count``)."""
    measure = next((m for m, asks in _MEASURES if asks.search(question)), "")
    if measure == "size" and CHANGE_WORDS & set(head):  # "how large is the improvement?": any number answers it
        measure = ""
    share = _SHARE_OF.search(question)
    of = tuple(t for t in tokenize(share.group("of")) if t not in STOPWORDS) if share else ()
    return measure, of, _COUNT.search(question) is not None


_ENUMERATOR = re.compile(r"(?:^|(?<=[\s:;,]))\(\d\)(?=\s*[A-Za-z])")
"""A list item's number: "(2) sparse: ...", "heads:(1) universal" (no quantity)."""


def number_fills(head: Sequence[str], measure: str, text: str) -> bool:
    """Whether ``text`` holds a number answering a quantity question: with the asked unit when the question names
    one (``head``: "hours"), and of the kind its ``measure`` asks for ("how fast" wants a ratio or a rate, not
    "67 datasets"). "What about the speedup?" is answered by "up to 8x faster": its measure, not its word. A list
    item's number ("(5) causal: ...") is none."""
    text = _ENUMERATOR.sub(" ", text)
    asked, named = set(head), _MEASURE_WORDS | _MEASURE_OWN_WORDS.get(measure, frozenset())
    unit = not asked or bool(asked & set(tokenize(text))) or bool(measure and asked <= named)
    measured = not measure or _MEASURE_FILLER[measure].search(text) is not None
    return _number_of(set() if measure else asked, text) and unit and measured


def _number_of(asked: set[str], text: str) -> bool:
    """Whether ``text`` holds a number that can be of the ``asked`` unit: any number in digits, or a number word
    just before an asked word ("two experts"; any, when a measure is asked: "twice as fast", "how big": "two
    thousand workers"). "Two mitigation strategies ... the AUC" gives no AUC."""
    if has_digit(text) or not asked:
        return has_number(text)
    tokens = tokenize(text)
    return any(t in NUMBER_WORDS and asked & set(tokens[i + 1 : i + 4]) for i, t in enumerate(tokens))
