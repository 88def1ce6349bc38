"""Corpus file formats: listing pages, JSON lines (plain rows and the arXiv metadata dump), CSV and BibTeX,
each parsed into ``Record``s (title, abstract, where it was found, and its ``Metadata``).

``parse_text`` picks the parser by content (``detect.detect_format``), whatever the file's name.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rag.index.formats.base import MAX_ABSTRACT_CHARS, MAX_LINE_CHARS, MAX_TITLE_CHARS, Record, read_text
from rag.index.formats.bibtex import parse_bibtex
from rag.index.formats.detect import Format, detect_format
from rag.index.formats.listing import BOILERPLATE, parse_listing
from rag.index.formats.meta import Metadata
from rag.index.formats.rows import parse_csv, parse_jsonl

__all__ = [
    "BOILERPLATE", "MAX_ABSTRACT_CHARS", "MAX_LINE_CHARS", "MAX_TITLE_CHARS", "PARSERS", "Format", "Metadata",
    "Record", "detect_format", "parse_bibtex", "parse_csv", "parse_file", "parse_jsonl", "parse_listing",
]  # fmt: skip

PARSERS: dict[Format, Callable[[Path, str], list[Record]]] = {
    "jsonl": parse_jsonl,
    "bibtex": parse_bibtex,
    "csv": parse_csv,
    "listing": parse_listing,
}


def parse_file(path: Path) -> list[Record]:
    """Parse one file in the format its content shows (see ``detect_format``)."""
    text = read_text(path)
    return PARSERS[detect_format(text, path.suffix)](path, text)
