"""Evidence selection rules: boilerplate and background sentences, and redundancy between picks."""

from __future__ import annotations

import re

from rag.text import content_words, has_digit

_BOILERPLATE = re.compile(
    r"\b(?:code|data|models?|datasets?|implementation|source code)\b[^.]{0,40}\b(?:is|are|will be) "
    r"(?:publicly |freely )?(?:available|released)\b|https?://|github\.com|\bwe (?:will )?(?:release|open[- ]source)\b",
    re.IGNORECASE,
)
_BACKGROUND = re.compile(
    r"^\s*(?:recent(?:ly)?|in recent years|over the past|with the (?:rapid |recent )?(?:advance|development|"
    r"success|rise)|(?:large language models|deep (?:neural networks|learning)|llms)[^.]{0,40}\b(?:have|has) "
    r"(?:shown|achieved|become|demonstrated)|despite (?:their|the)|however, (?:existing|current|most))",
    re.IGNORECASE,
)


_OUTLOOK = re.compile(
    r"\b(?:future (?:work|research|studies|directions?|investigations?)|we (?:hope|anticipate)|"
    r"encourag\w* (?:more|further|future) (?:research|work|stud\w+|investigation)|pav\w* the way|lays? the groundwork|"
    r"open\w* (?:up )?(?:\w+ )?(?:avenues?|doors?|possibilities)|new lens|inform (?:the )?(?:future|development))\b",
    re.IGNORECASE,
)
OUTLOOK_LEAD_WORDS = 10
"""An outlook phrase this early makes the sentence an outlook ("We hope our study ...", "Our results encourage more
research ..."); later it trails a result ("we demonstrate that ..., paving the way for ..."), which is kept."""


_LINK = re.compile(r"https?://\S+|\S+\.(?:com|org|io)/\S*")


def says_where_code_is(text: str) -> bool:
    """Whether ``text`` gives a link or says its code or data is available or released."""
    return bool(_BOILERPLATE.search(text))


def is_boilerplate(sentence: str) -> bool:
    """A sentence that only says where code or data is ("Code is available at ..."); not one that gives numbers
    besides ("release CodeGen2 models in size 1B, 3.7B, 7B, and, 16B parameters, ...: https://github.com/...")."""
    if not says_where_code_is(sentence):
        return False
    rest = _LINK.sub("", sentence)
    return not (has_digit(rest) and len(rest.split()) >= 15)


def is_background(sentence: str) -> bool:
    """A sentence that sets the scene or looks ahead rather than saying what the paper does ("Recent advances
    ...", "We hope this survey will ..."; ``is_outlook``)."""
    return bool(_BACKGROUND.search(sentence)) or is_outlook(sentence)


def is_outlook(sentence: str) -> bool:
    """A sentence about future work or hopes, with no number: its outlook phrase within its first
    ``OUTLOOK_LEAD_WORDS`` words."""
    found = _OUTLOOK.search(sentence)
    if found is None or has_digit(sentence):
        return False
    return len(sentence[: found.start()].split()) < OUTLOOK_LEAD_WORDS


MAX_REDUNDANCY = 0.75
"""A quote whose content words are this much in one already chosen quote is left out (MMR-style)."""


def redundancy(sentence: str, chosen: list[str]) -> float:
    """Largest share of ``sentence``'s content words already in one chosen sentence (0: all new)."""
    mine = content_words(sentence)
    if not mine or not chosen:
        return 0.0
    return max(len(mine & content_words(c)) / len(mine) for c in chosen)
