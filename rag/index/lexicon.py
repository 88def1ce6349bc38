"""Every paper's words as the reranker's lexical features read them, kept next to the index.

The lexical and exact-match features (``rag.retrieve.features``) compare a query with each candidate's title
and abstract tokens (``rag.text.tokenize``), their bigrams and the paper's numbers. Tokenising a paper costs
~0.1 ms; at 50,000 papers most candidates of a query are new to any in-process cache (12 ms of a 36 ms
search). Here each paper's tokens and numbers are ids into one vocabulary, stored as CSR arrays (~1 KB a
paper), and a query's lexical features for all its candidates are a few array comparisons over their ids
instead of tokenising abstracts (~0.3 ms for 50 candidates).

``<data dir>/lexicon-<embedder>.npz`` holds the arrays, the store's stamp and the code's digest. It is built
at the end of an ingest, paper by paper from the previous file (a paper whose title and abstract are unchanged
keeps its rows). A missing, damaged or stale file is rebuilt the same way, never an error. For a Chroma
server the file lives in the local data dir, keyed by the server's stamp; without a data dir the lexicon is
built in memory.
"""

from __future__ import annotations

import json
import logging
import zipfile
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from rag.index.atomic import write_file
from rag.index.store_client import embedder_key
from rag.resources import modules_digest
from rag.text import numbers_in, tokenize
from rag.types import Paper

log = logging.getLogger(__name__)
PARTS = ("title", "body", "numbers")
"""Per paper: title tokens and abstract tokens (in order: bigrams are read from them) and numbers (a set)."""


class Lexicon:
    """The terms of a set of papers (rows in paper-id order) and the vocabulary their ids index."""

    def __init__(
        self, paper_ids: list[str], vocab: list[str], rows: Mapping[str, tuple[np.ndarray, np.ndarray]],
        digests: np.ndarray,
    ) -> None:  # fmt: skip
        self.paper_ids = paper_ids
        self.vocab = vocab
        self.rows = rows
        """Per part: (row pointers, int32 ids), row ``r`` at ``ids[ptr[r]:ptr[r + 1]]``."""
        self.digests = digests
        """Per paper: the first 64 bits of its ``content_hash`` (which its rows were built from)."""
        self.row = {pid: r for r, pid in enumerate(paper_ids)}
        self._ids = {token: i for i, token in enumerate(vocab)}

    def __len__(self) -> int:
        return len(self.paper_ids)

    def __contains__(self, paper_id: object) -> bool:
        return paper_id in self.row

    def id_of(self, token: str) -> int:
        """The vocabulary id of a token or number, -1 if no paper holds it."""
        return self._ids.get(token, -1)

    def _ids_of(self, part: str, r: int) -> np.ndarray:
        ptr, ids = self.rows[part]
        return ids[ptr[r] : ptr[r + 1]]

    def words(self, paper_id: str, part: str) -> list[str]:
        """A paper's tokens (``title``, ``body``) or numbers, as strings."""
        return [self.vocab[i] for i in self._ids_of(part, self.row[paper_id]).tolist()]

    def _gather(self, part: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ids, owner) of the given rows' entries, concatenated: ``owner[k]`` is the position in ``rows`` of
        the row entry ``k`` belongs to."""
        ptr, ids = self.rows[part]
        starts, lengths = ptr[rows], ptr[rows + 1] - ptr[rows]
        owner = np.repeat(np.arange(len(rows)), lengths)
        before = np.cumsum(lengths) - lengths  # where each row's entries begin in the result
        return ids[np.repeat(starts - before, lengths) + np.arange(int(lengths.sum()))], owner

    def has(self, part: str, rows: np.ndarray, wanted: Sequence[int]) -> np.ndarray:
        """bool ``(len(rows), len(wanted))``: whether row ``i`` holds id ``wanted[j]`` (-1: never)."""
        out = np.zeros((len(rows), len(wanted)), dtype=bool)
        ids, owner = self._gather(part, rows)
        for j, w in enumerate(wanted):
            if w >= 0:
                out[owner[ids == w], j] = True
        return out

    def has_pairs(self, part: str, rows: np.ndarray, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
        """bool ``(len(rows), len(pairs))``: whether id ``pairs[j][1]`` follows ``pairs[j][0]`` in row ``i``."""
        out = np.zeros((len(rows), len(pairs)), dtype=bool)
        ids, owner = self._gather(part, rows)
        first, second, same = ids[:-1], ids[1:], owner[:-1] == owner[1:]
        for j, (a, b) in enumerate(pairs):
            if a >= 0 and b >= 0:
                out[owner[:-1][same & (first == a) & (second == b)], j] = True
        return out

    @classmethod
    def build(cls, papers: Mapping[str, Paper], base: Lexicon | None = None) -> Lexicon:
        """The lexicon of ``papers``; a paper that ``base`` holds with the same content keeps its rows (and
        ``base``'s vocabulary is kept, so its ids stay valid)."""
        builder = _Builder(base)
        ids = sorted(papers)
        for pid in ids:
            builder.add(papers[pid])
        return builder.finish(ids)

    def save(self, path: Path, key: str) -> None:
        """Written whole or not at all (``atomic.write_file``); a disk that cannot take it is only logged."""
        meta = json.dumps({"paper_ids": self.paper_ids, "vocab": self.vocab}).encode()
        arrays = {"key": _bytes(key.encode()), "meta": _bytes(meta), "digests": self.digests}
        for part, (ptr, ids) in self.rows.items():
            arrays[f"{part}_ptr"], arrays[f"{part}_ids"] = ptr, ids
        savez: Any = np.savez  # its stubs type every keyword as a parameter
        write_file(path, lambda fh: savez(fh, **arrays))

    @classmethod
    def load(cls, path: Path) -> tuple[str, Lexicon] | None:
        """(its key, the lexicon) of a saved file; None when it is missing or damaged (zip CRCs are checked)."""
        try:
            with np.load(path, allow_pickle=False) as data:
                key, meta = bytes(data["key"]).decode(), json.loads(bytes(data["meta"]).decode())
                rows = {part: (data[f"{part}_ptr"], data[f"{part}_ids"]) for part in PARTS}
                lexicon = cls(list(meta["paper_ids"]), list(meta["vocab"]), rows, data["digests"])
            lexicon.check()
            return key, lexicon
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
            log.warning("the lexicon %s is damaged (%s); rebuilding it", path, exc)
            return None

    def check(self) -> None:
        """``ValueError`` unless the arrays fit together."""
        n = len(self.paper_ids)
        for part, (ptr, ids) in self.rows.items():
            ok = ptr.dtype == np.int64 and ids.dtype == np.int32 and len(ptr) == n + 1 and ptr[0] == 0
            ok = ok and ptr[-1] == len(ids) and bool(np.all(np.diff(ptr) >= 0))
            if not ok or (len(ids) and not 0 <= int(ids.min()) <= int(ids.max()) < len(self.vocab)):
                raise ValueError(f"its {part} rows do not fit together")
        if self.digests.dtype != np.uint64 or len(self.digests) != n:
            raise ValueError("its digests do not match its papers")


class _Builder:
    """Rows appended paper by paper: copied from a base lexicon where the content is unchanged, else tokenised."""

    def __init__(self, base: Lexicon | None) -> None:
        self.base = base
        self.vocab = list(base.vocab) if base is not None else []
        self.index = dict(base._ids) if base is not None else {}
        self.parts: dict[str, list[np.ndarray]] = {part: [] for part in PARTS}
        self.digests: list[int] = []

    def _intern(self, tokens: list[str]) -> np.ndarray:
        out = np.empty(len(tokens), dtype=np.int32)
        for i, token in enumerate(tokens):
            tid = self.index.get(token)
            if tid is None:
                tid = self.index[token] = len(self.vocab)
                self.vocab.append(token)
            out[i] = tid
        return out

    def add(self, paper: Paper) -> None:
        digest = int(paper.content_hash, 16)
        self.digests.append(digest)
        r = self.base.row.get(paper.id) if self.base is not None else None
        if self.base is not None and r is not None and int(self.base.digests[r]) == digest:
            for part in PARTS:
                self.parts[part].append(self.base._ids_of(part, r))
            return
        numbers = sorted(numbers_in(f"{paper.title} {paper.abstract}"))
        for part, tokens in zip(PARTS, (tokenize(paper.title), tokenize(paper.abstract), numbers), strict=True):
            self.parts[part].append(self._intern(tokens))

    def finish(self, paper_ids: list[str]) -> Lexicon:
        rows = {}
        for part, pieces in self.parts.items():
            ptr = np.zeros(len(pieces) + 1, dtype=np.int64)
            np.cumsum([len(p) for p in pieces], out=ptr[1:])
            rows[part] = (ptr, np.concatenate(pieces) if pieces else np.zeros(0, np.int32))
        return Lexicon(paper_ids, self.vocab, rows, np.array(self.digests, dtype=np.uint64))


def lexicon_path(data_dir: Path, embedder: str) -> Path:
    return data_dir / f"lexicon-{embedder_key(embedder)}.npz"


def lexicon_for(papers: Mapping[str, Paper], data_dir: Path | None, embedder: str, stamp: str) -> Lexicon:
    """The lexicon of ``papers`` (the store's at ``stamp``): the saved one when it was built at this stamp by
    this code, else built (from the saved one's rows where papers are unchanged) and saved."""
    if data_dir is None:
        return Lexicon.build(papers)
    path = lexicon_path(data_dir, embedder)
    key = f"{stamp}:{_code_version()}"
    remembered = _memo.get(path)
    if remembered is not None and remembered[0] == (key, _file_id(path)) and len(remembered[1]) == len(papers):
        return remembered[1]  # an ingest saved it and the retriever opened next in the same process reads it
    found = Lexicon.load(path)
    if found is not None and found[0] == key and len(found[1]) == len(papers):
        return _remember(path, key, found[1])
    base = found[1] if found is not None and found[0].endswith(f":{_code_version()}") else None
    if base is not None and 2 * sum(pid in base for pid in papers) < len(base):
        base = None  # most of its papers are gone: start a vocabulary without their words
    lexicon = Lexicon.build(papers, base)
    lexicon.save(path, key)
    return _remember(path, key, lexicon)


_memo: dict[Path, tuple[tuple[str, tuple[int, int, int] | None], Lexicon]] = {}
"""The last lexicon this process saved or loaded, by its key and the file's identity (a file rewritten since,
by another process or damage, is read again)."""


def _file_id(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns, info.st_ino


def _remember(path: Path, key: str, lexicon: Lexicon) -> Lexicon:
    _memo.clear()  # one is enough
    _memo[path] = ((key, _file_id(path)), lexicon)
    return lexicon


def is_current(data_dir: Path, embedder: str, stamp: str) -> bool:
    """Whether the saved lexicon was built at ``stamp`` by this code (reads only its key)."""
    try:
        with np.load(lexicon_path(data_dir, embedder), allow_pickle=False) as data:
            return bytes(data["key"]).decode() == f"{stamp}:{_code_version()}"
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return False


def _bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.uint8)


@lru_cache(maxsize=1)
def _code_version() -> str:
    import rag.index.lexicon
    import rag.text

    return modules_digest(rag.index.lexicon, rag.text)
