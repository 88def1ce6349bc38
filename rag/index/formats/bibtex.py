"""BibTeX (Zotero, Mendeley, JabRef exports), parsed by ``bibtexparser``, LaTeX turned to text by ``pylatexenc``.

An entry gives a paper when it has a title and an abstract. Entries without an abstract (books, web pages a
reference manager keeps next to papers) are all reported at once, by file and line, as one ``CorpusError``,
except the containers that other entries name in ``crossref`` (``bibtex_crossref``):
as everywhere, nothing is skipped silently and nothing is written until the inputs are fixed. A block the
parser cannot read is an error at its line.
"""

from __future__ import annotations

import re
from pathlib import Path

from bibtexparser.model import Entry

from rag.errors import CorpusError
from rag.index.formats.authors import bibtex_authors
from rag.index.formats.base import Record, check_length, read_text
from rag.index.formats.bibtex_crossref import resolve_crossrefs
from rag.index.formats.bibtex_library import read_entries
from rag.index.formats.latex import latex_to_text
from rag.index.formats.meta import Metadata, make_metadata, split_categories

_SHOWN_MISSING = 5


def _fields(entry: Entry) -> dict[str, str]:
    """Field names lower-cased; values as text (the first of a repeated name)."""
    out: dict[str, str] = {}
    for field in entry.fields:
        out.setdefault(field.key.strip().lower(), field.value if isinstance(field.value, str) else "")
    return out


def _venue(fields: dict[str, str]) -> str | None:
    for name in ("journal", "journaltitle", "booktitle", "school", "institution"):  # not a preprint's "arXiv"
        if fields.get(name, "").strip():
            return latex_to_text(fields[name])
    return None


def _arxiv(fields: dict[str, str]) -> str | None:
    prefix = fields.get("archiveprefix", fields.get("eprinttype", "")).strip().lower()
    if fields.get("eprint") and prefix in ("arxiv", ""):
        return fields["eprint"]
    return fields.get("arxivid") or fields.get("arxiv")


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _date(fields: dict[str, str]) -> str | None:
    """biblatex's ``date``, else ``year`` with ``month`` (``jan`` or ``1``) as ``2023-01``."""
    if fields.get("date", "").strip():
        return fields["date"]
    year, month = fields.get("year", "").strip(), fields.get("month", "").strip().lower()[:3]
    number = _MONTHS.index(month) + 1 if month in _MONTHS else int(month) if month.isdigit() else 0
    return f"{year}-{number:02d}" if year.isdigit() and 1 <= number <= 12 else None


_URL_ESCAPES = re.compile(r"\{?\\([_%&#~$])(?:\{\})?\}?|\{([~_])\}")
_URL_MACRO = re.compile(r"\\url\s*\{([^{}]*)\}")


def _url(value: str) -> str | None:
    """The ``url`` field as the link it names: ``\\url{...}`` unwrapped, the escapes Mendeley writes
    (``P19{\\_}1001``, ``{~}``, ``{\\%}``) undone, the first of several URLs."""
    unescaped = _URL_ESCAPES.sub(lambda m: m.group(1) or m.group(2), value)
    plain = _URL_MACRO.sub(r"\1", unescaped).split()
    return plain[0] if plain else None


def entry_metadata(fields: dict[str, str], where: str = "") -> Metadata:
    """The metadata of one entry; a bad year or URL raises ``ValueError``; ``where`` names it in warnings."""
    categories = split_categories(latex_to_text(fields.get("keywords", "")) or None)
    primary = fields.get("primaryclass", "").strip()
    return make_metadata(
        authors=bibtex_authors(fields["author"], latex_to_text) if fields.get("author", "").strip() else (),
        year=fields.get("year") or None,
        date=_date(fields),
        venue=_venue(fields),
        categories=tuple(dict.fromkeys((primary, *categories))) if primary else categories,
        arxiv=_arxiv(fields),
        doi=fields.get("doi"),
        url=_url(fields.get("url", "")),
        where=where,
    )


def _record(path: Path, entry: Entry) -> Record | None:
    """The entry as a ``Record``; None when it has a title but no abstract (reported by the caller)."""
    line = (entry.start_line or 0) + 1
    fields = _fields(entry)
    title = latex_to_text(fields.get("title", ""))
    abstract = latex_to_text(fields.get("abstract", ""))
    if not title:
        raise CorpusError(str(path), line, f"entry {entry.key!r} has no title; add one or remove the entry")
    if not abstract:
        return None
    try:
        meta = entry_metadata(fields, f"{path}:{line}")
        return Record(check_length("title", title), check_length("abstract", abstract), f"{path.name}:{line}",
                      None, meta)  # fmt: skip
    except ValueError as exc:
        raise CorpusError(str(path), line, f"entry {entry.key!r}: {exc}") from exc


def parse_bibtex(path: Path, text: str | None = None) -> list[Record]:
    """Every entry of a ``.bib`` file with a title and an abstract; entries without an abstract are an error
    listing them all (file and line), except the containers other entries ``crossref`` (a proceedings)."""
    entries = read_entries(path, read_text(path) if text is None else text)
    containers = resolve_crossrefs(path, entries)
    records: list[Record] = []
    missing: list[Entry] = []
    for entry in entries:
        if entry.key.casefold() in containers and not latex_to_text(_fields(entry).get("abstract", "")):
            continue  # a proceedings or book its papers name: not a paper itself
        record = _record(path, entry)
        if record is None:
            missing.append(entry)
        else:
            records.append(record)
    if missing:
        first, more = missing[0], missing[1:]
        shown = ", ".join(f"{m.key!r} (line {(m.start_line or 0) + 1})" for m in more[:_SHOWN_MISSING])
        rest = f" and {len(more)} more without one: {shown}" + (", ..." if len(more) > _SHOWN_MISSING else "")
        raise CorpusError(
            str(path), (first.start_line or 0) + 1,
            f"entry {first.key!r} has no abstract{rest if more else ''}; add an abstract field to each, "
            "or remove those entries (a paper without an abstract cannot be searched)",
        )  # fmt: skip
    if not records:
        raise CorpusError(str(path), None, "no BibTeX entries found")
    return records
