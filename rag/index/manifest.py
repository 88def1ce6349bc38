"""The ingest manifest: a sidecar file in the data dir that spares a re-ingest from reading the whole index back.

After every completed ingest the manifest records, per stored paper, its content hash, a hash of its stored
layout (chunk texts and sentence spans) and a hash of its stored record (the ``Paper`` metadata), together
with the store's stamp (``Store.stamp``) read after the last write. The next ingest trusts it only while the
stamp is the same: every committed write, by any process or client, changes the stamp *before* it changes a
record (``Store.write``), so a write by another process, a kill mid-ingest or a reset index makes the
manifest stale and the ingest reads Chroma instead, exactly as without a manifest. A damaged file (bad JSON,
a checksum that does not match, wrong shapes) is treated the same way: stale, never an error.

The layout hashes are only compared again when the code that makes a layout changed (``layout_version``:
the chunker, the tokenizer and the sentence splitter's sources): computing every paper's layout costs about
0.5 ms a paper, too much for a no-op re-ingest of 50,000 papers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from rag.index.store_client import embedder_key
from rag.index.store_records import paper_record
from rag.resources import modules_digest
from rag.types import Paper, Span

log = logging.getLogger(__name__)
VERSION = 1


def manifest_path(data_dir: Path, embedder_name: str) -> Path:
    return data_dir / f"manifest-{embedder_key(embedder_name)}.json"


def layout_hash(chunk_texts: Iterable[str], spans: Iterable[Span]) -> str:
    """Hash of a paper's layout: its chunk texts and sentence spans in order (``Store.layout``'s value)."""
    digest = hashlib.sha256()
    for text in chunk_texts:
        digest.update(f"c{len(text)}:{text}".encode())
    for span in spans:
        digest.update(f"s{span.start}-{span.end};".encode())
    return digest.hexdigest()[:16]


def record_hash(paper: Paper) -> str:
    """Hash of a paper's stored record (every metadata field): a change means ``Store.update_papers``."""
    return hashlib.sha256(json.dumps(paper_record(paper), sort_keys=True).encode()).hexdigest()[:16]


def layout_version() -> str:
    """Changes whenever the code deciding a paper's layout changes: the sources of the chunker, the token
    counter and the sentence splitter, and tiktoken's version."""
    import tiktoken

    import rag.index.chunking
    import rag.index.tokens
    import rag.text

    return modules_digest(rag.index.chunking, rag.index.tokens, rag.text, salt=getattr(tiktoken, "__version__", ""))


@dataclass(frozen=True, slots=True)
class Entry:
    content_hash: str
    layout: str
    record: str


@dataclass(frozen=True, slots=True)
class Manifest:
    stamp: str
    layout_version: str
    entries: Mapping[str, Entry]
    counts: tuple[int, int] | None = None
    """(chunks, sentences) Chroma held at ``stamp``, so a no-op re-ingest reports them without counting (two
    Chroma ``count`` calls: 1.5 s at 50,000 papers); None in manifests written before it was recorded."""

    def state(self) -> dict[str, str]:
        """``paper_id -> content_hash``, as ``Store.state`` reads it."""
        return {pid: e.content_hash for pid, e in self.entries.items()}

    def save(self, path: Path) -> None:
        """Written to a temporary file and renamed over the old one: a reader sees the old or the new one."""
        body = {
            "version": VERSION,
            "stamp": self.stamp,
            "layout_version": self.layout_version,
            "entries": {pid: [e.content_hash, e.layout, e.record] for pid, e in sorted(self.entries.items())},
            "counts": list(self.counts) if self.counts is not None else None,
        }
        text = json.dumps(body, separators=(",", ":"))
        payload = json.dumps({"sha256": hashlib.sha256(text.encode()).hexdigest(), "body": text})
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path, stamp: str) -> Manifest | None:
        """The manifest if it is intact and was written at ``stamp`` (the store's current one), else None."""
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            text = payload["body"]
            if hashlib.sha256(text.encode()).hexdigest() != payload["sha256"]:
                raise ValueError("its checksum does not match")
            body = json.loads(text)
            if body["version"] != VERSION or body["stamp"] != stamp:
                return None
            entries = {str(pid): Entry(*map(str, row)) for pid, row in body["entries"].items()}
            return cls(stamp, str(body["layout_version"]), MappingProxyType(entries), _counts(body.get("counts")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            log.warning("the ingest manifest %s is damaged (%s); reading the index instead", path, exc)
            return None


def _counts(value: object) -> tuple[int, int] | None:
    """The recorded (chunks, sentences): absent is None; anything but two non-negative integers is damage."""
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 2 and all(type(v) is int and v >= 0 for v in value)):
        raise ValueError(f"its counts are not two non-negative integers: {str(value)[:40]}")
    return value[0], value[1]


def discard(path: Path) -> None:
    """Remove a manifest (an ingest that cannot vouch for the result leaves none)."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not remove the ingest manifest %s: %s", path, exc)
