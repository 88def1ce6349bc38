"""The corpus's acronym table, name casing table and word table (for typos), kept next to the index so a cold start
does not read every abstract again (3.5 s of a 50,000-paper cold search for the acronyms alone).
``<data dir>/acronyms-<embedder>.json``, ``casing-<embedder>.json`` and ``spelling-<embedder>.json`` hold a table
with the store's stamp (every write changes it) and the sources of the mining code; anything else, a missing or a
damaged file, is mined afresh and saved. For a Chroma server the files live in the local data dir, keyed by the
server's stamp.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from rag.index.atomic import read_cache, write_cache
from rag.index.store_client import embedder_key
from rag.resources import modules_digest
from rag.retrieve.casing import NameCasing, mine_casing
from rag.retrieve.query import AcronymTable, mine_acronyms
from rag.retrieve.spelling import mine_spelling
from rag.types import Paper

T = TypeVar("T")


def acronym_table(papers: Iterable[Paper], data_dir: Path | None, embedder: str, stamp: str) -> AcronymTable:
    """The acronym table of ``papers``: from the cache when it was mined at this stamp by this code."""
    pairs = _cached("acronyms", papers, data_dir, embedder, stamp, mine_acronyms,
                    lambda pairs: {k: sorted(v) for k, v in pairs.items()},
                    lambda items: {str(k): {str(e) for e in v} for k, v in items.items()})  # fmt: skip
    return AcronymTable(pairs)


def name_casing(papers: Iterable[Paper], data_dir: Path | None, embedder: str, stamp: str) -> NameCasing:
    """The name casing table of ``papers`` (``rag.retrieve.casing``), cached as the acronym table is."""
    table = _cached("casing", papers, data_dir, embedder, stamp, mine_casing, dict,
                    lambda items: {str(k): str(v) for k, v in items.items()})  # fmt: skip
    return NameCasing(table)


def spelling_table(papers: Iterable[Paper], data_dir: Path | None, embedder: str, stamp: str) -> dict[str, int]:
    """The corpus's words and their counts (``rag.retrieve.spelling``), cached as the acronym table is."""
    return _cached("spelling", papers, data_dir, embedder, stamp, mine_spelling, dict,
                   lambda items: {str(k): int(v) for k, v in items.items()})  # fmt: skip


def _cached(
    name: str, papers: Iterable[Paper], data_dir: Path | None, embedder: str, stamp: str,
    mine: Callable[[Iterable[str]], T], encode: Callable[[T], Any], decode: Callable[[Any], T],
) -> T:  # fmt: skip
    """``mine`` over the papers' titles and abstracts, or what ``<name>-<embedder>.json`` kept of it at this stamp."""
    texts = (f"{p.title}. {p.abstract}" for p in papers)
    if data_dir is None:
        return mine(texts)
    path = data_dir / f"{name}-{embedder_key(embedder)}.json"
    key = f"{stamp}:{_code_version()}"
    cached = read_cache(path, key, decode)
    if cached is not None:
        return cached
    table = mine(texts)
    write_cache(path, {"key": key, "items": encode(table)})
    return table


@lru_cache(maxsize=1)
def _code_version() -> str:
    import rag.retrieve.casing
    import rag.retrieve.query
    import rag.retrieve.spelling
    import rag.text

    return modules_digest(rag.retrieve.query, rag.retrieve.casing, rag.retrieve.spelling, rag.text)
