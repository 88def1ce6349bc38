"""Parsed inputs kept in the data dir, so an ingest skips parsing files it has parsed before.

Parsing and de-duplicating is most of a re-ingest at scale: 50,000 papers in the arXiv dump format take ~20 s
to parse (LaTeX to text for every title and abstract) and ~10 s to de-duplicate, against ~3 s for a no-op
ingest itself. Two caches, both keyed by content (an edit that keeps a file's size and time is still seen)
and by the sources of the parsing code:

- ``parsed/<digest>.json``: one file's records, keyed by its path as given, its size and its SHA-256; an
  ingest that adds a file parses only that file.
- ``parsed-inputs.json``: the de-duplicated papers of the last set of inputs; the same inputs again skip
  the de-duplication too.

A missing, damaged or unreadable cache is a miss, never an error; only regular files are cached (a FIFO can
be read once); errors in the inputs are never cached (parsing raises before anything is written).
"""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Iterable
from dataclasses import asdict, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.index.atomic import read_cache, write_cache
from rag.index.corpus import Record, load_papers, parse_file
from rag.index.files import expand_paths
from rag.index.formats.meta import Metadata
from rag.resources import source_digest
from rag.types import Paper

CACHE = "parsed-inputs.json"
RECORDS = "parsed"


def parsed_papers(paths: Iterable[Path], data_dir: Path) -> list[Paper]:
    """``load_papers(paths)``, with every file parsed before (byte for byte the same) read from the cache."""
    paths = list(paths)
    digests = file_digests(paths)
    if digests is None:
        return load_papers(paths)
    key = _digest(*digests.values())  # each file's digest holds the parsers' version
    cached = read_cache(data_dir / CACHE, key, lambda d: [Paper.from_dict(p) for p in d])
    if cached is not None:
        return cached

    rewritten: list[Path] = []

    def parse(path: Path) -> list[Record]:
        where = data_dir / RECORDS / f"{_digest(str(path))}.json"
        records = read_cache(where, digests[path], lambda d: [_record(r) for r in d])
        if records is None:
            records = parse_file(path)
            if file_digests([path]) != {path: digests[path]}:  # rewritten while it was parsed: not its digest's
                rewritten.append(path)
                return records
            write_cache(where, {"key": digests[path], "items": [asdict(r) for r in records]})
        return records

    papers = load_papers(paths, parse)
    if rewritten:  # these papers belong to no one set of digests
        return papers
    names = [f.name for f in fields(Paper)]  # asdict's deep copies cost 4 s at 50,000 papers
    write_cache(data_dir / CACHE, {"key": key, "items": [{name: getattr(p, name) for name in names} for p in papers]})
    return papers


def file_digests(paths: list[Path]) -> dict[Path, str] | None:
    """Per input file, a digest of the parsing code, its path as given, its size and content; None when an
    input is not a regular file or cannot be read (then nothing is cached and parsing reports the problem)."""
    out: dict[Path, str] = {}
    version = _code_version()
    try:
        for path in expand_paths(paths, quiet=True):  # the corpus reader lists them again, and warns
            info = path.stat()
            if not stat.S_ISREG(info.st_mode):
                return None
            with path.open("rb") as fh:
                content = hashlib.file_digest(fh, "sha256").hexdigest()
            out[path] = _digest(version, str(path), str(info.st_size), content)
    except (OSError, ValueError, RagError):  # expand_paths' errors (no such file, ...): parsing reports them
        return None
    return out


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@lru_cache(maxsize=1)
def _code_version() -> str:
    """The sources of the parsers, the de-duplication and the text rules they use (titles make paper ids), and
    the versions of the parsing libraries: a change to any is a miss."""
    from importlib.metadata import version

    import rag.index.corpus
    import rag.index.files
    import rag.index.formats
    import rag.index.namesakes
    import rag.text
    import rag.types

    folder = Path(rag.index.formats.__file__).parent
    modules = [rag.index.corpus, rag.index.files, rag.index.namesakes, rag.text, rag.types]
    code = source_digest([*(Path(str(m.__file__)) for m in modules), *sorted(folder.glob("*.py"))])
    return _digest(code, *(f"{name} {version(name)}" for name in ("pylatexenc", "bibtexparser")))


def _record(data: dict[str, Any]) -> Record:
    meta: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data["meta"].items()}
    return Record(data["title"], data["abstract"], data["source"], data["listing_date"], Metadata(**meta))
