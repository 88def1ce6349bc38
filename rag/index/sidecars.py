"""What an ingest leaves beside the index, and reads back from it: the manifest (``rag.index.manifest``) and
the snapshot (``rag.index.snapshot``), each saved only when no other writer wrote during the ingest, the
stored papers' state read from whichever of them matches the store (else from the store itself), and the
lexicon (``rag.index.lexicon``) brought up to date.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from rag.errors import RagError
from rag.index.lexicon import is_current, lexicon_for
from rag.index.manifest import Manifest, discard, manifest_path
from rag.index.plan import Plan, manifest_for
from rag.index.snapshot import Snapshot, current, load_memo, snapshot_dir
from rag.index.spool import Spool
from rag.index.store import Store
from rag.types import Paper

log = logging.getLogger(__name__)


def save_manifest(
    path: Path, papers: Sequence[Paper], store: Store, plan: Plan, written: dict[str, str]
) -> Manifest | None:
    """The manifest of the store as this ingest left it, saved, if no one else wrote meanwhile (else none: the
    next ingest reads the index). A manifest that cannot be written is only a slower next ingest. The stored
    counts are read before the stamp: every write changes the stamp before and after its records, so an
    unchanged stamp means the counts are the store's at that stamp."""
    counts = store.counts(len(papers))
    stamp = store.stamp()
    if store.interleaved or (store.last_stamp is not None and stamp != store.last_stamp):
        discard(path)
        return None
    manifest = replace(manifest_for(papers, stamp, plan, written), counts=(counts["chunks"], counts["sentences"]))
    try:
        manifest.save(path)
    except OSError as exc:
        log.warning("could not write the ingest manifest %s (%s); the next ingest reads the index", path, exc)
        discard(path)
    return manifest


def stored_counts(store: Store, manifest: Manifest | None) -> dict[str, int]:
    """Papers, chunks and sentences stored: the counts the manifest recorded at the store's current stamp (no
    Chroma ``count``: 1.5 s at 50,000 papers), else counted (a manifest written before counts were recorded)."""
    if manifest is not None and manifest.counts is not None:
        return {"papers": len(manifest.entries), "chunks": manifest.counts[0], "sentences": manifest.counts[1]}
    return store.counts(len(manifest.entries) if manifest is not None else None)


def snapshot_before(store: Store, data_dir: Path, plan: Plan) -> Snapshot | None:
    """The snapshot of the store before this ingest (empty for an empty store), or None if there is none."""
    if not plan.stored:
        return Snapshot.empty()
    return load_memo(snapshot_dir(data_dir, store.embedder_name), store.stamp())


def save_snapshot(
    store: Store, data_dir: Path, spool: Spool, old: Snapshot | None, papers: Sequence[Paper], manifest: Manifest | None
) -> None:
    """The snapshot after this ingest: the old one plus what it wrote (no read of the index), or read back from
    the store when there was none. None when another writer wrote meanwhile (the manifest was not saved)."""
    folder = snapshot_dir(data_dir, store.embedder_name)
    if manifest is None:
        return
    try:
        if old is not None and not spool.failed:
            spool.save_merged(old, papers, folder, manifest.stamp)
        else:
            current(store, data_dir)
    except RagError as exc:  # only a slower start: the app reads the index instead
        log.warning("could not save the index snapshot: %s", exc)


def stored_state(store: Store, data_dir: Path) -> dict[str, str]:
    """``Store.state``, from the ingest manifest or else the index snapshot while one matches the store (a file
    read instead of every stored record). From a snapshot it also counts a paper a killed write left
    incomplete, as the snapshot's chunk texts (the BM25 index's input) do."""
    stamp = store.stamp()
    manifest = Manifest.load(manifest_path(data_dir, store.embedder_name), stamp)
    if manifest is not None:
        return manifest.state()
    snapshot = load_memo(snapshot_dir(data_dir, store.embedder_name), stamp)
    if snapshot is not None:
        return {pid: paper.content_hash for pid, paper in snapshot.papers.items()}
    return store.state()


def refresh_lexicon(store: Store, data_dir: Path) -> None:
    """Bring the saved lexicon (``rag.index.lexicon``) up to the store's content, so the first query after an
    ingest tokenises no abstract (reading only its key when it is current). A Chroma server's store keeps it in
    the local ``data_dir``, keyed by the server's stamp, like the snapshot."""
    stamp = store.stamp()
    if not is_current(data_dir, store.embedder_name, stamp):
        lexicon_for(current(store, data_dir).papers, data_dir, store.embedder_name, stamp)
