"""How a paper is laid out in Chroma's records: record ids, the paper filter, the stored paper record, the
fingerprint of a stored state, and ``StoredSentence`` (an abstract sentence as its record keeps it). Shared by
the reading (``store_reader``) and writing (``store``) halves of ``Store`` and by the ingest's sidecar files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, fields
from typing import Any

from rag.types import Paper, Span


def chunk_id(paper_id: str, index: int) -> str:
    return f"{paper_id}:{index}"


def sentence_id(paper_id: str, index: int) -> str:
    return f"{paper_id}:s{index}"


def record_paper(record_id: str) -> str:
    """The paper of a chunk or sentence record id (``<paper id>:<n>`` / ``<paper id>:s<n>``)."""
    return record_id.rpartition(":")[0]


def paper_filter(paper_ids: Collection[str]) -> dict[str, Any]:
    return {"paper_id": {"$in": list(paper_ids)}}


_PAPER_FIELDS = tuple(f.name for f in fields(Paper))


def paper_record(paper: Paper) -> dict[str, Any]:
    """``paper.to_dict()`` (every field is flat), 20x faster than ``dataclasses.asdict``: it runs per paper."""
    return {name: getattr(paper, name) for name in _PAPER_FIELDS}


def fingerprint_of(embedder_name: str, state: dict[str, str]) -> str:
    """``Store.fingerprint`` of a store whose ``state`` is known (read from the ingest manifest)."""
    digest = hashlib.sha256(embedder_name.encode())
    for pid, h in sorted(state.items()):
        digest.update(f"{pid}:{h};".encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class StoredSentence:
    paper_id: str
    index: int
    span: Span

