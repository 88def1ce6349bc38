"""Author lists as the files write them, split into names in "First Last" order.

BibTeX's ``author`` field and an ``and``-separated string are split by bibtexparser's name splitting ("and" in
braces stays in a name: "{Procter and Gamble}"; each name read as BibTeX reads "Last, First" and "Last, Jr,
First"). A list separated by ``;`` (Zotero's CSV) is split at ``;``. A comma list is read as "Last, F." pairs when
it is one ("Vaswani, A., Shazeer, N., Parmar, N." is three people, "de la Fuente, Juan" and "King, Jr., Martin
Luther" one each), else as one name between commas ("Alice Smith, Bob Jones"). BibTeX's "and others" (and
"et al.") says the list goes on: it is no author. Two people of the same name are two authors: nothing is
de-duplicated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from bibtexparser.middlewares.names import parse_single_name_into_parts, split_multiple_persons_names

from rag.index.formats.meta import bounded, one_line

_SUFFIX = re.compile(r"(?i)(?:jr|sr|ii|iii|iv)\.?")
_INITIAL = re.compile(r"(?:[A-Z]\.?-?)+")
_MORE = frozenset({"others", "et al", "et al.", "et. al.", "etc."})
"""What ends a truncated list ("and others"): not a name."""


def _initials(segment: str) -> bool:
    return all(_INITIAL.fullmatch(word) for word in segment.split())


def _given(segment: str) -> bool:
    """A segment that reads as given names after "Last,": initials ("A.", "J. R.") or one word ("John")."""
    return _initials(segment) or len(segment.split()) == 1


def _surname(segment: str) -> bool:
    """A segment that can only be a last name before a comma: one word, or starting with a particle ("de la
    Fuente", "van der Berg")."""
    words = segment.split()
    return len(words) == 1 or words[0].islower()


def _pairs(segments: list[str]) -> list[list[str]] | None:
    """The segments of a comma list grouped as "Last, First" (or "Last, Jr, First") names, or None when the list
    does not read so."""
    groups, i = [], 0
    while i < len(segments):
        suffix = i + 2 < len(segments) and _SUFFIX.fullmatch(segments[i + 1]) is not None
        j = i + 2 if suffix else i + 1
        if j >= len(segments) or _initials(segments[i]):
            return None
        if not (suffix or _given(segments[j]) or (len(segments) == 2 and _surname(segments[i]))):
            return None
        groups.append(segments[i : j + 1])
        i = j + 1
    return groups


def person(name: str, decode: Callable[[str], str] = one_line) -> str:
    """One name in "First Last" order, read as BibTeX reads a name ("Last, First", "Last, Jr, First", "First von
    Last"), decoded by ``decode`` (LaTeX in BibTeX); "Martin Luther King, Jr." stays as written."""
    parts = [p.strip() for p in name.split(",")]
    if len(parts) == 1:  # "First von Last": in the order written
        return decode(one_line(name))
    if len(parts) == 2 and _SUFFIX.fullmatch(parts[1]):
        return decode(f"{parts[0]} {parts[1]}")
    return decode(parse_single_name_into_parts(one_line(name), strict=False).merge_first_name_first)


def _comma_names(text: str) -> list[str]:
    """The names of one comma list (``_pairs``, else one name between commas)."""
    segments = [s.strip() for s in text.split(",") if s.strip()]
    if len(segments) <= 1:
        return [person(s) for s in segments]
    groups = _pairs(segments)
    return [person(", ".join(g)) for g in groups] if groups else segments


def bibtex_authors(field: str, decode: Callable[[str], str]) -> tuple[str, ...]:
    """The people of a BibTeX ``author`` field, each decoded by ``decode``."""
    names = split_multiple_persons_names(field)
    return names_as_given(person(n, decode) for n in names if one_line(n).lower() not in _MORE)


def split_authors(value: str | Iterable[str]) -> tuple[str, ...]:
    """Author names from a list (each item one name), or from one string: ``Last, First; Last, First`` (Zotero),
    ``A and B`` (BibTeX), ``A. Smith, B. Jones and C. Li`` (arXiv), ``Vaswani, A., Shazeer, N.``."""
    if not isinstance(value, str):
        given: list[object] = list(value) if isinstance(value, list | tuple) else [value]  # a number, an object
        if not all(isinstance(p, str) for p in given):
            raise ValueError("authors must be a string or a list of strings")
        return names_as_given(person(p) for p in given if isinstance(p, str) and p.strip(" ,").lower() not in _MORE)
    text = one_line(value)
    parts = text.split(";") if ";" in text else split_multiple_persons_names(text)
    names = [name for part in parts for name in _comma_names(part.strip(" ,")) if name.lower() not in _MORE]
    return names_as_given(names)


def names_as_given(names: Iterable[str]) -> tuple[str, ...]:
    """Author names already in "First Last" order, whitespace normalised, empty ones dropped."""
    cleaned = (one_line(n).strip(", ") for n in names)
    return tuple(bounded("an author name", n) for n in cleaned if n)
