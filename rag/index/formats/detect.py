"""Which format a file is in, told by its content whatever its name: JSON lines (plain rows or the arXiv
dump) when the first line is a JSON object, BibTeX when the first entry starts with ``@type{``, CSV when the
first line is a header naming title and abstract columns (separated by commas, tabs or semicolons), else a
listing page. When the content decides nothing, the suffix does (``.jsonl``, ``.json``, ``.csv``, ``.bib``), so a
broken file gets that format's error message naming its line.
"""

from __future__ import annotations

import json
import re
from typing import Literal

from rag.index.formats.rows import csv_delimiter

Format = Literal["jsonl", "bibtex", "csv", "listing"]

_BIB_START = re.compile(r"\A(?:\s*%[^\n]*\n|\s*\n)*\s*@\s*[A-Za-z]+\s*[{(]")
_BY_SUFFIX: dict[str, Format] = {
    ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".bib": "bibtex",
    ".bibtex": "bibtex",
}  # fmt: skip


def _first_line(text: str) -> str:
    """The first non-blank line, split at newlines only, as the parsers split (``str.splitlines`` also splits at
    U+2028, which a JSON string may hold)."""
    return next((line for line in text.split("\n") if line.strip()), "").strip()


def _is_json_object(line: str) -> bool:
    if not line.startswith("{"):
        return False
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False


def _is_csv_header(line: str) -> bool:
    return csv_delimiter(line) is not None


def detect_format(text: str, suffix: str = "") -> Format:
    """The format of a file's text (``suffix`` only breaks ties; see the module docstring)."""
    first = _first_line(text)
    if _is_json_object(first):
        return "jsonl"
    if _BIB_START.match(text):
        return "bibtex"
    if _is_csv_header(first):
        return "csv"
    return _BY_SUFFIX.get(suffix.lower(), "listing")
