"""LaTeX in titles, abstracts and names (arXiv metadata, BibTeX) as clean text, by ``pylatexenc``.

Accents become letters (``{\\"o}`` → ``ö``), math becomes text (``$\\alpha$`` → ``α``), grouping braces go, and
every run of whitespace (the hard line breaks of the arXiv dump included) becomes one space. A bare ``%``,
which abstracts use as a percent sign but LaTeX reads as a comment, is kept as a percent sign. Text-style macros
keep their text (``\\texttt{DSPy}`` → ``DSPy``, which pylatexenc drops), and the escapes reference managers
write for ``< > | _ " ~ ^`` (Zotero's ``{\\textless}``, Mendeley's ``{\\~{}}``) become those characters. In the
arXiv dump a ``~`` is a tilde (``~30%``, ``/~smith/``), as arXiv shows it; in BibTeX it is a space.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache

from pylatexenc import macrospec
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db
from pylatexenc.latexwalker import LatexWalker
from pylatexenc.latexwalker import get_default_latex_context_db as walker_context_db

_BARE_PERCENT = re.compile(r"(?<!\\)%")
_TEXT_MACROS = ("texttt", "textsf", "mbox", "textup", "textmd", "textnormal", "text")
_SYMBOLS = {"textless": "<", "textgreater": ">", "textbar": "|", "textunderscore": "_", "textquotedbl": '"'}
_ESCAPED_MARKS = re.compile(r"\\([~^])\{\}")
"""Mendeley's ``{\\~{}}`` and ``{\\^{}}``: a tilde and a caret, not accents on nothing."""
_LITERAL_TILDE = re.compile(r"(?<!\\)~")
_LATEX_HINT = re.compile(r"[\\${}~^]|--|``|''")
_SPACING_MARKS = str.maketrans({"\u02c6": "^", "\u02dc": "~"})
"""pylatexenc writes ``\\textasciicircum`` as a modifier letter (ˆ); in an abstract it is the caret."""


@lru_cache(maxsize=1)
def _contexts() -> tuple[macrospec.LatexContextDb, LatexNodes2Text]:
    """The parser's macro table and the converter, both knowing the text-style macros and the escapes."""
    parsing = walker_context_db()
    parsing.add_context_category("rag", prepend=True, macros=[
        *(macrospec.MacroSpec(name, "{") for name in _TEXT_MACROS), macrospec.MacroSpec("href", "{{"),
    ])  # fmt: skip
    text = get_default_latex_context_db()
    text.add_context_category("rag", prepend=True, macros=[
        *(MacroTextSpec(name, simplify_repl="%(1)s") for name in _TEXT_MACROS),
        *(MacroTextSpec(name, simplify_repl=char) for name, char in _SYMBOLS.items()),
        MacroTextSpec("href", simplify_repl="%(2)s (%(1)s)"), MacroTextSpec("S", simplify_repl="§"),
    ])  # fmt: skip
    return parsing, LatexNodes2Text(latex_context=text, math_mode="text")


def latex_to_text(text: str, tilde_is_space: bool = True) -> str:
    """``text`` as one line of plain text. Text with no LaTeX in it is only whitespace-normalised.
    ``tilde_is_space=False`` (the arXiv dump) keeps a bare ``~`` as a tilde."""
    if _LATEX_HINT.search(text):
        marked = _ESCAPED_MARKS.sub(lambda m: {"~": "\u02dc", "^": "\u02c6"}[m.group(1)], text)
        if not tilde_is_space:
            marked = _LITERAL_TILDE.sub("\u02dc", marked)
        broken = (ValueError, IndexError, KeyError, TypeError, RecursionError)  # pylatexenc on broken markup
        with suppress(*broken), _quiet():
            parsing, converter = _contexts()
            nodes, _, _ = LatexWalker(_BARE_PERCENT.sub(r"\\%", marked), latex_context=parsing).get_latex_nodes()
            converted = converter.nodelist_to_text(nodes).translate(_SPACING_MARKS)
            if converted.count("%s") <= text.count("%s"):  # a macro missing its arguments leaves "%s": keep the text
                text = converted
    return " ".join(text.split())


@contextmanager
def _quiet() -> Iterator[None]:
    """pylatexenc logs a warning for each macro it cannot fill in; the text is kept as written instead."""
    logger = logging.getLogger("pylatexenc")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
