"""LaTeX in titles, abstracts and names (arXiv metadata, BibTeX) as clean text, by ``pylatexenc``.

Accents become letters (``{\\"o}`` → ``ö``), math becomes text (``$\\alpha$`` → ``α``), grouping braces go, and
every run of whitespace (the hard line breaks of the arXiv dump included) becomes one space. A bare ``%``,
which abstracts use as a percent sign but LaTeX reads as a comment, is kept as a percent sign. Text-style macros
keep their text (``\\texttt{DSPy}`` → ``DSPy``, which pylatexenc drops), and the escapes reference managers
write for ``< > | _ " ~ ^`` (Zotero's ``{\\textless}``, Mendeley's ``{\\~{}}``) become those characters. In the
arXiv dump a ``~`` is a tilde (``~30%``, ``/~smith/``), as arXiv shows it; in BibTeX it is a space.

No macro deletes a word: words written as macros (``\\LaTeX``, ``\\eg``), siunitx quantities and unknown macros
keep their text (``latex_macros``); citations are dropped with the space before them, a cross-reference reads
"??" as in LaTeX.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache

from pylatexenc import macrospec
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db
from pylatexenc.latexwalker import LatexCharsNode, LatexGroupNode, LatexMacroNode, LatexNode, LatexWalker
from pylatexenc.latexwalker import get_default_latex_context_db as walker_context_db

from rag.index.formats import latex_macros as macros

_BARE_PERCENT = re.compile(r"(?<!\\)%")
_TEXT_MACROS = ("texttt", "textsf", "mbox", "textup", "textmd", "textnormal", "text")
_SYMBOLS = {"textless": "<", "textgreater": ">", "textbar": "|", "textunderscore": "_", "textquotedbl": '"'}
_ESCAPED_MARKS = re.compile(r"\\([~^])\{\}")
"""Mendeley's ``{\\~{}}`` and ``{\\^{}}``: a tilde and a caret, not accents on nothing."""
_LITERAL_TILDE = re.compile(r"(?<!\\)~")
_LATEX_HINT = re.compile(r"[\\${}~^]|--|``|''")
_SPACING_MARKS = str.maketrans({"\u02c6": "^", "\u02dc": "~"})
"""pylatexenc writes ``\\textasciicircum`` as a modifier letter (ˆ); in an abstract it is the caret."""
_DROPPED = "\ue000"
"""Written for a citation, then removed with the space before it (a private-use character no text holds)."""
_DROPPED_RUN = re.compile(rf"\s*[(\[]\s*{_DROPPED}(?:[\s,;]*{_DROPPED})*\s*[)\]]|\s*{_DROPPED}(?:[\s,;]*{_DROPPED})*")
_HAS_ARGUMENT = "rag_has_argument"
"""Set on an unknown macro node that a braced argument follows: its text is the argument's, not its name."""
_STOP_FOLLOWS = "rag_stop_follows"
"""Set on a macro node that a full stop follows."""


def _word(name: str, text: str) -> MacroTextSpec:
    """A macro that writes ``text``, with the space typed after it ("\\ie and" is "i.e. and"), and without its
    full stop when one follows ("\\etc." is "etc.", as CVPR's macros write it)."""

    def write(node: LatexMacroNode) -> str:
        stop = getattr(node, _STOP_FOLLOWS, False) and text.endswith(".")
        return text[:-1] + node.macro_post_space if stop else text + node.macro_post_space

    return MacroTextSpec(name, simplify_repl=write)


def _unknown(node: LatexMacroNode) -> str:
    """An unknown macro's text: nothing when a braced argument follows (its text stands), else its name."""
    return "" if getattr(node, _HAS_ARGUMENT, False) else node.macroname + node.macro_post_space


def _parsing_specs() -> list[macrospec.MacroSpec]:
    return [
        *(macrospec.MacroSpec(name, "{") for name in (*_TEXT_MACROS, *macros.DROPPED_WITH_ARGUMENT)),
        *(macrospec.MacroSpec(name, "*[[{") for name in macros.CITATIONS),
        *(macrospec.MacroSpec(name, "*{") for name in macros.REFERENCES),
        *(macrospec.MacroSpec(name, args) for name, (args, _) in macros.QUANTITIES.items()),
        macrospec.MacroSpec("href", "{{"),
    ]


def _text_specs() -> list[MacroTextSpec]:
    words = {**macros.WORDS, **macros.SYMBOLS, **{name: " " for name in macros.SPACES}}
    return [
        *(MacroTextSpec(name, simplify_repl="%(1)s") for name in _TEXT_MACROS),
        *(MacroTextSpec(name, simplify_repl=char) for name, char in _SYMBOLS.items()),
        *(_word(name, text) for name, text in words.items()),
        *(MacroTextSpec(name, discard=True) for name in (*macros.SILENT, *macros.DROPPED_WITH_ARGUMENT)),
        *(MacroTextSpec(name, simplify_repl=_DROPPED) for name in macros.CITATIONS),
        *(MacroTextSpec(name, simplify_repl="(??)" if name == "eqref" else "??") for name in macros.REFERENCES),
        *(MacroTextSpec(name, simplify_repl=text) for name, (_, text) in macros.QUANTITIES.items()),
        MacroTextSpec("href", simplify_repl="%(2)s (%(1)s)"), MacroTextSpec("S", simplify_repl="§"),
    ]  # fmt: skip


@lru_cache(maxsize=1)
def _contexts() -> tuple[macrospec.LatexContextDb, LatexNodes2Text]:
    """The parser's macro table and the converter, both knowing the macros of ``latex_macros``."""
    parsing = walker_context_db()
    parsing.add_context_category("rag", prepend=True, macros=_parsing_specs())
    text = get_default_latex_context_db()
    text.add_context_category("rag", prepend=True, macros=_text_specs())
    text.set_unknown_macro_spec(MacroTextSpec("", simplify_repl=_unknown))
    return parsing, LatexNodes2Text(latex_context=text, math_mode="text")


def _mark_arguments(nodes: list[LatexNode] | None, known: macrospec.LatexContextDb) -> None:
    """Mark each unknown macro followed by a non-empty braced group (``\\textsuperscript{th}``), in every
    nested list: its argument is its text; and each macro followed by a full stop."""
    nodes = nodes or []
    for i, node in enumerate(nodes):
        after = nodes[i + 1] if i + 1 < len(nodes) else None
        if isinstance(node, LatexMacroNode) and known.get_macro_spec(node.macroname) is known.unknown_macro_spec:
            has_text = isinstance(after, LatexGroupNode) and bool(after.latex_verbatim()[1:-1].strip())
            setattr(node, _HAS_ARGUMENT, has_text)
        if isinstance(node, LatexMacroNode) and isinstance(after, LatexCharsNode):
            setattr(node, _STOP_FOLLOWS, after.chars.startswith("."))
        for child in (getattr(node, "nodelist", None), getattr(getattr(node, "nodeargd", None), "argnlist", None)):
            _mark_arguments([c for c in child or [] if c is not None], known)


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
            _mark_arguments(nodes, converter.latex_context)
            converted = converter.nodelist_to_text(nodes).translate(_SPACING_MARKS)
            converted = _DROPPED_RUN.sub("", converted)
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
