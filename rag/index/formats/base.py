"""What every format shares: the ``Record`` a parser yields, the limits, and reading a file as text."""

from __future__ import annotations

import json
import re
import unicodedata
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import CorpusError
from rag.index.files import read_bytes
from rag.index.formats.meta import Metadata

MAX_LINE_CHARS = 100_000
MAX_TITLE_CHARS = 400
"""Title limit of every format (a longer line in a listing is taken for an abstract)."""
MAX_ABSTRACT_CHARS = MAX_LINE_CHARS
"""Abstract limit of every format (in a listing an abstract is one line)."""
_NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class Record:
    """One title/abstract pair as found in one file, before de-duplication."""

    title: str
    abstract: str
    source: str
    listing_date: str | None = None
    meta: Metadata = field(default_factory=Metadata)


def lines(text: str) -> list[str]:
    """Lines split at newlines only (LF, CRLF, CR), so line numbers match an editor's; ``str.splitlines``
    would also split inside a line at U+2028, U+0085, form feeds and other separators."""
    return _NEWLINE.split(text)


INVISIBLE = frozenset({"Cf", "Mn", "Me", "Zs", "Zl", "Zp", "Cc"})
"""Unicode categories that show nothing on their own: format characters, combining marks, spaces, controls."""


def check_length(name: str, value: str) -> str:
    """``value`` if within the limit of its field (``title`` or ``abstract``) and visible, else ``ValueError``."""
    limit = MAX_TITLE_CHARS if name == "title" else MAX_ABSTRACT_CHARS
    if len(value) > limit:
        raise ValueError(f"{name} is {len(value):,} characters; the limit is {limit:,} (the same in every format)")
    if value and all(unicodedata.category(ch) in INVISIBLE for ch in value):
        raise ValueError(f"the {name} has no visible characters (only zero-width, combining or control ones); "
                         "write it out or remove the record")  # fmt: skip
    return value


_ARCHIVES = ((b"\x1f\x8b", "gzip-compressed"), (b"PK\x03\x04", "a zip archive"), (b"BZh", "bzip2-compressed"),
             (b"\xfd7zXZ\x00", "xz-compressed"), (b"\x28\xb5\x2f\xfd", "zstd-compressed"))
"""The first bytes of the packed files people name ("arxiv-metadata-oai-snapshot.json.gz", a zip of a library)."""


def read_text(path: Path) -> str:
    """The file as UTF-8 text; empty, UTF-16, binary, undecodable or over-long-line files are ``CorpusError``s."""
    data = read_bytes(path)
    if not data.strip():
        raise CorpusError(str(path), None, "the file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CorpusError(str(path), None, "the file is UTF-16 text; save it as UTF-8")
    packed = next((name for magic, name in _ARCHIVES if data.startswith(magic)), None)
    if packed is not None:  # it had been "a binary file (it holds NUL bytes)"
        raise CorpusError(str(path), None, f"the file is {packed}; unpack it and ingest what it holds")
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data[:nul].count(b"\n") + 1
        raise CorpusError(str(path), line, "this looks like a binary file (it holds NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CorpusError(str(path), line, f"invalid UTF-8 at byte {exc.start}; save the file as UTF-8") from exc
    for number, line_text in enumerate(lines(text), start=1):
        if len(line_text) > MAX_LINE_CHARS:
            raise CorpusError(str(path), number, _long_line(line_text))
    return text


def _long_line(line: str) -> str:
    """Why a line over the limit is refused, naming the field that makes it long when the line is a JSON object
    (else the abstract, the one field that may be that long)."""
    what = "the abstract on it"
    with suppress(ValueError, RecursionError):
        data = json.loads(line)
        if isinstance(data, dict) and data:
            name, value = max(data.items(), key=lambda item: len(str(item[1])))
            what = f"its {str(name)[:40]!r} field ({len(str(value)):,} characters)"
    return (f"line is {len(line):,} characters; the limit is {MAX_LINE_CHARS:,}, that of an abstract "
            f"(a title: {MAX_TITLE_CHARS:,}): shorten {what}")
