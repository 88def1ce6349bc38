"""Names: acronyms and coined names, their plural, the question words, the "we" of an abstract, and the
words a question sets side by side."""

from __future__ import annotations

import re

from rag.text.words import STOPWORDS, WORD, words

# ---------------------------------------------------------------------------------------------- names

QUESTION_WORDS = frozenset(
    ["what", "which", "how", "who", "whom", "why", "when", "where", "whose", "does", "did", "do", "is", "are",
     "was", "were", "can", "could", "and", "ok", "okay"]
)
"""Words that open or join questions and never name their topic (left out of carried and topic words)."""
_SENTENCE_OPENERS = QUESTION_WORDS | frozenset("in on for or the a an".split())  # noqa: SIM905
_WE = re.compile(r"\b(?:we|our)\b", re.IGNORECASE)


def says_we(text: str) -> bool:
    """Whether ``text`` speaks as the authors ("we", "our"): abstracts state what they did that way."""
    return _WE.search(text) is not None


def singular(name: str) -> str:
    """An acronym without its plural "s" ("SAEs" -> "SAE", "LLMs" -> "LLM"); other words unchanged."""
    return name[:-1] if name.endswith("s") and len(name) > 2 and name[-2].isupper() else name


def is_acronym(token: str) -> bool:
    """Looks like an acronym / coined name: two or more capitals, or a capital after the first letter."""
    core = singular(token)
    letters = [c for c in core if c.isalpha()]
    if len(letters) < 2 or not core[0].isalpha():
        return False
    upper = sum(c.isupper() for c in letters)
    return upper >= 2 and (upper >= len(letters) / 2 or any(c.isupper() for c in core[1:]))


def _has_inner_digit(word: str) -> bool:
    return any(c.isdigit() for c in word) and any(c.isalpha() for c in word) and len(word) > 2


def query_names(text: str) -> list[str]:
    """Name-like words of a query, as the reranker's exact-match features read them (its weights were fitted on
    this rule): acronyms and coined names ("LoRA", "SeerAttention-R"), words with digits ("Corr2Cause", "8x7B",
    "4-bit"), and capitalised words that do not open a sentence or a quote ("Chinchilla", "Mamba")."""
    names = []
    for match in WORD.finditer(text):
        word = match.group(0)
        before = text[: match.start()].rstrip()
        if word.lower().endswith("'s"):
            word = word[:-2]
        sentence_start = not before or before[-1] in ".?!:;\"'("
        capitalised = word[0].isupper() and word[1:].islower() and len(word) >= 3 and not sentence_start
        if _shouted(word):
            continue
        if is_acronym(word) or _has_inner_digit(word) or (capitalised and word.lower() not in STOPWORDS):
            names.append(word)
    return names


def named_entities(text: str) -> list[str]:
    """The things a question or answer names, as the composer reads them (comparisons, coverage, follow-ups):
    ``SeerAttention-R``, ``QM9``, ``CFG``, ``MaxSup`` (a capital, or a digit after a first letter), or a
    capitalised word after the first that is no question word or article ("Mamba", "Mixture"). Broader than
    ``query_names`` at a sentence's or quote's start, narrower on words that start with a digit ("4-bit")."""
    out: list[str] = []
    for i, word in enumerate(words(text)):
        if _shouted(word):
            continue
        coined = any(ch.isupper() for ch in word[1:]) or (any(ch.isdigit() for ch in word) and word[0].isalpha())
        capital = word[0].isupper() and i > 0 and word.lower() not in _SENTENCE_OPENERS and len(word) > 2
        if (coined or capital) and word not in out:
            out.append(word)
    return out


_VERSUS = r"(?:vs\.?|versus|v\.)"
_SIDE = rf"(?<![A-Za-z0-9.-])(?P<{{}}>{WORD.pattern})"
"""A compared word, matched from its start only: tried inside a long run of letters, each start had backtracked over
the rest of the run (a question of 'h' * 5,000 took seconds, holding the interpreter's lock)."""
_COMPARED = re.compile(
    "|".join([
        rf"{_SIDE.format('before')}(?=\s+{_VERSUS}\s)", rf"(?<![\w-]){_VERSUS}\s+{_SIDE.format('after')}",
        rf"\bcompar(?:e|ing)\s+{_SIDE.format('first')}\s+(?:and|with|to|against)\s+{_SIDE.format('second')}",
        rf"\b(?:how|in what ways?) (?:do|does|did|would) {_SIDE.format('one')} and {_SIDE.format('two')}\s+"
        r"(?:differ|compare|contrast)",
        rf"\bdifferences? between {_SIDE.format('left')} and {_SIDE.format('right')}",
    ]),
    re.IGNORECASE,
)  # fmt: skip
_SIDES = ("before", "after", "first", "second", "one", "two", "left", "right")


def names_word(text: str, name: str) -> bool:
    """Whether ``text`` holds ``name`` as a whole word, any case, plural, prefix ("λ-ECLIPSE") or version suffix
    ("SeerAttention-R", "FlashAttention-3") included: "DIN" is in "DIN now serves ads" and "LoRA" in "Mixture of
    LoRAs", but "DIN" is not in "Decoupled Embeddings" nor "LoRA" in "LoRA-BAM", another method's name."""
    return re.search(rf"(?<!\w){re.escape(name)}(?:e?s)?{_VERSION}(?![\w-])", text, re.IGNORECASE) is not None


_VERSION = r"(?:-(?:v?\d+(?:\.\d+)*|[a-z]))?"
"""A version after a name's hyphen: "-3", "-v2", "-R"."""


def compared_words(text: str) -> dict[int, str]:
    """The words ``text`` sets side by side as names, by where they start: next to "vs", "versus" or "v." ("opera
    vs vcd"), the two after "compare" ("compare bert and roberta"), in "how do X and Y differ" and "the
    difference between X and Y"."""
    return {m.start(g): m.group(g) for m in _COMPARED.finditer(text) for g in _SIDES if m.group(g)}


_SHOUTED = STOPWORDS | {"vs", "versus", "v"}


def _shouted(word: str) -> bool:
    """A connective typed in capitals ("DIMAT VS TIES-MERGING", "X AND Y"): no name."""
    return word.isupper() and word.lower() in _SHOUTED
