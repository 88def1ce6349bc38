"""The corpus's acronym table, kept next to the index so a cold start does not mine every abstract again
(3.5 s of a 50,000-paper cold search). ``<data dir>/acronyms-<embedder>.json`` holds the pairs with the
store's stamp (every write changes it) and the sources of the mining code; anything else, a missing or a
damaged file, is mined afresh and saved. For a Chroma server the file lives in the local data dir, keyed by the
server's stamp.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from rag.index.atomic import read_cache, write_cache
from rag.index.store_client import embedder_key
from rag.resources import modules_digest
from rag.retrieve.query import AcronymTable, mine_acronyms
from rag.types import Paper


def acronym_table(papers: Iterable[Paper], data_dir: Path | None, embedder: str, stamp: str) -> AcronymTable:
    """The acronym table of ``papers``: from the cache when it was mined at this stamp by this code."""
    texts = (f"{p.title}. {p.abstract}" for p in papers)
    if data_dir is None:
        return AcronymTable(mine_acronyms(texts))
    path = data_dir / f"acronyms-{embedder_key(embedder)}.json"
    key = f"{stamp}:{_code_version()}"
    cached = read_cache(path, key, lambda items: {str(k): set(v) for k, v in items.items()})
    if cached is not None:
        return AcronymTable(cached)
    pairs = mine_acronyms(texts)
    write_cache(path, {"key": key, "items": {k: sorted(v) for k, v in pairs.items()}})
    return AcronymTable(pairs)


@lru_cache(maxsize=1)
def _code_version() -> str:
    import rag.retrieve.query
    import rag.text

    return modules_digest(rag.retrieve.query, rag.text)
