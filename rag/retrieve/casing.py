"""Coined names typed in lower case, written back the way the corpus writes them.

Users type "dimat vs ties-merging" or "tabpfn speedup"; the corpus writes "DIMAT", "TIES-Merging", "TabPFN".
Everything that reads names (the reranker's exact-match features, the composer's comparisons and "not stated"
notes) recognises them by their capitals, so a lower-case question lost them: "dimat vs ties-merging" was
answered from TIES-Merging alone. ``NameCasing.restore`` gives a question's all-lower-case words the casing the
corpus uses for them, once, where the question is prepared (``Pipeline.prepare`` and ``Pipeline.request``).

A word is restored only when the corpus writes it coined (a capital after the first letter of one of its
hyphen parts: "LoRA", "TIES-Merging", "GPT-4"; not "Fine-Tuning" of a title) at least ``DOMINANCE`` times as
often as in lower case, and it is no ordinary word: not a whole word of the packaged tokenizer's vocabulary
(``common_words``: 30,522 entries of uncased English WordPiece). So "map", "clip", "read", "atlas" stay as
typed although the corpus names MAP, CLIP, READ and aTLAS, except where the question sets two names side by
side ("opera vs vcd", "compare clip and tabpfn"): a word next to "vs" or after "compare"
is a name when the other side is no ordinary word either, so an ordinary word the corpus writes coined is
restored there (``named_sides``: "opera vs vcd", not "read vs write").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping

from rag.index.vocabulary import common_words
from rag.text import STOPWORDS, WORD, compared_words, without_urls

DOMINANCE = 4.0
"""A word is restored when its coined spellings outnumber its lower-case ones this many times over."""
_UPPER = re.compile(r"[A-Z]")


def is_coined(word: str) -> bool:
    """A capital after the first letter of one of the word's hyphen parts ("LoRA", "TIES-Merging", "GPT-4",
    "SeerAttention-R"), which sentence or title case never gives ("Fine-Tuning", "Transformers")."""
    return any(_UPPER.search(part, 1) for part in word.split("-"))


def named_sides(text: str, coined: Collection[str] = (), own_name: Callable[[str], bool] | None = None
                ) -> frozenset[int]:
    """Where the compared words of ``text`` start (``compared_words``), when at least one of them is no ordinary
    word, or every one is a word the corpus writes ``coined`` and one of them some paper's own name (``own_name``):
    "opera vs vcd" and "compare sentinel and opera" (SENTINEL; OPERA heads its title) compare names, "read vs
    write", "read versus clip" and "speed vs quality" compare ordinary words."""
    sides = compared_words(text)
    common = common_words()
    words = list(sides.values())
    named = any(w.lower() not in common for w in words) or (
        own_name is not None and len(words) >= 2 and all(w.lower() in coined for w in words)
        and any(own_name(w) for w in words))
    return frozenset(sides) if named else frozenset()


def mine_casing(texts: Iterable[str]) -> dict[str, str]:
    """``lower-case word -> the corpus's spelling`` for every word written coined in ``texts`` at least
    ``DOMINANCE`` times as often as in lower case; the most frequent coined spelling, ties by spelling. Ordinary
    words (``common_words``) are in the table too: ``NameCasing`` restores them only as compared names."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(WORD.findall(without_urls(text)))  # github.com/x/ties-merging is no lower-case use
    coined: dict[str, Counter[str]] = {}
    for word, n in counts.items():
        if is_coined(word):
            coined.setdefault(word.lower(), Counter())[word] += n
    table = {}
    for key, spellings in coined.items():
        if sum(spellings.values()) >= DOMINANCE * counts[key]:
            table[key] = min(spellings, key=lambda s: (-spellings[s], s))
    return table


class NameCasing:
    """The corpus's spellings of its coined names (``mine_casing``)."""

    def __init__(self, table: Mapping[str, str]) -> None:
        self.table = dict(table)

    def restore(self, text: str, own_name: Callable[[str], bool] | None = None) -> str:
        """``text`` with each all-lower-case word the corpus writes coined spelled as the corpus spells it
        ("dimat vs ties-merging" -> "DIMAT vs TIES-Merging"); an ordinary word only where it is set against a word
        that is not (``named_sides``: "opera vs vcd" -> "OPERA vs vcd"; "read vs write", "a map of the data"
        stay), or set against each other when the corpus writes each coined and one is some paper's own name
        (``own_name``: "compare sentinel and opera"); words the user cased, and stopwords, stay."""
        if not self.table:
            return text
        common, named = common_words(), named_sides(text, self.table, own_name)

        def spell(match: re.Match[str]) -> str:
            word = match.group(0)
            if not word.islower() or word in STOPWORDS or (word in common and match.start() not in named):
                return word
            return self.table.get(word, word)

        return WORD.sub(spell, text)

