"""BibTeX's ``crossref``: a paper in a proceedings names the proceedings' entry (``crossref = {icml2020}``) instead
of repeating its venue, year and publisher, and inherits every such field it does not have, as BibTeX does.

The entry named is a container, not a paper: without an abstract it is no paper to report as missing one (it was
"entry 'parent' has no abstract", which stopped the ingest). A ``crossref`` to a key that is not in the same file
keeps the entry as it is, with a one-line warning.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from bibtexparser.model import Entry, Field

log = logging.getLogger(__name__)

INHERITED = (
    "booktitle", "journal", "journaltitle", "year", "date", "month", "publisher", "series", "volume",
    "organization", "school", "institution", "address", "editor",
)  # fmt: skip
"""What a paper takes from its container: where and when it appeared, never the container's title, authors,
abstract or identifiers (a DOI or URL of the proceedings is not the paper's)."""


def _value(entry: Entry, name: str) -> str:
    field = entry.fields_dict.get(name)
    return field.value.strip() if field is not None and isinstance(field.value, str) else ""


def _inherit(entry: Entry, parent: Entry) -> None:
    """Fill ``entry``'s missing fields from ``parent``; the parent's title is the venue (``booktitle``) when it
    has no booktitle of its own (an ``@proceedings`` written with only a title). An entry with its own year takes
    no date or month (they would contradict it)."""
    own_year = _value(entry, "year")
    for name in INHERITED:
        if name in ("date", "month") and own_year:
            continue
        value = _value(parent, name) or (_value(parent, "title") if name == "booktitle" else "")
        if value and not _value(entry, name):
            entry.set_field(Field(name, value, parent.start_line))


def resolve_crossrefs(path: Path, entries: Sequence[Entry]) -> set[str]:
    """Give every entry with a ``crossref`` the fields it lacks from the entry named (the first of that key, case
    aside, in ``entries``); return the keys (casefolded) of the entries named, the containers."""
    by_key: dict[str, Entry] = {}
    for entry in entries:
        by_key.setdefault(entry.key.casefold(), entry)
    named: set[str] = set()
    for entry in entries:
        target = _value(entry, "crossref")
        if not target:
            continue
        parent = by_key.get(target.casefold())
        if parent is None or parent is entry:
            what = "itself" if parent is entry else f"{target!r}, which is not an entry of this file"
            log.warning("%s:%d: entry %r cross-references %s; its venue and year stay as written",
                        path, (entry.start_line or 0) + 1, entry.key, what)  # fmt: skip
            continue
        named.add(target.casefold())
        _inherit(entry, parent)
    return named
