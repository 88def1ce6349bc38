"""Which words typed in lower case read as a paper's own name ("sparsemax", "tabpfn"), by the corpus.

A user types "what is sparsemax?" or "how do sparsemax and MaxSup differ?": nothing in the spelling says that
"sparsemax" names a paper, while "speedup", "latency" or "pruning" (none of them whole words of the embedding
tokenizer's English vocabulary either) name none. The corpus tells them apart: a paper's name is in a title and
in few documents; a topic word is in no title, or in many documents."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from rag.index.lexicon import Lexicon
from rag.index.vocabulary import common_words
from rag.text import tokenize

NAME_SHARE = 0.005
"""A name is in at most this share of the chunks (three at least): "softmax" (4 of 383) is not one."""


class NameWords:
    """The names test over one index: its lexicon's titles and its BM25 document frequencies."""

    def __init__(self, lexicon: Lexicon, doc_freq: Callable[[str], tuple[int, int]]) -> None:
        self.lexicon = lexicon
        self.doc_freq = doc_freq

    @functools.cached_property
    def _title_ids(self) -> frozenset[int]:
        """The lexicon ids of every word of every title (computed on first use)."""
        return frozenset(np.unique(self.lexicon.rows["title"][1]).tolist())

    def names(self, word: str) -> bool:
        """Whether ``word`` reads as a paper's name: no ordinary word (``common_words``), each of its tokens a
        title's word, and in at most ``NAME_SHARE`` of the chunks (three at least). "speedup" and "latency" are
        in no title; "softmax", "pruning" and "distillation" are in too many chunks."""
        low = word.lower()
        if low in common_words() or not low.isascii():
            return False
        tokens = tokenize(low)
        if not tokens or any(self.lexicon.id_of(t) not in self._title_ids for t in tokens):
            return False
        return all(df <= max(3, NAME_SHARE * n) for df, n in map(self.doc_freq, tokens))

    def unknown(self, word: str) -> bool:
        """Whether ``word`` (typed in lower case) is no ordinary word and in no document: a name the corpus lacks
        ("vcd" of "opera vs vcd"), which a comparison can say it has no paper about."""
        low = word.lower()
        tokens = tokenize(low)
        return bool(tokens) and low.isascii() and low not in common_words() and all(
            self.doc_freq(t)[0] == 0 for t in tokens)
