"""Bibliographic metadata of a record (authors, year, date, venue, categories, arXiv id, DOI, URL), and the
rules that turn the values found in files into it. A value that cannot be used raises ``ValueError`` with a
message; the format's parser turns it into a ``CorpusError`` naming file and line.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, fields, replace
from datetime import date as Date
from email.utils import parsedate_to_datetime
from urllib.parse import quote

log = logging.getLogger(__name__)

MIN_YEAR, MAX_YEAR = 1500, 2100
MAX_FIELD_CHARS = 2000
"""Limit of one metadata value (a venue, a name, a URL); the author list may hold many names."""

_NEW_ARXIV = r"\d{4}\.\d{4,5}"
_OLD_ARXIV = r"[a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7}"
_SUBJECT_CLASS = re.compile(r"\.[A-Za-z]{2}(?=/)")
_ARXIV = re.compile(
    rf"(?i:arxiv:|(?:https?://)?(?:www\.)?(?:export\.)?arxiv\.org/(?:abs|pdf)/|10\.48550/arxiv\.)?"
    rf"(?P<id>{_NEW_ARXIV}|{_OLD_ARXIV})(?:v\d+)?(?:\.pdf)?/?"
)
_DOI = re.compile(r"(?i:doi:|(?:https?://)?(?:www\.|dx\.)?doi\.org/)?(?P<doi>10\.\d{4,9}/[^\s<>\"'{}\\]+)")
_DOI_LABEL = re.compile(r"(?i)^doi\s*:?\s*(?=10\.)")
"""A ``DOI:`` label, with the spaces reference managers write after it ("DOI: 10.1000/ABC")."""
_ISO_DATE = re.compile(r"(?P<y>\d{4})(?:-(?P<m>\d{1,2})(?:-(?P<d>\d{1,2}))?)?(?:[T ].*)?")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_NO_YEAR_YET = re.compile(
    r"\W*(in\W+press|forthcoming|to\W+appear|submitted|accepted|under\W+review|in\W+preparation|unpublished"
    r"|preprint|n\W*d|no\W+date|undated)\W*",
    re.IGNORECASE,
)
"""What reference managers write in ``year`` before there is one ("in press", "forthcoming", "n.d."): no year."""
_URL = re.compile(r"https?://[^\s<>\"'{}\\^`|]+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Metadata:
    """What a file says about a paper besides its title and abstract; every field may be empty."""

    authors: tuple[str, ...] = ()
    year: int | None = None
    date: str | None = None
    """ISO date as precise as the file gives it: ``2023``, ``2023-05`` or ``2023-05-17``."""
    venue: str | None = None
    categories: tuple[str, ...] = ()
    arxiv_id: str | None = None
    doi: str | None = None
    url: str | None = None

    def merged(self, other: Metadata) -> Metadata:
        """These values, with the empty ones filled from ``other`` (the same paper found again); categories
        are the union of both."""
        missing = {f.name: getattr(other, f.name) for f in fields(self) if not getattr(self, f.name)}
        categories = tuple(dict.fromkeys((*self.categories, *other.categories)))
        return replace(self, **{**missing, "categories": categories})


def one_line(text: str) -> str:
    return " ".join(text.split())


def bounded(name: str, value: str) -> str:
    """``value`` if within the limit of one metadata value (``MAX_FIELD_CHARS``), else ``ValueError``."""
    if len(value) > MAX_FIELD_CHARS:
        raise ValueError(f"{name} is {len(value):,} characters; the limit is {MAX_FIELD_CHARS:,}")
    return value


def parse_year(value: object) -> int | None:
    """A year from ``2020``, ``"2020"``, ``"2020a"`` or ``"2020-05-01"``; None when empty or a publication
    status without a year ("in press", "forthcoming", "n.d."); anything else raises ``ValueError``."""
    if value is None or (isinstance(value, str) and (not value.strip() or _NO_YEAR_YET.fullmatch(value))):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"year must be a year like 2021, not {type(value).__name__}")
    found = _YEAR.search(str(value)) if isinstance(value, str) else None
    year = value if isinstance(value, int) else int(found.group(1)) if found else None
    if year is None or not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(
            f"year {str(value)[:40]!r} is not a year from {MIN_YEAR} to {MAX_YEAR}; write the year or leave it empty"
        )
    return year


def parse_date(value: object) -> str | None:
    """An ISO date (``2023``, ``2023-05``, ``2023-05-17``) from an ISO or e-mail style date (the arXiv dump's
    ``Mon, 2 Apr 2007 19:18:42 GMT``); None for anything else (e.g. a listing date like ``Mar 21``)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    match = _ISO_DATE.fullmatch(text)
    if match:
        y, m, d = (int(g) if g else None for g in match.group("y", "m", "d"))
        try:
            Date(y or 0, m or 1, d or 1)
        except ValueError:
            return None
        if not MIN_YEAR <= (y or 0) <= MAX_YEAR:
            return None
        return f"{y:04d}" + (f"-{m:02d}" if m else "") + (f"-{d:02d}" if d else "")
    try:
        return parsedate_to_datetime(text).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return None


def parse_arxiv_id(value: object) -> str | None:
    """The arXiv id (no version) of ``2101.00001v2``, ``arXiv:2101.00001``, an arXiv URL or its DOI. An old-style
    id loses its subject class (``math.GT/0309136`` is ``math/0309136``, as arXiv itself names it)."""
    if not isinstance(value, str):
        return None
    match = _ARXIV.fullmatch(value.strip())
    return _SUBJECT_CLASS.sub("", match.group("id").lower(), count=1) if match else None


def parse_doi(value: object) -> str | None:
    """The first DOI in a value (bare, ``doi:``/``DOI: ``-prefixed or a resolver URL, with or without its scheme),
    as written (DOIs are case-insensitive); None when there is none."""
    if not isinstance(value, str) or not value.strip():
        return None
    match = _DOI.fullmatch(_DOI_LABEL.sub("doi:", value.strip()).split()[0])
    return bounded("doi", match.group("doi")) if match else None


def parse_url(value: object) -> str | None:
    """An http(s) URL with nothing that could break out of an HTML attribute or a BibTeX field."""
    if not isinstance(value, str):
        return None
    match = _URL.fullmatch(value.strip())
    return bounded("url", match.group(0)) if match else None


def split_categories(value: object) -> tuple[str, ...]:
    """Categories from a list, or a string: arXiv's ``cs.CL cs.LG`` or keywords ``a, b; c``."""
    if value is None:
        return ()
    if isinstance(value, str):
        parts = re.split(r"[,;]", value) if re.search(r"[,;]", value) else value.split()
    elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        parts = list(value)
    else:
        raise ValueError("categories must be a string or a list of strings")
    return tuple(dict.fromkeys(bounded("a category", one_line(p)) for p in parts if p.strip()))


def paper_url(arxiv_id: str | None, doi: str | None, url: str | None) -> str | None:
    """Where to read the paper: the arXiv abstract page, else the DOI resolver, else the file's URL."""
    if arxiv_id:
        return f"https://arxiv.org/abs/{arxiv_id}"
    if doi:
        return "https://doi.org/" + quote(doi, safe="/:;()._-")
    return url


def make_metadata(
    *,
    authors: tuple[str, ...] = (),
    year: object = None,
    date: object = None,
    venue: str | None = None,
    categories: tuple[str, ...] = (),
    arxiv: object = None,
    doi: object = None,
    url: object = None,
    where: str = "",
) -> Metadata:
    """Metadata from raw values: the year from the date when not given, the URL derived (``paper_url``). A DOI
    that is none is left out with a warning naming ``where`` (file and line)."""
    iso = parse_date(date)
    arxiv_id = parse_arxiv_id(arxiv) or parse_arxiv_id(url) or parse_arxiv_id(doi)
    clean_doi = parse_doi(doi)
    if clean_doi is None and isinstance(doi, str) and doi.strip():
        log.warning("%s: doi %r is not a DOI (10.<number>/<suffix>); it is left out", where or "(input)",
                    one_line(doi)[:80])  # fmt: skip
    if clean_doi and clean_doi.lower().startswith("10.48550/arxiv.") and arxiv_id:
        clean_doi = None  # arXiv's own DOI (Zotero saves preprints so): the arXiv id says it, a journal DOI may follow
    clean_url = parse_url(url)
    if url and isinstance(url, str) and url.strip() and clean_url is None and not arxiv_id:
        raise ValueError(f"url {url.strip()[:60]!r} is not an http(s) URL")
    venue_text = bounded("venue", one_line(venue)) if venue else None
    return Metadata(
        authors=authors,
        year=parse_year(year) if year not in (None, "") else (int(iso[:4]) if iso else None),
        date=iso,
        venue=venue_text or None,
        categories=categories,
        arxiv_id=arxiv_id,
        doi=clean_doi,
        url=paper_url(arxiv_id, clean_doi, clean_url),
    )
