"""The papers of the last inputs an ingest parsed, kept in the data dir so an ingest of unchanged files skips
parsing them again.

Parsing and de-duplicating is most of a no-op re-ingest at scale: 50,000 papers in the arXiv dump format take
~20 s to parse (LaTeX to text for every title and abstract) and ~10 s to de-duplicate, against ~3 s for the
ingest itself. ``<data dir>/parsed-inputs.json`` holds the papers with a key made of every input file's
resolved path, size and SHA-256 (its content, so an edit that keeps the size and time is still seen) and the
sources of the parsing code; any difference is a miss, and a missing, damaged or unreadable file is a miss,
never an error. Only regular files are cached (a FIFO cannot be read twice). Errors in the inputs are never
cached: ``load_papers`` raises before anything is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from rag.errors import RagError
from rag.index.corpus import load_papers
from rag.index.files import expand_paths
from rag.types import Paper

log = logging.getLogger(__name__)
CACHE = "parsed-inputs.json"


def parsed_papers(paths: Iterable[Path], data_dir: Path) -> list[Paper]:
    """``load_papers(paths)``, taken from the data dir's cache when every input is byte for byte the same."""
    paths = list(paths)
    key = inputs_key(paths)
    cache = data_dir / CACHE
    if key is not None:
        cached = _read(cache, key)
        if cached is not None:
            return cached
    papers = load_papers(paths)
    if key is not None:
        _write(cache, key, papers)
    return papers


def inputs_key(paths: list[Path]) -> str | None:
    """A digest of the parsing code and every input file (path, size, content); None when an input is not a
    regular file or cannot be read (then nothing is cached and ``load_papers`` reports the problem)."""
    digest = hashlib.sha256(_code_version().encode())
    try:
        for path in expand_paths(paths):
            info = path.stat()
            if not stat.S_ISREG(info.st_mode):
                return None
            digest.update(f"{path.resolve()}\0{info.st_size}\0".encode())
            with path.open("rb") as fh:
                digest.update(hashlib.file_digest(fh, "sha256").digest())
    except (OSError, ValueError, RagError):  # expand_paths' errors (no such file, ...): load_papers reports them
        return None
    return digest.hexdigest()


def _code_version() -> str:
    """The sources of the parsers and the de-duplication: a change to them is a miss."""
    import rag.index.corpus
    import rag.index.formats

    digest = hashlib.sha256()
    folder = Path(rag.index.formats.__file__).parent
    for source in [Path(rag.index.corpus.__file__), *sorted(folder.glob("*.py"))]:
        digest.update(source.read_bytes())
    return digest.hexdigest()


def _read(cache: Path, key: str) -> list[Paper] | None:
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        if data.get("key") != key:
            return None
        return [Paper.from_dict(d) for d in data["papers"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write(cache: Path, key: str, papers: list[Paper]) -> None:
    tmp = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"key": key, "papers": [p.to_dict() for p in papers]}), encoding="utf-8")
        tmp.replace(cache)
    except OSError as exc:  # a full or read-only disk: only a slower next ingest
        log.warning("could not cache the parsed inputs: %s", exc)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
