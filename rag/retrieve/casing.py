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
typed although the corpus names MAP, CLIP, READ and aTLAS; "opera" and "bert" stay too, a price paid for it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import lru_cache

from rag.errors import ConfigError
from rag.index.onnx import model_dir
from rag.text import STOPWORDS, WORD, without_urls

DOMINANCE = 4.0
"""A word is restored when its coined spellings outnumber its lower-case ones this many times over."""
_UPPER = re.compile(r"[A-Z]")


def is_coined(word: str) -> bool:
    """A capital after the first letter of one of the word's hyphen parts ("LoRA", "TIES-Merging", "GPT-4",
    "SeerAttention-R"), which sentence or title case never gives ("Fine-Tuning", "Transformers")."""
    return any(_UPPER.search(part, 1) for part in word.split("-"))


def mine_casing(texts: Iterable[str]) -> dict[str, str]:
    """``lower-case word -> the corpus's spelling`` for every word written coined in ``texts`` at least
    ``DOMINANCE`` times as often as in lower case and not an ordinary word (``common_words``); the most frequent
    coined spelling, ties by spelling."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(WORD.findall(without_urls(text)))  # github.com/x/ties-merging is no lower-case use
    coined: dict[str, Counter[str]] = {}
    for word, n in counts.items():
        if is_coined(word):
            coined.setdefault(word.lower(), Counter())[word] += n
    table = {}
    common = common_words()
    for key, spellings in coined.items():
        if key not in common and sum(spellings.values()) >= DOMINANCE * counts[key]:
            table[key] = min(spellings, key=lambda s: (-spellings[s], s))
    return table


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Ordinary words: the whole words (no "##" pieces) of the packaged embedding tokenizer's vocabulary."""
    try:
        vocab = json.loads((model_dir() / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    except (ConfigError, OSError, ValueError, KeyError, TypeError):
        return frozenset()
    return frozenset(w for w in vocab if w.isalpha() and w.islower())


class NameCasing:
    """The corpus's spellings of its coined names (``mine_casing``)."""

    def __init__(self, table: Mapping[str, str]) -> None:
        self.table = dict(table)

    def restore(self, text: str) -> str:
        """``text`` with each all-lower-case word the corpus writes coined spelled as the corpus spells it
        ("dimat vs ties-merging" -> "DIMAT vs TIES-Merging"); words the user cased, and stopwords, stay."""

        def spell(match: re.Match[str]) -> str:
            word = match.group(0)
            if not word.islower() or word in STOPWORDS:
                return word
            return self.table.get(word, word)

        return WORD.sub(spell, text) if self.table else text
