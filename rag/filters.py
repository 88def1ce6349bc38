"""The retrieval filters: what each one matches, their canonical form, and the papers they allow.

``filter_key`` checks the filters a caller gives (``QueryError`` saying what to send instead) and puts them in
canonical form; ``PaperFilter`` turns that form into the ids of the matching papers. A ``PaperFilter`` is shared
by every request of a pipeline, so its cache is locked (the result of a filter is a pure function of the filter
and the fixed set of papers). ``rag.request`` re-exports the names the pipeline reads.
"""

from __future__ import annotations

import functools
import threading
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any, cast

from rag.errors import QueryError
from rag.types import Filters, Paper

FILTER_CACHE_SIZE = 256

FilterKey = tuple[tuple[str, tuple[str, ...]], ...]


_LETTERS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i",
                          "’": " ", "‘": " ", "ʼ": " ", "'": " ", "-": " ", "‐": " ", "‑": " ", ".": " ",
                          ",": " "})  # fmt: skip
"""Letters NFKD does not take apart (``Łukasz`` = ``lukasz``), and apostrophes, hyphens, dots and commas as spaces
(``J.R.R. Tolkien`` = ``J. R. R. Tolkien``, ``Okonkwo-Adeyemi`` = ``okonkwo adeyemi``, ``Müller, J`` = ``muller j``,
``O’Brien`` = ``o brien``)."""


def _fold(text: str) -> str:
    """Case- and accent-insensitive form: casefolded, accents dropped (``Müller`` = ``muller``), one space."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


def _fold_name(name: str) -> str:
    """A person's name as ``_fold`` gives it, with the letters of ``_LETTERS`` spelled in a-z."""
    return _fold(name.casefold().translate(_LETTERS))


def _by_listing_date(paper: Paper, values: tuple[str, ...]) -> bool:
    date = (paper.listing_date or "").casefold()
    return any(date == v.casefold() for v in values)


def _by_source(paper: Paper, values: tuple[str, ...]) -> bool:
    return any(source.startswith(v) for source in paper.sources for v in values)


def _by_since(paper: Paper, values: tuple[str, ...]) -> bool:
    return paper.year is not None and paper.year >= int(values[0])


def _by_until(paper: Paper, values: tuple[str, ...]) -> bool:
    return paper.year is not None and paper.year <= int(values[0])


def _by_author(paper: Paper, values: tuple[str, ...]) -> bool:
    """Whether one of the paper's authors is named by one of ``values`` (``author_named``)."""
    return any(author_named(v, name) for name in paper.authors for v in values)


_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})


def author_named(query: str, name: str) -> bool:
    """Whether ``query`` (folded by ``_fold_name``) names the author ``name``: each of its words is a different word
    of the name or the start of one, in any order, case and accents aside; a two-letter word must be the whole
    word (surnames such as Ng, Li, Wu). "Ng" is not "Ming-Wei Chang", "Li" neither "Jacob Devlin" nor "Lin Wang";
    "Müller, J", "J. Müller", "mül" and "mueller" are "Jörg Müller"; "Vaswani, A." is "Ashish Vaswani"."""
    wanted = query.split()
    return any(_starts_words(wanted, list(words)) for words in _name_forms(name))


@functools.lru_cache(maxsize=1 << 18)
def _name_forms(name: str) -> tuple[tuple[str, ...], ...]:
    """The folded words of an author's name, as written and with German umlauts spelled out ("mueller"); kept, as
    the same names are read again for every new author filter."""
    folded = tuple(_fold_name(name).split())
    low = name.casefold()
    return (folded, tuple(_fold_name(low.translate(_GERMAN)).split())) if any(c in low for c in "äöü") else (folded,)


def _starts_words(wanted: list[str], words: list[str]) -> bool:
    """Each of ``wanted`` is a different one of ``words`` or its start; a word written without spaces between its
    parts (Chinese, Japanese: "飞飞" of "李飞飞") may be any part of one."""
    free = list(words)
    for part in wanted:
        match = next((w for w in free if w == part or (w.startswith(part) and len(part) != 2)
                      or (not part.isascii() and part in w)), None)
        if match is None:
            return False
        free.remove(match)
    return bool(wanted)


def _by_category(paper: Paper, values: tuple[str, ...]) -> bool:
    categories = [c.casefold() for c in paper.categories]
    return any(c == v or c.startswith(v + ".") for c in categories for v in values)


FILTERS: dict[str, Callable[[Paper, tuple[str, ...]], bool]] = {
    "listing_date": _by_listing_date,
    "source": _by_source,
    "since": _by_since,
    "until": _by_until,
    "author": _by_author,
    "category": _by_category,
}
"""Retrieval filters, each a test of a paper, applied before ranking (an allow set of paper ids for every stage):

- ``listing_date="Mar 21"``: exact, case-insensitive; ``source="003_x.txt"``: a source starts with it;
- ``since=2020`` / ``until=2023``: the paper's year is at least / at most this (a paper of unknown year fails);
- ``author="muller"``: names an author (``author_named``: each word a word of the name or its start, case and
  accents aside: ``Müller``, ``MÜLLER``, ``Müller, J``);
- ``category="cs.CL"``: an arXiv category or keyword, case-insensitive; ``cs`` also matches ``cs.CL``; a comma
  lists alternatives.

A value of ``listing_date``, ``source``, ``author`` and ``category`` may be a list of alternatives (any of
them); ``since``/``until`` take one year. None means no filter."""

YEAR_FILTERS = ("since", "until")


def _kind(value: object) -> str:
    """What was given instead: "int", or "a list holding int" for ``[1]``."""
    if isinstance(value, list | tuple | set | frozenset):
        odd = sorted({type(v).__name__ for v in value if not isinstance(v, str)})
        return f"a {type(value).__name__} holding {' and '.join(odd)}" if odd else f"an empty {type(value).__name__}"
    return type(value).__name__


def _filter_values(name: str, value: Any) -> tuple[str, ...]:
    if name in YEAR_FILTERS:  # one year; a list of one (the canonical form, cleaned again) is the same
        one = value[0] if isinstance(value, list | tuple) and len(value) == 1 else value
        return (_year(name, one),)
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list | tuple | set | frozenset) or not all(isinstance(v, str) for v in values):
        raise QueryError(f"filter {name!r} takes a string or a list of strings, not {_kind(value)}", name)
    if name == "category":  # "cs.CL, cs.LG": categories hold no commas, so a comma lists alternatives
        values = [part for v in values for part in v.split(",") if part.strip()]
    clean = {"author": _fold_name, "category": _fold}.get(name, lambda v: " ".join(v.split()))
    cleaned = tuple(sorted({clean(v) for v in values}))
    if not cleaned or not all(cleaned):
        raise QueryError(f"filter {name!r} needs a non-empty value", name)
    return cleaned


def _year(name: str, value: Any) -> str:
    """A year filter's value (an int or a string of digits) in canonical form."""
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and text.isascii() and text.isdigit():
        text = int(text)
    if isinstance(text, bool) or not isinstance(text, int) or not 1000 <= text <= 9999:
        raise QueryError(f"filter {name!r} takes a year like 2021, not {value!r}", name)
    return str(text)


def filter_key(filters: Mapping[str, Any]) -> FilterKey:
    """The canonical form of the filters (unknown names and bad values raise ``QueryError``); () for none."""
    unknown = sorted(set(filters) - set(FILTERS))
    if unknown:
        raise QueryError(f"unknown filter {', '.join(map(repr, unknown))}; valid filters: {', '.join(FILTERS)}",
                         unknown[0])
    key = tuple(sorted((name, _filter_values(name, v)) for name, v in filters.items() if v is not None))
    years = dict(key)
    if "since" in years and "until" in years and int(years["since"][0]) > int(years["until"][0]):
        raise QueryError(f"since={years['since'][0]} is after until={years['until'][0]}; no paper can match",
                         "since")
    return key


def clean_filters(filters: Mapping[str, Any]) -> Filters:
    """The given filters in canonical form (sorted tuples of values, None dropped); ``QueryError`` if bad."""
    return cast(Filters, dict(filter_key(filters)))


_HAS_YEAR = ("a year", lambda p: p.year is not None)
_FIELD_OF: dict[str, tuple[str, Callable[[Paper], bool]]] = {
    "since": _HAS_YEAR,
    "until": _HAS_YEAR,  # the same entry: both filters name the field once ("a year or a year" had been said)
    "author": ("authors", lambda p: bool(p.authors)),
    "category": ("categories", lambda p: bool(p.categories)),
}
"""The metadata field each filter reads, as a message names it, and whether a paper has it."""


class PaperFilter:
    """Ids of the papers passing a set of filters, over a fixed set of papers; safe to share across threads."""

    def __init__(self, papers: Mapping[str, Paper]) -> None:
        self._papers = papers
        self._cache: dict[FilterKey, frozenset[str]] = {}
        self._lock = threading.Lock()

    def allowed(self, key: FilterKey) -> frozenset[str] | None:
        """The matching ids for a ``filter_key`` (None: no filter given)."""
        if not key:
            return None
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        checks = [(FILTERS[name], values) for name, values in key]
        ids = frozenset(pid for pid, paper in self._papers.items() if all(check(paper, v) for check, v in checks))
        with self._lock:
            if len(self._cache) >= FILTER_CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = ids
        return ids

    def missing_fields(self, key: FilterKey) -> list[str]:
        """The fields the filters of ``key`` read that no paper has, as a message names them ("a year")."""
        fields = dict.fromkeys(_FIELD_OF[name] for name, _ in key if name in _FIELD_OF)
        return [field for field, has in fields if not any(has(p) for p in self._papers.values())]
