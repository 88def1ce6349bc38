"""Typos in a question, spelled the way the corpus writes the word.

"integrated gradiants axioms", "retreival heads pruning" and "label smothing problems" were refused: the
misspelled word matches no BM25 token, and the abstention model, missing its overlap, doubted the rest.
``Speller.correct`` replaces a word the corpus and ordinary English both lack with the corpus word it is one
edit away from (a transposition counts as one edit; ``is_typo_of`` says which edits a typo makes), once, where
the question is prepared (``Pipeline.prepare`` and ``Pipeline.request``), before names get their casing.

Only words that look like misspelled words are touched: letters only, at least ``MIN_LETTERS`` of them, typed
in lower case or with a capital first letter (a name typed as coined, "ReSNeXt", stays), not a stopword, not a
whole word of the packaged tokenizer's vocabulary (``common_words``), and not a word the index already knows
(``known``: some paper holds its BM25 token, so "sparsifying" stays although the corpus writes "sparsify").
The replacement starts with the same letter (typos rarely hit the first one), occurs at least ``MIN_COUNT``
times in the corpus, and is the nearest such word, the most frequent on a tie. The table of the corpus's words
is mined once per index (``rag.retrieve.acronym_cache.spelling_table``)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA, Editop, Levenshtein

from rag.index.vocabulary import common_words
from rag.text import STOPWORDS, without_urls

MIN_LETTERS = 4
"""Shorter words are left as typed: too many words are one edit apart."""
SWAP_MIN = 5
"""A word this long may have two letters swapped ("modle"); a shorter one is read as typed ("repl", "uint")."""
DROPPED_MIN = 6
"""A word this long may have lost a letter ("datset"); a shorter one is read as typed ("probs")."""
VOWEL_MIN = 8
"""A word this long may have a wrong vowel ("gradiants"); a shorter one is read as typed ("pexels", "runge")."""
MIN_COUNT = 2
"""A replacement must occur at least this many times in the corpus."""
_VOWELS = frozenset("aeiouy")
_LETTERS = re.compile(r"[A-Za-z]+(?:[-'’][A-Za-z]+)*")
_TYPABLE = re.compile(r"^[A-Za-z][a-z]+$")
CONTRACTIONS = frozenset({
    "whos", "whats", "thats", "theres", "heres", "hows", "whys", "wheres", "dont", "doesnt", "didnt", "isnt",
    "arent", "wasnt", "werent", "cant", "couldnt", "wont", "wouldnt", "shouldnt", "hasnt", "havent", "hadnt",
    "mustnt", "neednt", "ive", "youre", "theyre", "weve", "theyve", "youve", "im", "ill", "itll", "lets",
})  # fmt: skip
"""Contractions typed without their apostrophe: no typos."""


def mine_spelling(texts: Iterable[str]) -> dict[str, int]:
    """``lower-case word -> occurrences`` of every all-letter word of ``texts`` with at least ``MIN_LETTERS``
    letters that occurs at least ``MIN_COUNT`` times (links left out)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(w.lower() for w in _LETTERS.findall(without_urls(text)) if w.isalpha())
    return {w: n for w, n in counts.items() if len(w) >= MIN_LETTERS and n >= MIN_COUNT}


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """The words of pyspellchecker's English frequency list (~160,000, MIT): ordinary words that are no typo
    although the tokenizer's vocabulary lacks them ("rescaling", "raters")."""
    from spellchecker import SpellChecker

    return frozenset(SpellChecker(language="en").word_frequency.dictionary)


def _at_end(op: Editop, typed: str, word: str) -> bool:
    """Whether an edit changes the last letter: the typed word's last one deleted or replaced, or a last one added."""
    return op.dest_pos >= len(word) - 1 if op.tag == "insert" else op.src_pos >= len(typed) - 1


def is_typo_of(typed: str, word: str) -> bool:
    """Whether ``typed`` is ``word`` mistyped the way typos go: two letters swapped ("retreival", "tabpnf"), a
    letter dropped or typed twice inside a word of six letters or more ("smothing", "activaton", "allignment"), or a
    vowel for a vowel inside a word of eight letters or more ("gradiants"). Not another added letter or a changed
    consonant, and not in short words: those read real words the corpus lacks as corpus words ("convbert" ->
    convert, "sharded" -> shared, "dinat" -> DIMAT, "sobel" -> Sobol, "repl" -> RelP), and "imagen" is no typo of
    "image"."""
    ops: list[Editop] = list(Levenshtein.editops(typed, word))
    if len(ops) == 2 and sorted(op.tag for op in ops) == ["delete", "insert"] and len(typed) == len(word):
        return len(typed) >= SWAP_MIN  # a swap: "retreival", "modle"; not "repl", "uint"
    if len(ops) != 1 or _at_end(ops[0], typed, word):
        return False
    op = ops[0]
    if op.tag == "insert":  # the typed word lacks a letter
        return len(typed) >= DROPPED_MIN
    if op.tag == "delete":  # a letter typed twice: "allignment", "contrasstive"
        p = op.src_pos
        return len(typed) >= DROPPED_MIN and typed[p] in (typed[p - 1 : p] + typed[p + 1 : p + 2])
    if op.tag == "replace":
        return len(typed) >= VOWEL_MIN and {typed[op.src_pos], word[op.dest_pos]} <= _VOWELS
    return False


class Speller:
    """Corrects a question's misspelled words to the corpus's words (``mine_spelling``'s table)."""

    def __init__(self, table: Mapping[str, int], known: Callable[[str], bool] = lambda word: False) -> None:
        self.table = dict(table)
        self.known = known
        self._by_letter: dict[str, list[str]] = {}
        for word in sorted(self.table):
            self._by_letter.setdefault(word[0], []).append(word)

    def suggestion(self, word: str) -> str | None:
        """The corpus word ``word`` is a typo of, in its casing; None when it is no typo or has no close word."""
        low = word.lower()
        if not _TYPABLE.match(word) or len(low) < MIN_LETTERS or self._is_word(low):
            return None
        found = process.extract(low, self._by_letter.get(low[0], []), scorer=OSA.distance,
                                score_cutoff=1, limit=None)  # fmt: skip
        typos = [m for m in found if is_typo_of(low, m[0])]
        if not typos:
            return None
        best = min(typos, key=lambda m: (m[1], -self.table[m[0]], m[0]))[0]
        return best.capitalize() if word[0].isupper() else best

    def _is_word(self, low: str) -> bool:
        return (low in self.table or low in STOPWORDS or low in CONTRACTIONS or low in common_words()
                or self.known(low) or low in english_words())

    def correct(self, text: str) -> str:
        """``text`` with each misspelled word replaced (``suggestion``); everything else as typed."""
        if not self.table:
            return text

        def fix(match: re.Match[str]) -> str:
            return self.suggestion(match.group(0)) or match.group(0)

        return _LETTERS.sub(fix, text)
