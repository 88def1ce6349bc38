"""Numbers written with digits, normalisation (verbatim comparisons, titles, queries) and links."""

from __future__ import annotations

import re
import unicodedata

from rag.text.markers import WORD_JOINER, strip_markers

# ---------------------------------------------------------------------------------------------- numbers

_NUMBER = re.compile(r"(?<![\w.])\d+(?:,\d{3}(?!\d))*(?:\.\d+)*")
_DIGIT = re.compile(r"\d")


def has_digit(text: str) -> bool:
    """Whether any digit occurs (``QM9`` counts): the composer's cue that a span may state a quantity."""
    return _DIGIT.search(text) is not None


def find_numbers(text: str) -> list[str]:
    """Numbers written with digits, in order of first use, citation markers ignored: ``1,000`` -> ``1000``,
    ``42.5%`` -> ``42.5``, ``9x`` -> ``9``; digits inside words (``QM9``, ``H100``, ``v1.2``) do not count."""
    return list(dict.fromkeys(n.replace(",", "") for n in _NUMBER.findall(strip_markers(text))))


def numbers_in(text: str) -> set[str]:
    """The set of ``find_numbers``."""
    return set(find_numbers(text))


# ---------------------------------------------------------------------------------------------- normalisation

_DASHES = str.maketrans({"‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
                         "‘": "'", "’": "'", "“": '"', "”": '"'})


def normalize_verbatim(text: str) -> str:
    """Lower-case text with whitespace collapsed and ``WORD_JOINER``s dropped: the form for verbatim
    comparisons of quotes."""
    return " ".join(text.replace(WORD_JOINER, "").lower().split())


_LATEX_ACCENT = re.compile(r"""\\['`^"~=.uvHc]\{?([A-Za-z])\}?""")
"""A LaTeX accent the scraped listings keep ("Fr\\'echet"): the letter without it."""


def without_accents(text: str) -> str:
    """``text`` with its accents dropped, whether written in Unicode ("Fréchet") or as LaTeX ("Fr\\'echet"), so a
    name typed without them is found ("Frechet")."""
    return _without_marks(_LATEX_ACCENT.sub(r"\1", text))


def _without_marks(text: str) -> str:
    """``text`` decomposed (NFKD) without its combining marks: "Fréchet" -> "Frechet"."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def normalize_title(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form (``a-z0-9`` words, one space apart): paper ids and
    de-duplication of titles, title matching, and the evals' exact tier."""
    return " ".join(re.findall(r"[a-z0-9]+", _without_marks(text).lower()))


_HTML = re.compile(r"<\s*(?:!doctype|html|head|body)\b", re.IGNORECASE)


def is_html(text: str) -> bool:
    """Whether ``text`` is (part of) a web page: a server's or a proxy's error page instead of what was asked."""
    return _HTML.search(text) is not None


_TERMINAL_ESCAPE = re.compile(
    r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|[\]P^_][^\x07\x1b]*(?:\x07|\x1b\\)?|[()*+].|[@-Z\\a-z])|\x9b[0-9;?]*[ -/]*[@-~]"
)
"""A terminal escape sequence (colour ``ESC[31m``, a title ``ESC]0;…BEL``): pasted from a terminal, not text."""


def drop_escapes(text: str) -> str:
    """``text`` without terminal escape sequences: ``"\x1b[31mred"`` is ``"red"``, not ``"[31mred"``."""
    return _TERMINAL_ESCAPE.sub("", text) if "\x1b" in text else text


def printable(text: str) -> str:
    """``text`` with terminal escape sequences (``drop_escapes``) and invisible breaks (a zero-width space copied
    inside "sparse\u200bmax") dropped, joiners kept, every other character that is not printable a space,
    whitespace collapsed."""
    kept = (ch if ch.isprintable() or ch in _JOINERS else "" if ch in _INVISIBLE_BREAKS else " "
            for ch in drop_escapes(text))  # fmt: skip
    return " ".join(_LATIN_JOINER.sub("", "".join(kept)).split())


_INVISIBLE_BREAKS = frozenset("\u200b\u2060\ufeff\u00ad")
"""Zero-width space, word joiner, byte-order mark, soft hyphen: copied from PDFs and web pages inside words."""
_JOINERS = frozenset("\u200c\u200d")
"""Zero-width non-joiner and joiner: spelling in Persian and other scripts, and inside emoji."""
_LATIN_JOINER = re.compile(r"(?<=[A-Za-z0-9])[\u200c\u200d]+(?=[A-Za-z0-9])")
"""A joiner between Latin letters or digits joins nothing ("sparse\u200dmax" is "sparsemax")."""


def normalize_query(text: str) -> str:
    """NFKC, unified dashes and quotes, control characters dropped, whitespace collapsed, "whats" and "what's" read as
    "what is" (as words the corpus lacks they lowered the abstention model's confidence in a question), and chat
    shorthand as its words (``SHORTHAND``: "diff" as "difference", so "whats the diff between sam and maxsup" asks
    for a comparison; "papers abt label noise w/ long tail" as "about" and "with")."""
    text = _WHATS.sub(r"\1 is", printable(unicodedata.normalize("NFKC", text).translate(_DASHES)))
    return _SHORTHAND.sub(lambda m: SHORTHAND[m.group(0).lower()], text)


_WHATS = re.compile(r"\b(what)(?:'s|s)\b", re.IGNORECASE)
SHORTHAND = {"diff": "difference", "abt": "about", "w/": "with", "w/o": "without", "wht": "what", "wat": "what",
             "waht": "what", "whta": "what"}
"""Chat shorthand no paper writes (none is a word of the bundled corpus), read as the words it stands for."""
_SHORTHAND = re.compile(rf"(?<![\w/-])(?:{'|'.join(map(re.escape, sorted(SHORTHAND, key=len, reverse=True)))})"
                        r"(?![\w/-])", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------- links

URL_CHARS = r"[^\s<>()\[\]{}\"'（）。，、「」【】]+"
"""What a web address in text is made of: up to a space, a bracket, a quote or a full-width punctuation mark."""
_URL = re.compile(rf"(?i)(?P<prefix>https?://|www\.){URL_CHARS}")
_URL_TAIL = ".,;:!?)]}"


def find_urls(text: str, *, schemed: bool = False) -> tuple[str, ...]:
    """The web addresses in ``text`` in order, each once and verbatim, trailing punctuation removed; a bare
    prefix ("https://") is not one. ``schemed``: only those starting with ``http://`` or ``https://``."""
    found: list[str] = []
    for match in _URL.finditer(text):
        url, prefix = match.group(0).rstrip(_URL_TAIL), match.group("prefix")
        if len(url) > len(prefix) and not (schemed and prefix.lower() == "www."):
            found.append(url)
    return tuple(dict.fromkeys(found))


def without_urls(text: str) -> str:
    """``text`` with its web addresses replaced by a space (their words are no words of the prose)."""
    return _URL.sub(" ", text) if "://" in text or "www." in text.lower() else text
