"""Row formats: JSON lines (plain rows and the arXiv metadata dump's schema) and CSV with a header.

Column and key names are matched case-insensitively, with ``_``/``-`` as spaces, and common exports' names
are understood (Zotero's ``Abstract Note``, ``Publication Year``, ``Publication Title``; arXiv's
``journal-ref``). A row of the arXiv dump (an arXiv ``id`` with ``versions``, ``authors_parsed`` or
``categories``) has its LaTeX turned into text; other rows keep their text as written, whitespace aside.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from rag.errors import CorpusError
from rag.index.formats.arxiv import arxiv_metadata, is_arxiv_row
from rag.index.formats.authors import split_authors
from rag.index.formats.base import Record, check_length, lines, read_text
from rag.index.formats.latex import latex_to_text
from rag.index.formats.meta import Metadata, make_metadata, parse_date, split_categories

ALIASES = {
    "title": "title",
    **dict.fromkeys(("abstract", "summary", "abstract note", "abstractnote"), "abstract"),
    "listing date": "listing_date",
    **dict.fromkeys(("date", "published", "publication date"), "date"),
    **dict.fromkeys(("authors", "author", "creators"), "authors"),
    "authors parsed": "authors_parsed",
    **dict.fromkeys(("year", "publication year"), "year"),
    **dict.fromkeys(
        ("venue", "journal", "journal ref", "publication title", "booktitle", "conference", "publication"), "venue"
    ),
    **dict.fromkeys(("categories", "category", "keywords", "tags", "manual tags"), "categories"),
    **dict.fromkeys(("arxiv id", "arxiv", "eprint"), "arxiv"),
    **dict.fromkeys(("id", "doi", "url", "versions", "update date"), None),
}
"""Known key names (normalised by ``_key``) -> the field they fill (None: the same name, spaces as ``_``)."""


def _key(name: object) -> str:
    return " ".join(str(name).strip().lower().replace("_", " ").replace("-", " ").split())


def canonical(data: dict[Any, Any]) -> dict[str, Any]:
    """The row's values under canonical names; the first non-empty value wins when two names mean one field."""
    out: dict[str, Any] = {}
    for name, value in data.items():
        key = _key(name)
        if key not in ALIASES:
            continue
        field = ALIASES[key] or key.replace(" ", "_")
        if out.get(field) in (None, "", [], ()):
            out[field] = value
    return out


class _Row(BaseModel):
    """A JSONL or CSV row: outside data, validated."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    title: str
    abstract: str
    listing_date: str | None = None

    @field_validator("title", "abstract")
    @classmethod
    def _not_blank(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            raise ValueError("must not be empty (each record needs a non-empty title and abstract)")
        return check_length(str(info.field_name), " ".join(value.split()))

    @field_validator("listing_date")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return " ".join(value.split()) or None if value is not None else None


def _plain_metadata(fields: dict[str, Any], where: str) -> Metadata:
    authors = fields.get("authors")
    return make_metadata(
        authors=split_authors(authors) if authors else (),
        year=fields.get("year"),
        date=fields.get("date"),
        venue=_text(fields.get("venue"), "venue"),
        categories=split_categories(fields.get("categories") or None),
        arxiv=fields.get("arxiv") or fields.get("id"),
        doi=fields.get("doi"),
        url=fields.get("url"),
        where=where,
    )


def _text(value: object, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    raise ValueError(f"{name} must be text, not {type(value).__name__}")


def _fail(path: Path, number: int, problem: str) -> CorpusError:
    return CorpusError(str(path), number, problem)


def row_record(path: Path, number: int, data: object) -> Record:
    """One row as a ``Record``; a row without a usable title or abstract, or with a bad value, is an error."""
    if not isinstance(data, dict):
        raise _fail(path, number, f"needs non-empty 'title' and 'abstract' fields (got {type(data).__name__})")
    fields = canonical(data)
    arxiv = is_arxiv_row(fields)
    if arxiv:
        for name in ("title", "abstract"):
            if isinstance(fields.get(name), str):
                fields[name] = latex_to_text(fields[name], tilde_is_space=False)
    if not arxiv and parse_date(fields.get("date")) is None:
        fields.setdefault("listing_date", fields.get("date"))  # a listing's date ("Mar 21"), as it always was
    title, abstract = fields.get("title"), fields.get("abstract")
    if isinstance(title, str) and title.strip() and (abstract is None or str(abstract).strip() == ""):
        raise _fail(path, number, f"paper {' '.join(title.split())[:80]!r} has no abstract; add one or remove it")
    try:
        row = _Row.model_validate(fields)
        where = f"{path}:{number}"
        meta = arxiv_metadata(fields, where) if arxiv else _plain_metadata(fields, where)
    except ValidationError as exc:
        errors = exc.errors()
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'row'}: {str(e['msg']).removeprefix('Value error, ')}"
                             for e in errors)  # fmt: skip
        if all(e["type"] == "value_error" for e in errors):  # a value our own checks refused: they say why
            raise _fail(path, number, problems) from exc
        raise _fail(path, number, f"needs non-empty 'title' and 'abstract' fields ({problems})") from exc
    except ValueError as exc:
        raise _fail(path, number, str(exc)) from exc
    return Record(row.title, row.abstract, f"{path.name}:{number}", row.listing_date, meta)


def parse_jsonl(path: Path, text: str | None = None) -> list[Record]:
    """JSON lines: one object per line (blank lines skipped)."""
    records: list[Record] = []
    for number, line in enumerate(lines(read_text(path) if text is None else text), start=1):
        if not line.strip():
            continue
        if not records and line.lstrip().startswith("["):
            raise _fail(path, number, "this is a JSON array; write one object with 'title' and 'abstract' per line")
        if not records and line.strip() == "{":  # a pretty-printed object
            raise _fail(path, number, "this JSON object spans several lines; write each paper as one object with "
                                      "'title' and 'abstract' on one line (JSON lines)")
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _fail(path, number, f"not valid JSON ({exc.msg})") from exc
        except RecursionError as exc:
            raise _fail(path, number, "the JSON is nested too deeply; one flat object per line") from exc
        except ValueError as exc:  # e.g. an integer of more than 4,300 digits
            raise _fail(path, number, f"the JSON holds an unusable value ({str(exc)[:120]})") from exc
        broken = _surrogate_field(data)
        if broken is not None:
            raise _fail(path, number, f"the {broken[:40]!r} field holds a \\u escape that is not a whole character "
                                      "(half of a surrogate pair); write the character itself or remove the escape")
        records.append(row_record(path, number, data))
    if not records:
        raise CorpusError(str(path), None, "no records found")
    return records


_SURROGATE = re.compile("[\ud800-\udfff]")


def _surrogate_field(data: object) -> str | None:
    """The first field of a JSON object whose text (or a text in its list) holds a lone surrogate: a \\u escape
    such as "\\ud800" that JSON allows but that is no character."""
    if not isinstance(data, dict):
        return None
    for name, value in data.items():
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(t, str) and _SURROGATE.search(t) for t in texts):
            return str(name)
    return None


def csv_header_fields(header: list[str]) -> set[str]:
    """The canonical fields a CSV header names."""
    return {ALIASES.get(_key(name)) or _key(name).replace(" ", "_") for name in header}


def csv_delimiter(line: str) -> str | None:
    """The delimiter (comma, tab or semicolon, as Excel saves in some countries) with which ``line`` is a header
    naming title and abstract columns; None when it is no such header."""
    for delimiter in (",", "\t", ";"):
        try:
            header = next(csv.reader([line], delimiter=delimiter))
        except (csv.Error, StopIteration):
            continue
        if len(header) >= 2 and {"title", "abstract"} <= csv_header_fields(header):
            return delimiter
    return None


_EXCEL_SEP = re.compile(r"sep=(.)\s*", re.IGNORECASE)
"""Excel's first line naming the delimiter ("sep=;"), before the header."""


def parse_csv(path: Path, text: str | None = None) -> list[Record]:
    """CSV whose header names a title and an abstract column (other known columns give metadata); the header
    says whether commas, tabs or semicolons separate the columns (or Excel's "sep=;" line before it). A column
    named twice, a row with more fields than the header (an unquoted delimiter) and an unclosed quote are errors
    at their line; blank rows and rows of empty fields (Excel writes them) are skipped, and so are columns with an
    empty header cell (Excel's trailing ones), as any column the header names but no field knows."""
    text = read_text(path) if text is None else text
    if "\r" in text and "\n" not in text:  # old Mac line ends: the csv module reads CR as a stray line break
        text = text.replace("\r", "\n")
    blank = len(text) - len(text.lstrip("\r\n"))
    skipped = text[:blank].count("\n")  # blank lines before the header: line numbers still count them
    text = text[blank:]
    first_line = text.split("\n", 1)[0].strip(" \r")  # not a tab: "sep=<TAB>" names one
    sep = _EXCEL_SEP.fullmatch(first_line)
    if sep is not None:
        text, skipped = text.split("\n", 1)[1] if "\n" in text else "", skipped + 1
    delimiter = sep.group(1) if sep is not None else csv_delimiter(first_line) or ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    first = 1
    try:
        fields = next(reader, [])
        _check_header(path, fields, 1 + skipped)
        records, first = [], reader.line_num + 1
        for values in reader:  # a row is named by its first line (a quoted abstract may span several)
            if any(v.strip() for v in values):
                records.append(row_record(path, first + skipped, _csv_row(path, first + skipped, fields, values)))
            first = reader.line_num + 1
    except csv.Error as exc:
        raise CorpusError(str(path), first + skipped, f"not valid CSV ({exc}); check the quotes of this row") from exc
    if not records:
        raise CorpusError(str(path), None, "no rows after the header")
    return records


def accepted_names(field: str) -> list[str]:
    """The column names (as ``_key`` normalises them) that fill ``field``."""
    return [name for name, target in ALIASES.items() if (target or name.replace(" ", "_")) == field]


def _header_problem(fields: list[str]) -> str:
    """What a header naming no title or abstract column lacks, what it names, and the names that would do."""
    named = csv_header_fields(fields)
    if len(fields) == 1:  # separated by something else than the delimiter tried: show the columns
        fields = max((fields[0].split(d) for d in ("\t", ";")), key=len)
    found = ", ".join(repr(f.strip()) for f in fields[:12] if f.strip()) or "nothing"
    found += ", ..." if len(fields) > 12 else ""
    lacking = [f for f in ("title", "abstract") if f not in named]
    accepted = "; ".join(f"for the {f}: {', '.join(accepted_names(f))}" for f in lacking)
    return (f"the header must name 'title' and 'abstract' columns; found {found[:300]}; accepted names {accepted} "
            "(any case, '_' or '-' for spaces)")  # fmt: skip


def _check_header(path: Path, fields: list[str], line: int) -> None:
    if not fields or not {"title", "abstract"} <= csv_header_fields(fields):
        raise CorpusError(str(path), line, _header_problem(fields))
    keys = [_key(name) for name in fields]
    twice = next((name for name, key in zip(fields, keys, strict=True) if key and keys.count(key) > 1), None)
    if twice is not None:
        raise CorpusError(str(path), line, f"the header names the column {twice.strip()!r} twice; keep one")


def _csv_row(path: Path, line: int, fields: list[str], values: list[str]) -> dict[str, str | None]:
    """A row's values by column (missing trailing ones None); more values than columns is an error."""
    extra = [v for v in values[len(fields) :] if v.strip()]
    if extra:
        raise CorpusError(str(path), line, f"this row has {len(values)} fields but the header names {len(fields)}; "
                          "quote a field that holds the delimiter")  # fmt: skip
    return dict(itertools.zip_longest(fields, values[: len(fields)]))
