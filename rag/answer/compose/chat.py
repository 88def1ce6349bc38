"""The wording of a chat that follow-up rules share: openers that switch topic or correct the last answer,
pronouns and pointers at the last answer's sources, definition questions, and the turns of one role."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.text import tokenize

TOPIC_SWITCH = re.compile(
    r"^\s*(?:different question|switching topics?|unrelated|another question|new question|on another note|"
    r"changing (?:the )?subject|ok(?:ay)?,? (?:and|now|next)|never ?mind|forget (?:that|this|it|about)|moving on|"
    r"on a different note|something else)\b",
    re.IGNORECASE,
)
EACH = r"(?:does|do|did) each|each (?:of (?:them|these|those|the two)|one|paper|method|approach|model|work|study)"
"""Wording that points at every paper of the last answer ("What does each find?")."""
_END = r"(?=\s*(?:[?.!,;:)]|$))"
"""Nothing but punctuation after: "the 2nd?" points at a source, "the 2nd stage of ..." does not."""
_NOT_A_POINTER = r"(?!\s*(?:times|x\b|%|percent|billion|million|[bmk]\b|[.,]\d|-))"
"""After "paper 7": a quantity ("7 times faster", "7B", "7.5"), not a source's number."""
NUMBERED = (rf"\b(?:the|that) (?P<nth>\d{{1,2}})(?:st|nd|rd|th)(?: (?:one|paper|source|result)\b|{_END})"
            r"|\[(?P<marker>\d{1,2})\]|\b(?:source|ref(?:erence)?)\s*#?(?P<label>\d{1,2})\b"
            rf"|\b(?:paper|result|number|no\.?)\s*(?:#(?P<hash>\d{{1,2}})\b|(?P<end>\d{{1,2}})\b{_NOT_A_POINTER})")
"""A source of the last answer pointed at by its number: "the 2nd (paper)", "[2]", "source 2", "paper #2",
"what did paper 2 find?"; not "the 1st step", "paper 7 times faster"."""
ORDINAL_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
_POINTED = (r"(?=\s+(?:one|paper|source|result|article|work|method|approach|do|does|did|say|says|use|uses|need|needs|"
            r"find|finds|found|compare|compares|propose|proposes|work|works|have|has|is|was|than|vs|versus|"
            r"better|worse|faster|slower|more|less)\b|\s+(?:and|or) (?:the|that) (?:first|second|third|fourth|fifth|"
            rf"last)\b|{_END})")
"""After "the second": a noun or verb of a source ("the second one", "does the second need ...", "the second?"),
or another pointer or a comparison ("the first or the second", "the first better than"), not "the first two steps"
or "the first layer"."""
ORDINAL_WORD = rf"(?:the|that) (?:(?:{'|'.join(ORDINAL_WORDS)}){_POINTED}|(?:last|former|latter)\b)"
REFERENCE = re.compile(
    rf"\b(?:of them|of these|of those|{ORDINAL_WORD}"
    r"|these (?:papers|methods|works)|those (?:papers|methods|works)|both"
    rf"|{EACH})\b|{NUMBERED}",
    re.IGNORECASE,
)
PRONOUN = re.compile(
    r"\b(it|its|they|them|their|theirs|this|that|these|those|he|she|his|her|the (?:paper|model|method|"
    r"approach|authors|work|study|benchmark|dataset|framework|technique|system|algorithm|heads?|task))\b",
    re.IGNORECASE,
)
CONTINUATION = re.compile(r"^\s*(?:and|also|so|then|what about|how about)\b", re.IGNORECASE)
"""A question that opens like this carries on from the last turn ("And when is it required?")."""
CORRECTION = re.compile(
    r"^\W*(?:no|nope|sorry|oops|actually|wait)\b\W*"
    r"(?:i\s+(?:meant|mean)|not (?:that|this|the)|the other|that'?s not)\b|\bi meant the (?:other|one|paper)\b",
    re.IGNORECASE,
)
"""A turn that says the last answer was about the wrong paper ("No, I meant the one that ...")."""
FIRST_N = re.compile(
    r"\b(?:the )?(?:first|top) (?P<n>two|three|four|[234])(?: (?:papers?|ones|sources|results|hits|works))?"
    r"(?![\w-])(?! (?:of|in)\b)(?! (?!(?:does|has|is|was|uses|says|needs|proposes|finds|works|compares|differs|"
    r"shows|claims|reports|as|vs)\b)[a-z]+s\b)",
    re.IGNORECASE,
)
"""A pointer at the first sources of the last answer: "compare the first two", "what are the first two papers
about?", "how do the top 3 differ?"; not "the first two steps of X", "the first three layers", "the first
two-stage method" (a plural noun, a hyphen or "of" after the number)."""
WHICH_ONE = re.compile(r"^\W*(?:(?:so|and|ok|okay|then)\W+)?which (?:one|of the (?:two|three|four))\b", re.IGNORECASE)

DEFINED = re.compile(r"^\W*(?:what(?:'s|s| is| are)|define|explain|describe|tell me about)\s+(?P<term>[a-z][\w\s-]*?)"
                     r"\s*(?:[?.!]|$)")
"""A question that asks what a lower-case term is, and nothing else: "what is sparsemax?", "explain tabpfn"."""
WORKS = re.compile(r"^\W*how (?:does|do) (?P<term>[a-z][\w\s-]*?) work\s*(?:[?.!]|$)")
"""A question that asks how a lower-case term works, and nothing else: "how does early dropout work?"."""
POINTING = frozenset({"the", "a", "an", "its", "their", "this", "that", "these", "those", "it", "they", "them",
                      "his", "her", "our", "your", "such", "both", "each"})


def asked_term_words(question: str) -> list[str]:
    """The words of the lower-case term a plain definition question asks about ("what is in-context learning?" ->
    ["in-context", "learning"]; "how does early dropout work?" -> ["early", "dropout"]); [] when it is no such
    question, the term is over four words, or it points ("what is the speedup?", "what is its size?")."""
    match = DEFINED.match(question.lower()) or WORKS.match(question.lower())
    words = match.group("term").split() if match else []
    return [] if len(words) > 4 or POINTING & set(words) else words


IsName = Callable[[str], bool]
"""Whether a word typed in lower case names a paper (``rag.retrieve.names.NameWords.names``: "sparsemax")."""


def no_names(word: str) -> bool:
    """Without the corpus, no lower-case word is a name."""
    return False


def turns(history: Sequence[dict[str, str]], role: str) -> list[str]:
    """The non-empty turns of ``role`` ("user" or "assistant"), oldest first."""
    return [t["content"] for t in history if t.get("role") == role and t.get("content", "").strip()]


ASPECTS = frozenset(tokenize(
    "benchmark benchmarks dataset datasets data hardware gpu gpus tpu device devices speed speedup fast faster slow "
    "memory latency throughput accuracy result results score scores metric metrics baseline baselines model models "
    "size parameters tokens training train trained evaluate evaluated evaluation test tested task tasks language "
    "languages code license limitation limitations much many long cost costs compute time experiments use used run "
    "on with it its they their the a an"
))
"""The words of a short follow-up that asks for an aspect of the paper under discussion ("what benchmarks?", "on
which hardware?", "how fast?"); any other word ("what is sparsemax?", "and mixout?") names a new subject."""
