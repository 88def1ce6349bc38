"""What an ingest has to do: which papers to embed, which stored records to refresh, which papers to delete.

Read from the ingest manifest (``rag.index.manifest``) while it matches the store's stamp, else from the
index itself (every stored record read back: ~1 s per 1,000 papers). Both give the same plan; after a
completed ingest the store holds exactly the input papers, so the next manifest is made from them
(``manifest_for``) without reading anything back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from rag.errors import ConfigError
from rag.index.chunking import chunk_paper
from rag.index.manifest import Entry, Manifest, layout_hash, layout_version, manifest_path, record_hash
from rag.index.store import Store
from rag.resources import data_path
from rag.text import split_sentences
from rag.types import Paper, Span


def expected_layout(paper: Paper) -> tuple[tuple[str, ...], tuple[Span, ...]]:
    """What ``rag.index.batch.embed_and_write`` stores for a paper: its chunk texts and sentence spans
    (``Store.layout``)."""
    return tuple(c.text for c in chunk_paper(paper)), tuple(split_sentences(paper.abstract))


def expected_layout_hash(paper: Paper) -> str:
    return layout_hash(*expected_layout(paper))


@dataclass(frozen=True, slots=True)
class Plan:
    stored: dict[str, str]
    """``paper_id -> content_hash`` of the papers stored completely before this ingest."""
    todo: list[Paper]
    """Papers to embed and write: new, changed, or stored with another layout than today's code makes."""
    relabel: list[Paper]
    """Unchanged papers whose stored record (metadata) differs from the input's."""
    removed: list[str]
    """Paper ids to delete: no longer in the inputs, or leftovers of an interrupted run."""
    previous: Manifest | None = None
    """The manifest the plan was read from (None: read from the index)."""
    layout_hashes: dict[str, str] = field(default_factory=dict)
    """Layout hashes computed while planning (reused by ``manifest_for``)."""


def check_removal(stored: dict[str, str], wanted: set[str], *, prune: bool) -> None:
    """Refuse (``ConfigError``) an ingest that would delete more than half of the indexed papers, unless
    ``prune``: a mistyped path must not empty the index."""
    gone = sum(1 for pid in stored if pid not in wanted)
    if not prune and gone * 2 > len(stored):
        raise ConfigError(
            f"this ingest would remove {gone} of the {len(stored)} indexed papers (they are not in the inputs "
            f"given, which hold {len(wanted)}); nothing was changed. To add papers, name the indexed ones' files "
            f"too (the bundled corpus is {data_path('corpus')}); to replace them, rerun with "
            "`rag ingest --prune PATH ...`, or `rag ingest --rebuild PATH ...` to start over"
        )


def plan_ingest(papers: Sequence[Paper], store: Store, data_dir: Path, stamp: str, *, prune: bool) -> Plan:
    """The plan for making ``store`` (whose stamp is ``stamp``) hold exactly ``papers`` (``ConfigError`` from
    ``check_removal``)."""
    manifest = Manifest.load(manifest_path(data_dir, store.embedder_name), stamp)
    if manifest is not None:
        return _from_manifest(papers, manifest, prune=prune)
    return _from_store(papers, store, prune=prune)


def _from_store(papers: Sequence[Paper], store: Store, *, prune: bool) -> Plan:
    stored = store.state()
    wanted = {p.id for p in papers}
    check_removal(stored, wanted, prune=prune)
    layout = store.layout() if stored else {}
    # a paper is redone when its text changed, or when the current chunker / sentence splitter would
    # store it differently than it is stored (a fix there heals the index on the next ingest)
    todo, hashes = [], {}
    for p in papers:
        if stored.get(p.id) != p.content_hash or layout.get(p.id) != expected_layout(p):
            todo.append(p)
        else:
            hashes[p.id] = layout_hash(*layout[p.id])
    todo_ids = {p.id for p in todo}
    stored_papers = store.papers() if len(todo) < len(papers) else {}
    relabel = [p for p in papers if p.id not in todo_ids and stored_papers.get(p.id) != p]
    removed = sorted(store.all_paper_ids() - wanted)  # includes leftovers of an interrupted run
    return Plan(stored, todo, relabel, removed, layout_hashes=hashes)


def _from_manifest(papers: Sequence[Paper], manifest: Manifest, *, prune: bool) -> Plan:
    stored = manifest.state()
    wanted = {p.id for p in papers}
    check_removal(stored, wanted, prune=prune)
    entries = manifest.entries
    recheck = manifest.layout_version != layout_version()
    hashes: dict[str, str] = {}
    todo = []
    for p in papers:
        entry = entries.get(p.id)
        if entry is None or entry.content_hash != p.content_hash:
            todo.append(p)
        elif recheck:
            hashes[p.id] = expected_layout_hash(p)
            if hashes[p.id] != entry.layout:
                todo.append(p)
    todo_ids = {p.id for p in todo}
    relabel = [p for p in papers if p.id not in todo_ids and entries[p.id].record != record_hash(p)]
    removed = sorted(set(entries) - wanted)  # a manifest is only written when no leftovers remain
    return Plan(stored, todo, relabel, removed, manifest, hashes)


def manifest_for(papers: Sequence[Paper], stamp: str, plan: Plan, written: Mapping[str, str]) -> Manifest:
    """The manifest of a store holding exactly ``papers`` (a completed ingest), at ``stamp``. Layout hashes
    come from what this ingest wrote (``written``), the plan, or the previous manifest for unchanged papers; any
    other is computed."""
    todo = {p.id for p in plan.todo}
    previous = plan.previous
    old = previous.entries if previous is not None and previous.layout_version == layout_version() else {}
    entries = {}
    for p in papers:
        known = written.get(p.id) or plan.layout_hashes.get(p.id)
        if known is None and p.id in old and p.id not in todo:
            known = old[p.id].layout
        entries[p.id] = Entry(p.content_hash, known or expected_layout_hash(p), record_hash(p))
    return Manifest(stamp, layout_version(), MappingProxyType(entries))
