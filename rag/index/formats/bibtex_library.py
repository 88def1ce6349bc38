"""A ``.bib`` file as entries, read by ``bibtexparser``, with the repeats of merged files read as BibTeX reads them.

bibtexparser 2 returns an entry whose key was used before (``DuplicateBlockKeyBlock``) or that names a field
twice (``DuplicateFieldKeyBlock``) as a failed block that none of its middlewares touch: such an entry kept its
braces and quotes, its ``Last, First and Last, First`` authors read as one name and its ``nips # " 27"`` as
written. Here those entries go through the middlewares like any other: an entry with a repeated key is read as a
paper like the others (de-duplication decides whether it is one), a repeated field keeps its first value, as BibTeX
does, with a one-line warning naming the file and the line, and an ``@string`` defined again keeps its first text.

A ``%`` comment inside an entry (biber reads them; JabRef and people write them) is removed before parsing, as is a
line starting with ``%`` between entries: bibtexparser glued an entry's comment to the next field name ("entry
'e1' has no title" for an entry with a title) and read an entry commented out line by line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import bibtexparser
from bibtexparser import middlewares
from bibtexparser.library import Library
from bibtexparser.middlewares.parsestack import default_parse_stack
from bibtexparser.model import Block, DuplicateBlockKeyBlock, DuplicateFieldKeyBlock, Entry, ParsingFailedBlock, String

from rag.errors import CorpusError
from rag.index.formats.bibtex_macros import resolve_macros, string_values

log = logging.getLogger(__name__)

_TOKEN = re.compile(r'[@{}()"%\n]')
_BLOCK_START = re.compile(r"@\s*([A-Za-z]+)\s*([{(])")
_KEY_MARK = "\x00"
"""Joins a repeated key to its position while the middlewares run (a library holds each key once)."""


@contextmanager
def _quiet() -> Iterator[None]:
    """bibtexparser logs every block it cannot parse; those become ``CorpusError``s here instead."""
    logger = logging.getLogger("bibtexparser")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


def _comment_end(text: str, start: int) -> int:
    end = text.find("\n", start)
    return len(text) if end < 0 else end


def _comments(text: str) -> Iterator[tuple[int, int]]:
    """Where the ``%`` comments are: from a ``%`` to the end of its line, at an entry's own level (between its
    fields, not in a braced or quoted value), or starting a line between entries. An ``@comment`` is left alone."""
    closer, depth, quoted, strip, i = "", 0, False, False, 0
    while (token := _TOKEN.search(text, i)) is not None:
        ch, i = token.group(), token.end()
        if not closer:
            block = _BLOCK_START.match(text, token.start()) if ch == "@" else None
            if block is not None:
                closer, depth, quoted, i = "}" if block.group(2) == "{" else ")", 0, False, block.end()
                strip = block.group(1).lower() != "comment"
            elif ch == "%" and not text[text.rfind("\n", 0, token.start()) + 1 : token.start()].strip():
                i = _comment_end(text, token.start())
                yield token.start(), i
            continue
        top = depth == 0 and not quoted
        if ch == "%" and top and strip:
            i = _comment_end(text, token.start())
            yield token.start(), i
        elif ch == "{":
            depth += 1
        elif ch == closer and top:
            closer = ""
        elif ch == "}":
            depth = max(depth - 1, 0)
        elif ch == '"' and depth == 0:
            quoted = not quoted


def without_comments(text: str) -> str:
    """``text`` without its ``%`` comments (``_comments``); every line stays where it was."""
    if "%" not in text:
        return text
    parts, last = [], 0
    for start, end in _comments(text):
        parts.append(text[last:start])
        last = end
    return "".join(parts) + text[last:] if parts else text


def _first_fields(path: Path, entry: Entry) -> Entry:
    """``entry`` with each field name once (case aside): the first value, as BibTeX keeps it, and a warning for
    each repeat."""
    seen: set[str] = set()
    kept = []
    for field in entry.fields:
        name = field.key.strip().lower()
        if name not in seen:
            seen.add(name)
            kept.append(field)
            continue
        line = (field.start_line or entry.start_line or 0) + 1
        log.warning("%s:%d: entry %r names the field %r a second time; the first value is kept (remove one)",
                    path, line, entry.key, field.key.strip())  # fmt: skip
    if len(kept) < len(entry.fields):
        entry.fields = kept
    return entry


def _string_again(path: Path, block: DuplicateBlockKeyBlock, string: String) -> None:
    """An ``@string`` defined a second time (two files merged) keeps its first text; a different one says so."""
    first = block.previous_block
    if isinstance(first, String) and first.value != string.value:
        log.warning("%s:%d: @string %r is defined again with another text; the first is kept",
                    path, (block.start_line or 0) + 1, string.key)  # fmt: skip


def _unwrapped(path: Path, blocks: Sequence[Block]) -> list[Block]:
    """The blocks as split, the repeats of merged files read as plain blocks: each entry with its fields once,
    a repeated entry key made unique (``_KEY_MARK`` and its position) until the middlewares have run."""
    out: list[Block] = []
    keys: set[str] = set()
    for n, block in enumerate(blocks):
        if isinstance(block, DuplicateBlockKeyBlock) and isinstance(block.ignore_error_block, String):
            _string_again(path, block, block.ignore_error_block)
            continue
        if isinstance(block, DuplicateFieldKeyBlock | DuplicateBlockKeyBlock):
            block = block.ignore_error_block or block
        if isinstance(block, Entry):
            block = _first_fields(path, block)
            if block.key in keys:
                block.key = f"{block.key}{_KEY_MARK}{n}"
            keys.add(block.key)
        out.append(block)
    return out


def _parsed(path: Path, text: str) -> Library:
    """The file split by bibtexparser, then its parse stack (macros resolved, braces and quotes removed, field
    names lower-cased) applied to every entry, also the repeats of merged files."""
    with _quiet():
        library = bibtexparser.parse_string(without_comments(text), parse_stack=[])
        library = Library(_unwrapped(path, library.blocks), fail_on_duplicate_key=False)
        for middleware in (*default_parse_stack(), middlewares.NormalizeFieldKeys()):
            library = middleware.transform(library)
    return library


def _failed(path: Path, library: Library) -> list[Entry]:
    """The entries of blocks a middleware failed on (kept as they are); any other failed block is an error."""
    entries = []
    for block in library.failed_blocks:
        kept = getattr(block, "ignore_error_block", None)
        if isinstance(kept, Entry):
            entries.append(kept)
            continue
        why = str(getattr(block, "error", "")).strip().splitlines()
        reason = f" ({why[-1].strip()[:160]})" if why else ""
        if isinstance(block, ParsingFailedBlock):
            raise CorpusError(str(path), (block.start_line or 0) + 1, f"not valid BibTeX{reason}; fix the entry")
        raise CorpusError(str(path), (block.start_line or 0) + 1, f"this BibTeX block cannot be used{reason}")
    return entries


def read_entries(path: Path, text: str) -> list[Entry]:
    """Every entry of the file in order, ``#`` concatenations and ``@string`` macros resolved; a block that is
    not BibTeX, or an undefined macro in a title or abstract, is a ``CorpusError`` at its line."""
    library = _parsed(path, text)
    entries = [*library.entries, *_failed(path, library)]
    try:
        strings = string_values({k: s.value for k, s in library.strings_dict.items() if isinstance(s.value, str)})
    except ValueError as exc:
        raise CorpusError(str(path), None, f"an @string: {exc}") from exc
    for entry in entries:
        entry.key = entry.key.split(_KEY_MARK)[0]
        try:
            resolve_macros(entry, strings)
        except ValueError as exc:
            raise CorpusError(str(path), (entry.start_line or 0) + 1, f"entry {entry.key!r}: {exc}") from exc
    return sorted(entries, key=lambda e: e.start_line or 0)
