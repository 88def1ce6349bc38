"""The papers an answer cites, exported: BibTeX entries (stable keys, every text field LaTeX-escaped, written by
``bibtexparser``) or a Markdown reference list numbered like the answer's ``[n]`` markers.

A key is ``<first author's last name><year><first title word>`` in ASCII (``vaswani2017attention``), the same
for a paper in every export: when two papers of the corpus would share one, each gets its paper id's first
characters appended (``…-e07529``) in every export, whichever of them an answer cites (``shared_keys``).
Text goes through ``pylatexenc``'s encoder (``{``, ``%``, ``&``, ``$``, accents …), so no title or abstract can
end an entry or inject a command; a URL, DOI or arXiv id with a brace, backslash or space in it is left out.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from functools import lru_cache
from typing import Literal

import bibtexparser
from bibtexparser.library import Library
from bibtexparser.model import Entry, Field
from pylatexenc.latexencode import UnicodeToLatexEncoder

from rag.text import printable
from rag.types import Answer, Paper

Style = Literal["bibtex", "markdown"]
STYLES: tuple[Style, ...] = ("bibtex", "markdown")
MAX_LISTED_AUTHORS = 6
_STOPWORDS = frozenset(
    ["a", "an", "the", "on", "of", "for", "in", "to", "with", "and", "via", "from", "by", "is", "are", "towards",
     "toward", "do", "does", "what", "how"]
)  # fmt: skip
_ASCII = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ł": "l", "đ": "d", "þ": "th", "ı": "i"})
_RAW_OK = re.compile(r"[^\s{}\\]+")
_PROCEEDINGS = re.compile(
    r"(?i)\b(proceedings|conference|workshop|symposium|advances in neural information processing)\b|"
    r"\b(neurips|nips|icml|iclr|acl|emnlp|naacl|eacl|coling|aaai|ijcai|cvpr|iccv|eccv|kdd|sigir|aistats|uai|colt)"
    r"(?:\s*'?\d{2,4})?\s*$|^(neurips|nips|icml|iclr|acl|emnlp|naacl)\b"
)
"""A venue that is a conference ("Advances in Neural Information Processing Systems 32", "NIPS 2017"): the entry
is ``@inproceedings`` with a ``booktitle``, unless it is a journal (``_JOURNAL``: "Transactions of the ACL")."""
_JOURNAL = re.compile(r"(?i)\b(journal|transactions|letters)\b")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~$&#])")
_MD_URL = re.compile(r"https?://[^\s<>]+")


def cited_papers(answer: Answer) -> list[tuple[tuple[int, ...], Paper]]:
    """Each cited paper once, in marker order, with the markers that cite it."""
    markers: dict[str, list[int]] = {}
    papers: dict[str, Paper] = {}
    for citation in sorted(answer.citations, key=lambda c: c.marker):
        markers.setdefault(citation.paper.id, []).append(citation.marker)
        papers.setdefault(citation.paper.id, citation.paper)
    return [(tuple(markers[pid]), paper) for pid, paper in papers.items()]


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_ASCII))
    return "".join(ch for ch in folded if ch.isascii() and ch.isalnum())


_SUFFIX = re.compile(r"(?:jr|sr|ii|iii|iv|v)\.?", re.IGNORECASE)
_AND = re.compile(r"\band\b", re.IGNORECASE)


def _name_parts(name: str) -> tuple[str, str, str]:
    """(first names, last name, suffix) of a name written "First Last [Jr]" (how every format stores it)."""
    words = name.split()
    suffix = words.pop() if len(words) >= 3 and _SUFFIX.fullmatch(words[-1]) else ""
    return " ".join(words[:-1]), words[-1] if words else "", suffix


def _corporate(name: str) -> bool:
    """A name BibTeX would misread unless braced whole: the word "and" would split it into two authors, a comma
    would make "Google, Inc." the person Inc. Google."""
    return bool(_AND.search(name)) or "," in name


def _bib_name(name: str) -> str:
    """A name as BibTeX reads it: "King, Jr., Martin Luther" when it ends in a suffix; braced whole when it is
    ``_corporate`` ("{Procter and Gamble Research Lab}")."""
    if _corporate(name):
        return "{" + _latex(name) + "}"
    first, last, suffix = _name_parts(name)
    return _latex(f"{last}, {suffix}, {first}" if suffix else name)


def bibtex_key(paper: Paper) -> str:
    """``vaswani2017attention``: last name of the first author, year, first significant title word (ASCII);
    a paper without an author or a year gets its id's first characters instead (``domain-e07529``)."""
    first_author = paper.authors[0] if paper.authors and paper.authors[0].split() else ""
    last = _ascii_word(first_author.split()[0] if _corporate(first_author) else _name_parts(first_author)[1])
    words = [_ascii_word(w) for w in paper.title.split()]
    word = next((w for w in words if w and w not in _STOPWORDS), next((w for w in words if w), "paper"))
    key = f"{last}{paper.year or ''}{word}"
    return key if last and paper.year else f"{key}-{paper.id.removeprefix('p')[:6]}"


@lru_cache(maxsize=1)
def _encoder() -> UnicodeToLatexEncoder:
    """Characters LaTeX has no name for are kept as they are (BibTeX with UTF-8 reads them), without a logged
    warning for each one mixed into the CLI's output and the server log."""
    logging.getLogger("pylatexenc.latexencode").setLevel(logging.ERROR)
    return UnicodeToLatexEncoder(replacement_latex_protection="braces-almost-all", unknown_char_policy="keep")


def _latex(text: str) -> str:
    """``text`` LaTeX-escaped, control and bidi characters dropped (``printable``: a title's U+202E would become
    ``\\u202e`` through the terminal escaping, and BibTeX reads ``\\u`` as an accent); a script letter ("𝒪", how
    ``\\mathcal{O}`` reads as text) as ``\\mathcal``, which every LaTeX knows, not the encoder's ``\\mathscr``, which
    needs the mathrsfs package to compile."""
    return str(_encoder().unicode_to_latex(printable(text))).replace("\\mathscr{", "\\mathcal{")


def _raw(value: str | None) -> str | None:
    """A URL, DOI or arXiv id written as it is, when nothing in it can break the entry."""
    return value if value and _RAW_OK.fullmatch(value) else None


def _entry(paper: Paper, key: str) -> Entry:
    in_proceedings = bool(paper.venue and _PROCEEDINGS.search(paper.venue) and not _JOURNAL.search(paper.venue))
    entry_type = "inproceedings" if in_proceedings else "article" if paper.venue else "misc"
    text: list[tuple[str, str | None]] = [
        ("title", "{" + _latex(paper.title) + "}"),
        ("author", " and ".join(_bib_name(a) for a in paper.authors) or None),
        ("year", str(paper.year) if paper.year else None),
        ("booktitle" if in_proceedings else "journal", _latex(paper.venue) if paper.venue else None),
    ]
    raw: list[tuple[str, str | None]] = [
        ("doi", _raw(paper.doi)),
        ("eprint", _raw(paper.arxiv_id)),
        ("archiveprefix", "arXiv" if _raw(paper.arxiv_id) else None),
        ("primaryclass", _raw(paper.categories[0]) if _raw(paper.arxiv_id) and paper.categories else None),
        ("url", _raw(paper.url)),
    ]
    fields = [Field(name, value) for name, value in (*text, *raw) if value]
    fields.append(Field("abstract", _latex(paper.abstract)))
    return Entry(entry_type, key, fields)


_SHARED: list[tuple[Mapping[str, Paper], frozenset[str]]] = []
"""The last corpus ``shared_keys`` read, held so that its answer is reused while the corpus is the same object."""


def shared_keys(corpus: Mapping[str, Paper]) -> frozenset[str]:
    """The ``bibtex_key`` values two or more papers of ``corpus`` (id -> paper) share; computed once per corpus."""
    if _SHARED and _SHARED[0][0] is corpus:
        return _SHARED[0][1]
    counts = Counter(bibtex_key(p) for p in corpus.values())
    shared = frozenset(k for k, n in counts.items() if n > 1)
    _SHARED[:] = [(corpus, shared)]
    return shared


def keys(papers: Sequence[Paper], shared: Collection[str] = frozenset()) -> list[str]:
    """The BibTeX key of each paper; papers sharing a ``bibtex_key`` here or in the corpus (``shared``) are told
    apart by their ids."""
    base = [bibtex_key(p) for p in papers]
    taken = {k for k in base if base.count(k) > 1} | set(shared)
    return [f"{k}-{p.id.removeprefix('p')[:6]}" if k in taken else k for k, p in zip(base, papers, strict=True)]


def to_bibtex(papers: Sequence[Paper], shared: Collection[str] = frozenset()) -> str:
    """BibTeX entries for ``papers`` (in their order), one blank line apart; keys as ``keys`` gives them."""
    if not papers:
        return ""
    library = Library([_entry(p, k) for p, k in zip(papers, keys(papers, shared), strict=True)])
    return bibtexparser.write_string(library).strip() + "\n"


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", printable(text))


def markdown_reference(paper: Paper) -> str:
    """``Authors (Year). *Title*. Venue. <url>`` with Markdown's special characters escaped."""
    authors = [a for a in paper.authors if a.casefold() != "others"]  # BibTeX's "and others" is "et al."
    more = len(authors) > MAX_LISTED_AUTHORS or len(authors) < len(paper.authors)
    names = authors[:MAX_LISTED_AUTHORS] + (["et al."] if more else [])
    parts = [_md(", ".join(names)) + (f" ({paper.year})" if paper.year else "")] if names or paper.year else []
    parts.append(f"*{_md(paper.title)}*")
    if paper.venue:
        parts.append(_md(paper.venue))
    line = ". ".join(p.rstrip(".") for p in parts) + "."
    url = paper.url or (f"https://doi.org/{paper.doi}" if paper.doi else None)
    return f"{line} <{url}>" if url and _MD_URL.fullmatch(url) else line


def to_markdown(answer: Answer) -> str:
    """One line per cited paper, led by the markers citing it (``[1]``, ``[2, 4]``)."""
    lines = [f"- [{', '.join(map(str, m))}] {markdown_reference(p)}" for m, p in cited_papers(answer)]
    return "\n".join(lines) + "\n" if lines else ""


def references(answer: Answer, style: Style, corpus: Mapping[str, Paper] | None = None) -> str:
    """The cited papers of an answer in ``style`` ("" when it cites none); with the ``corpus`` they come from, a
    BibTeX key is the same in every export (``shared_keys``)."""
    if style == "bibtex":
        shared = shared_keys(corpus) if corpus is not None else frozenset()
        return to_bibtex([paper for _, paper in cited_papers(answer)], shared)
    if style == "markdown":
        return to_markdown(answer)
    raise ValueError(f"unknown reference style {style!r}; use one of {', '.join(STYLES)}")
