"""The arXiv metadata dump's rows (``arxiv-metadata-oai-snapshot.json``): one JSON object per line with
``id``, ``authors`` (and ``authors_parsed``), ``title``, ``abstract``, ``categories``, ``versions``,
``update_date``, ``doi`` and ``journal-ref``, titles and abstracts in LaTeX with hard line breaks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rag.index.formats.authors import split_authors
from rag.index.formats.latex import latex_to_text
from rag.index.formats.meta import (
    Metadata,
    make_metadata,
    parse_arxiv_id,
    parse_date,
    split_categories,
)

_MARKS = ("versions", "authors_parsed", "categories", "update_date")


def is_arxiv_row(fields: Mapping[str, Any]) -> bool:
    """A row of the dump: an arXiv ``id`` with at least one of the dump's own keys."""
    return parse_arxiv_id(fields.get("id")) is not None and any(key in fields for key in _MARKS)


def _authors(fields: Mapping[str, Any]) -> tuple[str, ...]:
    """``authors_parsed`` (``[last, first, suffix]`` lists) when usable, else the ``authors`` string."""
    parsed = fields.get("authors_parsed")
    if isinstance(parsed, list) and parsed and all(isinstance(p, list) and p for p in parsed):
        names = []
        for parts in parsed:
            last, first, suffix = ([*[str(x) for x in parts], "", ""])[:3]
            names.append(" ".join(latex_to_text(x) for x in (first, last, suffix) if x.strip()))
        return split_authors([n for n in names if n])
    authors = fields.get("authors")
    if isinstance(authors, str) and authors.strip():
        return split_authors(latex_to_text(authors))
    return split_authors(authors) if isinstance(authors, list) else ()


def _first_version_date(fields: Mapping[str, Any]) -> str | None:
    """The date of v1 (``versions[0].created``, the submission), else ``update_date``."""
    versions = fields.get("versions")
    if isinstance(versions, list) and versions and isinstance(versions[0], Mapping):
        created = parse_date(versions[0].get("created"))
        if created:
            return created
    return parse_date(fields.get("update_date"))


def arxiv_metadata(fields: Mapping[str, Any], where: str = "") -> Metadata:
    """The metadata of one dump row (``fields`` under the names of ``rows.canonical``); ``where`` names it in
    warnings."""
    venue = fields.get("venue")
    return make_metadata(
        authors=_authors(fields),
        date=_first_version_date(fields),
        venue=latex_to_text(venue) if isinstance(venue, str) else None,
        categories=split_categories(fields.get("categories") or None),
        arxiv=fields.get("id"),
        doi=fields.get("doi"),
        url=fields.get("url"),
        where=where,
    )
