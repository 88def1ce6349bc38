"""The macros ``latex.py`` reads beyond pylatexenc's defaults, as tables: words written as macros (``\\LaTeX``,
``\\ie``), siunitx quantities (``\\SI{5}{\\milli\\second}`` is "5 ms"), citations and cross-references (dropped:
another document's reference numbers mean nothing in an abstract), and layout macros that print nothing.

pylatexenc deletes every macro it does not know, so "Translating Images to \\LaTeX{} with Transformers" lost a
word. Here an unknown macro keeps its name ("\\method" is "method") unless a braced argument follows it, whose
text is kept instead, as before (``\\textsuperscript{th}`` is "th"); the macros that print nothing are listed so
that they do not show up as words.
"""

from __future__ import annotations

WORDS = {
    "LaTeX": "LaTeX", "LaTeXe": "LaTeX2e", "TeX": "TeX", "BibTeX": "BibTeX", "XeTeX": "XeTeX", "LuaTeX": "LuaTeX",
    "ie": "i.e.", "Ie": "I.e.", "eg": "e.g.", "Eg": "E.g.", "etal": "et al.", "cf": "cf.", "Cf": "Cf.",
    "etc": "etc.", "wrt": "w.r.t.", "vs": "vs.", "iid": "i.i.d.", "aka": "a.k.a.",
}  # fmt: skip
"""Macros that write a word (CVPR's ``\\eg``, ``\\ie``; the TeX logos); a full stop typed after one that ends in a
full stop is not doubled ("\\etc." is "etc.")."""

SYMBOLS = {
    "checkmark": "✓", "ddag": "‡", "pounds": "£", "euro": "€", "degree": "°", "textdegree": "°",
    "percent": "%", "per": "/", "squared": "²", "cubed": "³", "gets": "←", "iff": "⟺", "implies": "⟹",
    "ne": "≠", "neg": "¬", "lnot": "¬", "land": "∧", "lor": "∨", "colon": ":", "bot": "⊥", "slash": "/",
    "bmod": "mod",
    # siunitx prefixes and units, read inside \SI{...}{...} and \si{...}
    "kilo": "k", "mega": "M", "giga": "G", "tera": "T", "centi": "c", "milli": "m", "micro": "µ", "nano": "n",
    "pico": "p", "second": "s", "meter": "m", "metre": "m", "gram": "g", "hertz": "Hz", "byte": "B", "watt": "W",
    "joule": "J", "volt": "V", "ampere": "A", "kelvin": "K", "degreeCelsius": "°C", "hour": "h", "minute": "min",
    "litre": "L", "liter": "L", "newton": "N", "pascal": "Pa", "ohm": "Ω", "decibel": "dB", "electronvolt": "eV",
}  # fmt: skip
"""Macros that write a symbol."""

SILENT = (
    "left", "right", "middle", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr",
    "displaystyle", "textstyle", "scriptstyle", "scriptscriptstyle", "limits", "nolimits", "centering",
    "tiny", "scriptsize", "footnotesize", "small", "normalsize", "large", "Large", "LARGE", "huge", "Huge",
    "bfseries", "mdseries", "itshape", "upshape", "slshape", "scshape", "rmfamily", "sffamily", "ttfamily",
    "normalfont", "em", "bf", "it", "rm", "sf", "tt", "sc", "sl", "xspace", "noindent", "indent", "par",
    "smallskip", "medskip", "bigskip", "protect", "relax", "allowbreak", "nobreak", "hfill", "vfill", "hfil",
    "break", "newpage", "clearpage", "unskip", "null", "/", "@", "nobreakdash", "negthinspace", "boldmath",
    "unboldmath", "newblock", "cal", "frak", "Bbb", "textwidth", "linewidth",
)  # fmt: skip
"""Layout and font switches: they print nothing (an unknown macro would print its name)."""

SPACES = ("newline", "linebreak", "enspace", "thinspace", "and", "AND")
"""Line breaks and spaces (``\\and`` between authors): a space."""

DROPPED_WITH_ARGUMENT = ("label", "phantom", "hphantom", "vphantom", "nocite")
"""Macros whose argument is not text."""

CITATIONS = (
    "cite", "citet", "citep", "citealt", "citealp", "citeauthor", "citeyear", "citeyearpar", "citenum", "Cite",
    "Citet", "Citep", "Citealt", "Citealp", "Citeauthor", "parencite", "Parencite", "textcite", "Textcite",
    "autocite", "Autocite", "footcite", "supercite", "smartcite",
)  # fmt: skip
"""Citations: dropped with the space before them ("as shown in \\cite{x}." is "as shown in."), where pylatexenc
writes "<cit.>": the reader of an abstract has no reference list to look them up in."""

REFERENCES = ("ref", "autoref", "cref", "Cref", "eqref", "pageref", "vref", "nameref")
"""Cross-references: "??", as LaTeX prints a reference it cannot resolve ("Section ?? shows"), where pylatexenc
writes "<ref>"; dropping the number would leave "Section shows"."""

QUANTITIES = {
    "SI": ("[{[{", "%(2)s %(4)s"), "qty": ("[{[{", "%(2)s %(4)s"), "si": ("[{", "%(2)s"), "unit": ("[{", "%(2)s"),
    "num": ("[{", "%(2)s"), "SIrange": ("[{{{", "%(2)s–%(3)s %(4)s"), "qtyrange": ("[{{{", "%(2)s–%(3)s %(4)s"),
    "numrange": ("[{{", "%(2)s–%(3)s"), "ang": ("[{", "%(2)s°"),
}  # fmt: skip
"""siunitx's macros: their arguments (pylatexenc's notation) and text (``%(n)s`` is the n-th argument)."""
