"""BM25 keyword index (bm25s) over chunk texts, title weighted, persisted beside the Chroma index.

The saved index is keyed by the store's fingerprint: whenever an ingest changes the papers, the
index is rebuilt from the stored chunks and swapped in atomically (bm25s has no in-place update;
a rebuild over 383 papers takes milliseconds).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

TITLE_WEIGHT = 2
_WORD = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)*")
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves paper papers propose proposed
    approach method methods using use used based show shows new work""".split()  # noqa: SIM905
)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(text: str) -> list[str]:
    """Lower-case words (keeping hyphenated and dotted terms whole, and their parts), stemmed, stopwords out."""
    words: list[str] = []
    for match in _WORD.finditer(text.lower()):
        word = match.group(0)
        words.append(word)
        if "-" in word or "." in word:
            words.extend(p for p in re.split(r"[-.]", word) if p)
    return _stemmer().stemWords([w for w in words if w not in STOPWORDS])


def doc_tokens(text: str) -> list[str]:
    """Tokens of a chunk text ``title\\nabstract``, the title counted ``TITLE_WEIGHT`` times."""
    title, _, body = text.partition("\n")
    return tokenize(title) * TITLE_WEIGHT + tokenize(body)


class KeywordIndex:
    """BM25 scores over chunks; ``paper_ids[i]`` is the paper of chunk ``i``."""

    def __init__(self, retriever: bm25s.BM25, paper_ids: Sequence[str]) -> None:
        self.retriever = retriever
        self.paper_ids = list(paper_ids)

    @classmethod
    def build(cls, paper_ids: Sequence[str], texts: Sequence[str]) -> KeywordIndex:
        retriever = bm25s.BM25(k1=1.2, b=0.75)
        corpus = [doc_tokens(t) or ["\x00empty"] for t in texts]
        if corpus:
            retriever.index(corpus, show_progress=False)
        return cls(retriever, paper_ids)

    def scores(self, query: str | Sequence[str]) -> np.ndarray:
        """BM25 score of every chunk for the query (text, or tokens already made)."""
        tokens = tokenize(query) if isinstance(query, str) else list(query)
        if not self.paper_ids or not tokens:
            return np.zeros(len(self.paper_ids), dtype=np.float32)
        return np.asarray(self.retriever.get_scores(tokens), dtype=np.float32)

    def save(self, folder: Path, fingerprint: str) -> None:
        """Write to a temporary folder, then swap it in: readers never see a half-written index."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
        if self.paper_ids:
            self.retriever.save(str(tmp))
        (tmp / "meta.json").write_text(json.dumps({"fingerprint": fingerprint, "paper_ids": self.paper_ids}))
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, fingerprint: str) -> KeywordIndex | None:
        """The saved index if it matches ``fingerprint``, else None."""
        try:
            meta = json.loads((folder / "meta.json").read_text())
        except (OSError, ValueError):
            return None
        if meta.get("fingerprint") != fingerprint:
            return None
        if not meta["paper_ids"]:
            return cls(bm25s.BM25(), [])
        return cls(bm25s.BM25.load(str(folder)), meta["paper_ids"])
