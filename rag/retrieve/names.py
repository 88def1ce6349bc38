"""Which words typed in lower case read as a paper's own name ("sparsemax", "mixout"), by the corpus.

A user types "what is sparsemax?" or "how do sparsemax and MaxSup differ?": nothing in the spelling says that
"sparsemax" names a paper, while "speedup", "pitfalls" or "quantization" (none of them whole words of the
embedding tokenizer's English vocabulary either) name none. The corpus tells them apart: a paper's name heads a
title ("Mixout: Effective Regularization ...", "From Softmax to Sparsemax: A Sparse Model ...") or the paper says
it proposes it ("we propose sparsemax"), and it is in few documents; a topic word is in no title, only in a
title's description, or in many documents."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping

import numpy as np

from rag.index.lexicon import Lexicon
from rag.index.vocabulary import common_words
from rag.text import tokenize
from rag.types import Paper

NAME_SHARE = 0.005
"""A name is in at most this share of the chunks (three at least): "softmax" (4 of 383) is not one."""
HEAD_WORDS = 4
"""A title's head names the paper when it is this short ("Mixout", "From Softmax to Sparsemax"), not a sentence of
its own ("Harnessing Density Ratios for Online Reinforcement Learning")."""
_PROPOSED = (r"\b(?:propos|introduc|present|call|term|dub|nam)\w*\s+(?:[\w-]+\s+){{0,3}}?{word}\b"
             r"(?=\s*(?:[,(:;.]|$)|\s+(?:a|an|which|that|to|as|for|is)\b)")
""""we propose sparsemax, a ...", "a method called mixout (...)": the name ends its noun phrase (not "we propose a
recursive model")."""


class NameWords:
    """The names test over one index: its papers, its lexicon's titles and its BM25 document frequencies."""

    def __init__(self, papers: Mapping[str, Paper], lexicon: Lexicon,
                 doc_freq: Callable[[str], tuple[int, int]]) -> None:
        self.papers = papers
        self.lexicon = lexicon
        self.doc_freq = doc_freq

    def names(self, word: str) -> bool:
        """Whether ``word`` reads as a paper's name: no ordinary word (``common_words``), in at most
        ``NAME_SHARE`` of the chunks (three at least), and the name of a paper whose title holds it (``_owns``).
        "speedup" and "latency" are in no title; "softmax" and "pruning" in too many chunks; "pitfalls" only in a
        title's description."""
        low = word.lower()
        if low in common_words() or not low.isascii() or not re.fullmatch(r"[a-z0-9][\w-]*", low):
            return False
        tokens = tokenize(low)
        if not tokens or not all(df <= max(3, NAME_SHARE * n) for df, n in map(self.doc_freq, tokens)):
            return False
        return self.owned(low)

    def owned(self, word: str) -> bool:
        """Whether ``word`` (any casing) is some paper's own name: it heads the title of a paper ("LoFiT", "DIMAT"), or
        the abstract of a paper whose title holds it proposes it; "MMLU", "T5", "LoRA" are only mentioned."""
        low = word.lower()
        tokens = tokenize(low)
        titled = (self.papers[pid] for pid in self._titled(tokens[0]) if pid in self.papers) if tokens else ()
        return any(_owns(paper, low) for paper in titled)

    def unknown(self, word: str) -> bool:
        """Whether ``word`` (typed in lower case) is no ordinary word and in no document: a name the corpus lacks
        ("vcd" of "opera vs vcd"), which a comparison can say it has no paper about."""
        low = word.lower()
        tokens = tokenize(low)
        return bool(tokens) and low.isascii() and low not in common_words() and all(
            self.doc_freq(t)[0] == 0 for t in tokens)

    def _titled(self, token: str) -> list[str]:
        """The ids of the papers whose title holds ``token`` (the lexicon's title rows)."""
        tid = self.lexicon.id_of(token)
        if tid < 0:
            return []
        ptr, ids = self.lexicon.rows["title"]
        rows = np.unique(np.searchsorted(ptr, np.flatnonzero(ids == tid), side="right") - 1)
        return [self.lexicon.paper_ids[r] for r in rows.tolist()]


@functools.lru_cache(maxsize=4096)
def _proposing(word: str) -> re.Pattern[str]:
    return re.compile(_PROPOSED.format(word=re.escape(word)), re.IGNORECASE)


def _owns(paper: Paper, word: str) -> bool:
    """Whether ``word`` is the paper's name: in its title's short head (before the colon of "Name: description",
    at most ``HEAD_WORDS`` words) or proposed by its abstract ("we propose sparsemax", "a method called mixout")."""
    title = paper.title.lower()
    head = title.split(":", 1)[0] if ":" in title else ""
    head = head if len(head.split()) <= HEAD_WORDS else ""
    return bool(re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", head)) or bool(
        _proposing(word).search(paper.abstract))
