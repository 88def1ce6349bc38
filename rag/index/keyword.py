"""BM25 keyword index (bm25s) over chunk texts, title weighted, persisted beside the Chroma index.
Tokens come from ``rag.text.tokenize`` (the same words the rest of the package compares).

The saved index is keyed by the store's fingerprint and by the code that makes its tokens (``code_version``: a
new tokenizer after an upgrade rebuilds it). Whenever an ingest changes the papers, the index is rebuilt from the
stored chunks and swapped in atomically (bm25s has no in-place update; a rebuild over 383 papers takes
milliseconds). ``meta.json`` records the SHA-256 of every saved file: a missing, truncated or overwritten file
makes ``load`` return None, so the caller rebuilds it from the stored texts (on opening the app and on every
ingest) instead of failing or scoring with garbage.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np

from rag.index.atomic import replacing
from rag.index.lexicon import Lexicon
from rag.resources import modules_digest
from rag.text import tokenize
from rag.types import Paper

log = logging.getLogger(__name__)

TITLE_WEIGHT = 2
"""How many times a title's tokens count in a chunk's BM25 document."""


@lru_cache(maxsize=1)
def code_version() -> str:
    """Changes whenever the code deciding a chunk's BM25 tokens changes: this module, the lexicon (whole-paper
    chunks take their tokens from it) and ``rag.text`` (the tokenizer)."""
    import rag.index.lexicon
    import rag.text

    return modules_digest(sys.modules[__name__], rag.index.lexicon, rag.text)


def doc_tokens(text: str) -> list[str]:
    """Tokens of a chunk text ``title\\nabstract``, the title counted ``TITLE_WEIGHT`` times."""
    title, _, body = text.partition("\n")
    return tokenize(title) * TITLE_WEIGHT + tokenize(body)


def _chunk_tokens(pid: str, text: str, papers: Mapping[str, Paper] | None, lexicon: Lexicon | None) -> list[str]:
    paper = papers.get(pid) if papers is not None else None
    whole = paper is not None and "\n" not in paper.title and text == f"{paper.title}\n{paper.abstract}"
    if lexicon is not None and whole and pid in lexicon:
        return lexicon.words(pid, "title") * TITLE_WEIGHT + lexicon.words(pid, "body")
    return doc_tokens(text)


class KeywordIndex:
    """BM25 scores over chunks; ``paper_ids[i]`` is the paper of chunk ``i``."""

    def __init__(self, retriever: bm25s.BM25, paper_ids: Sequence[str]) -> None:
        self.retriever = retriever
        self.paper_ids = list(paper_ids)

    @classmethod
    def build(
        cls, paper_ids: Sequence[str], texts: Sequence[str], papers: Mapping[str, Paper] | None = None,
        lexicon: Lexicon | None = None,
    ) -> KeywordIndex:  # fmt: skip
        """The index of the chunks; a chunk that is its paper's whole title and abstract takes its tokens from
        ``lexicon`` (the same tokens, already made: most of a rebuild's time at 50,000 papers)."""
        retriever = bm25s.BM25(k1=1.2, b=0.75)
        corpus = [
            _chunk_tokens(pid, t, papers, lexicon) or ["\x00empty"] for pid, t in zip(paper_ids, texts, strict=True)
        ]
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
        """Write to a temporary folder, then swap it in: readers never see a half-written index. A disk that
        cannot be written raises ``StorageError`` naming the fix (and leaves the old index in place)."""
        with replacing(folder) as tmp:
            if self.paper_ids:
                self.retriever.save(str(tmp))
            files = {f.name: _sha256(f) for f in sorted(tmp.iterdir())}
            meta = {"fingerprint": fingerprint, "code": code_version(), "paper_ids": self.paper_ids, "files": files}
            (tmp / "meta.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, folder: Path, fingerprint: str) -> KeywordIndex | None:
        """The saved index if it matches ``fingerprint`` and every file is intact, else None (rebuild it)."""
        try:
            meta = json.loads((folder / "meta.json").read_text())
            if meta.get("fingerprint") != fingerprint or meta.get("code") != code_version():
                return None
            files = meta.get("files")
            if files is None:  # saved before checksums were recorded: rebuilt once, silently
                return None
            if {f.name for f in folder.iterdir()} != {*files, "meta.json"}:
                raise ValueError("files added or missing")
            for name, digest in files.items():
                if _sha256(folder / name) != digest:
                    raise ValueError(f"{name} changed since it was saved")
            if not meta["paper_ids"]:
                return cls(bm25s.BM25(), [])
            index = cls(bm25s.BM25.load(str(folder)), meta["paper_ids"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("the BM25 index in %s is damaged (%s); rebuilding it from the stored texts", folder, exc)
            return None
        return index


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
