"""LaTeX in titles, abstracts and names (arXiv metadata, BibTeX) as clean text, by ``pylatexenc``.

Accents become letters (``{\\"o}`` → ``ö``), math becomes text (``$\\alpha$`` → ``α``), grouping braces go, and
every run of whitespace (the hard line breaks of the arXiv dump included) becomes one space. A bare ``%``,
which abstracts use as a percent sign but LaTeX reads as a comment, is kept as a percent sign.
"""

from __future__ import annotations

import re
from contextlib import suppress
from functools import lru_cache

from pylatexenc.latex2text import LatexNodes2Text

_BARE_PERCENT = re.compile(r"(?<!\\)%")
_LATEX_HINT = re.compile(r"[\\${}~^]|--|``|''")
_SPACING_MARKS = str.maketrans({"\u02c6": "^", "\u02dc": "~"})
"""pylatexenc writes ``\\textasciicircum`` as a modifier letter (ˆ); in an abstract it is the caret."""


@lru_cache(maxsize=1)
def _converter() -> LatexNodes2Text:
    return LatexNodes2Text(math_mode="text")


def latex_to_text(text: str) -> str:
    """``text`` as one line of plain text. Text with no LaTeX in it is only whitespace-normalised."""
    if _LATEX_HINT.search(text):
        with suppress(ValueError, IndexError, RecursionError):  # pylatexenc gives up on badly broken markup
            text = _converter().latex_to_text(_BARE_PERCENT.sub(r"\\%", text)).translate(_SPACING_MARKS)
    return " ".join(text.split())
