"""Citation markers (``[n]``, ``[n, m]``, ``[n-m]``, ``[Source n]``, ``【n】``), an answer's sentences with the
markers that follow them, and list lines (bullets, labels, a title's short name)."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from rag.text.sentences import split_sentences

# ---------------------------------------------------------------------------------------------- markers

_NUM = r"(?!0)\d{1,3}"
_LIST = rf"{_NUM}(?:\s*[-–—]\s*{_NUM})?(?:\s*[,;]\s*{_NUM}(?:\s*[-–—]\s*{_NUM})?)*"
MARKER = re.compile(
    rf"\[\s*(?:(?:sources?|refs?|papers?)\s*)?(?P<sq>{_LIST})\s*\]|【\s*(?P<cjk>{_LIST})\s*】", re.IGNORECASE
)
"""A citation marker: ``[1]``, ``[1, 2]``, ``[1-3]``, ``[Source 1]``, ``【1】``."""
WORD_JOINER = "\u2060"
"""Invisible, and not a space: put after the bracket of a marker-like ``[2]`` quoted from an abstract."""


def defuse_markers(text: str) -> str:
    """``text`` (quoted from an abstract) with each marker-like ``[2, 3]`` made inert: a ``WORD_JOINER`` after its
    opening bracket, so it looks the same but is not read as a citation of the answer's sources.
    ``normalize_verbatim`` drops the joiner again, so the quote still checks as verbatim."""
    return MARKER.sub(lambda m: m.group(0)[0] + WORD_JOINER + m.group(0)[1:], text)


_SPACED_MARKER = re.compile(rf"(?<![ \t])[ \t]*(?:{MARKER.pattern})", re.IGNORECASE)
"""A marker with the spaces right before it, matched from the start of those spaces (a long run of spaces is
scanned once, not once per space)."""
_CODE = re.compile(r"^[ \t]*```.*?(?:^[ \t]*```|\Z)|(?<!`)`(?!`)[^`\n]+(?<!`)`(?!`)", re.DOTALL | re.MULTILINE)
"""Markdown code: a fenced block (its fence at the start of a line) or a span between single backticks. Not
LaTeX's ``quotes'', whose doubled backticks open no span."""
_LEADING_MARKERS = re.compile(rf"(?:\s*(?:{MARKER.pattern}))+", re.IGNORECASE)
_NEXT_SENTENCE = re.compile(r"\s+(?:…|[\"'“‘(]?[A-Z0-9])")


@dataclass(frozen=True, slots=True)
class Marker:
    """One citation marker in a text: where it is and the source numbers it names."""

    start: int
    end: int
    numbers: tuple[int, ...]


def _expand(numbers: str) -> tuple[int, ...]:
    out: list[int] = []
    for part in re.split(r"\s*[,;]\s*", numbers.strip()):
        bounds = re.split(r"\s*[-–—]\s*", part)
        if len(bounds) == 2:
            lo, hi = int(bounds[0]), int(bounds[1])
            out.extend(range(lo, hi + 1) if lo <= hi and hi - lo <= 20 else (lo, hi))
        elif part:
            out.append(int(part))
    return tuple(dict.fromkeys(out))


def _citations(pattern: re.Pattern[str], text: str, start: int = 0, end: int | None = None) -> list[re.Match[str]]:
    """Matches of a marker ``pattern`` in ``text[start:end]`` outside Markdown code: ``x[1]`` in a code span or
    block is indexing, not a citation."""
    found = list(pattern.finditer(text, start, len(text) if end is None else end))
    if not found or "`" not in text:
        return found
    code = [m.span() for m in _CODE.finditer(text)]
    return [m for m in found if not any(a <= m.end() - 1 and m.start() < b for a, b in code)]


def parse_markers(text: str) -> list[Marker]:
    """Every citation marker of ``text``, in order; a range names every number in it (``[2-4]``: 2, 3, 4)."""
    return [
        Marker(m.start(), m.end(), _expand(m.group("sq") or m.group("cjk") or "")) for m in _citations(MARKER, text)
    ]


def markers_in(text: str) -> list[int]:
    """The source numbers of every marker in ``text``, in order, repeats kept."""
    return [n for marker in parse_markers(text) for n in marker.numbers]


def strip_markers(text: str) -> str:
    """``text`` without its citation markers. Only a marker and the spaces right before it go: the rest of
    the text stays character for character (outer whitespace trimmed)."""
    out, last = [], 0
    for m in _citations(_SPACED_MARKER, text):
        out.append(text[last : m.start()])
        last = m.end()
    return ("".join(out) + text[last:]).strip()


def answer_sentences(text: str) -> list[str]:
    """Sentences of an answer, lines (list items) first, each keeping the markers that follow it:
    ``"A claim. [1] Next"`` gives ``"A claim. [1]"`` and ``"Next"``, and ``"claim [1] Next claim"`` (no
    period after the marker) two sentences as well. Each sentence is a substring of its line, but for a line
    holding only markers, which joins the sentence before it. A quote that starts mid-sentence, after a
    marker and a gap ("claim [1] … rest of a sentence [2]"), is a sentence of its own too."""
    out: list[str] = []
    for line in text.splitlines():
        bounds: list[list[int]] = []
        spans = _outside_label(line, _outside_quotes(line, [(s.start, s.end) for s in split_sentences(line)]))
        for start, span_end in spans:
            lead = _LEADING_MARKERS.match(line, start, span_end)
            if lead and bounds:  # "A claim. [1] Next": the markers belong to the sentence before
                bounds[-1][1] = lead.end()
                start = lead.end()
            for end in _marker_ends(line, start, span_end):
                bounds.append([start, end])
                start = end
        for start, end in bounds:
            piece = line[start:end].strip()
            if piece and out and not strip_markers(piece):  # only markers: they belong to the sentence before
                out[-1] = f"{out[-1]} {piece}"
            elif piece:
                out.append(piece)
    return out


def _outside_quotes(line: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` with those joined whose boundary falls inside a double-quoted passage that closes on the line: a
    note quoting a title ('The abstract of "Do I Know This Entity? Knowledge ..." does not state ...') is one
    sentence. A line with an unbalanced quote keeps its spans."""
    if line.count('"') % 2 or line.count("“") != line.count("”") or ('"' not in line and "“" not in line):
        return spans
    return _joined(spans, lambda start: line[:start].count('"') % 2 == 1 or
                   line[:start].count("“") > line[:start].count("”"))


def _outside_label(line: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` with those joined whose boundary falls inside a list line's label (a bullet, then the text before
    its first ": ", holding no marker): "- Prompt Optimization with EASE? Efficient ...: EASE uses ... [1]" keeps
    its title whole."""
    bullet = _BULLET.match(line)
    label_end = line.find(": ", bullet.end()) if bullet else -1
    if label_end < 0 or MARKER.search(line, 0, label_end):
        return spans
    return _joined(spans, lambda start: start < label_end)


def _joined(spans: list[tuple[int, int]], inside: Callable[[int], bool]) -> list[tuple[int, int]]:
    """``spans`` with each one whose start is ``inside`` a passage that must not be split joined to the one before."""
    out: list[tuple[int, int]] = []
    for start, end in spans:
        if out and inside(start):
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _marker_ends(line: str, start: int, end: int) -> list[int]:
    """Ends of the pieces of ``line[start:end]``: after every marker that a new sentence follows, and at ``end``."""
    ends = [m.end() for m in _citations(MARKER, line, start, end) if _NEXT_SENTENCE.match(line, m.end(), end)]
    return [*ends, end]


_BULLET = re.compile(r"\s*(?:[-*•]|\d+[.)])\s+")
_LABEL_END = re.compile(r"[*_]*(?:\s*[:—–]|\s+-(?=\s))\s*|[*_]*\s*$")


def strip_bullet(line: str) -> str:
    """``line`` without a leading list bullet ("- ", "* ", "• ", "1. ", "2) ")."""
    bullet = _BULLET.match(line)
    return line[bullet.end() :] if bullet else line


def short_title(title: str) -> str:
    """A paper's short name: the part of its title before ":" when that is a name of at most four words
    ("SeerAttention-R: Sparse ..." -> "SeerAttention-R"), else the whole title (whitespace collapsed)."""
    head = title.split(":", 1)[0].strip()
    return head if ":" in title and 0 < len(head.split()) <= 4 else " ".join(title.split())


def list_label(line: str, titles: Collection[str]) -> str:
    """The label of a line that names one of ``titles`` before its text, as answers list and compare papers: an
    optional bullet, the title or its ``short_title`` (any case, whitespace collapsed, maybe in ``**``/``_``
    emphasis), then ":" or a dash (or the end of the line). "" when the line starts with no such label. Titles
    may hold "?" or "."."""
    start = len(line) - len(strip_bullet(line))
    start += len(line[start:]) - len(line[start:].lstrip("*_"))
    body = line[start:].lower()
    names = {*titles, *(short_title(t) for t in titles)}
    for title in sorted(names, key=len, reverse=True):
        clean = " ".join(title.split()).lower()
        end = _LABEL_END.match(line, start + len(clean)) if clean and body.startswith(clean) else None
        if end:
            return line[: end.end()]
    return ""
