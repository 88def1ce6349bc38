"""The sources of the previous answer: which text of it cites each one (``cited_sources``), and which retrieved
paper is the one behind it (``refers_to``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answer.notes import WEAKER_MATCHES
from rag.text import (
    answer_sentences,
    normalize_verbatim,
    parse_markers,
    parts_in_order,
    quote_parts,
    short_title,
    strip_markers,
)


@dataclass(frozen=True, slots=True)
class Cited:
    """One source of the previous answer: its marker and the text it backs there (list label and quotes)."""

    marker: int
    texts: tuple[str, ...]


def cited_sources(answer: str) -> list[Cited]:
    """The previous answer's sources in order of first use, each with the answer text citing it (markers and
    a leading "…" removed; a list line keeps its ``- Title:`` label, which names the paper). A sentence citing
    several sources ("A does x [1]; B does y [2].") gives each the clause before its own marker. An answer written
    markers first ("A few: [1] OPERA penalizes ... [2] SENTINEL trains ...") gives each the text after its marker,
    and a closing reference list ("Sources:" then "[1] Title") labels each source with its title."""
    body, listed = _reference_list(answer)
    texts: dict[int, list[str]] = {}
    segments = _leading_segments(body) or [seg for sentence in answer_sentences(body)
                                           for seg in _cited_segments(sentence)]
    for n, text in segments:
        texts.setdefault(n, []).append(_plain(text))
    for n, title in listed:
        texts.setdefault(n, []).append(f"{title}:")
    return [Cited(n, tuple(t)) for n, t in texts.items()]


_REFERENCE = re.compile(r"(?:[-*]\s*)?\[(\d{1,3})\]\s+(\S.*)")
"""A reference-list line, stripped: "[1] Title", "- [2] Title (supported)"."""
_SUPPORT = re.compile(r"(?:[^()]*support[^()]*|partial|weak)\)", re.IGNORECASE)
"""The support label this bot's CLI writes after a listed title: "(supported)", "(partial support)"."""
_REFERENCES_HEAD = re.compile(r"[#*_\s]*(?:sources|references|citations)\s*:?[*_\s]*:?", re.IGNORECASE)
"""The line that opens a reference list: "Sources:", "**References**", "## Citations"."""


def _listed_title(text: str) -> str:
    """A reference-list entry without its support label ("OPERA: ... (supported)" -> "OPERA: ...")."""
    head, bracket, label = text.rpartition("(")
    return head.strip() if bracket and _SUPPORT.fullmatch(label) else text.strip()


def _reference_list(answer: str) -> tuple[str, list[tuple[int, str]]]:
    """``answer`` without its closing reference list, and that list's (number, title) pairs: the lines after a
    "Sources:" / "**References**" line, or two or more trailing lines that are each "[n] text" alone (a
    hand-written answer with one marker per line reads so too; its texts, labels here, still quote their
    abstracts for ``refers_to``)."""
    lines = answer.rstrip().splitlines()
    end = len(lines)
    while end and _REFERENCE.fullmatch(lines[end - 1].strip()):
        end -= 1
    listed = [(int(m.group(1)), _listed_title(m.group(2)))
              for line in lines[end:] if (m := _REFERENCE.fullmatch(line.strip()))]
    if end and _REFERENCES_HEAD.fullmatch(lines[end - 1].strip()):
        end -= 1
    elif len(listed) < 2:  # one "[n] ..." line alone may be an answer's own sentence
        return answer, []
    return "\n".join(lines[:end]), listed


def markers_first(answer: str) -> bool:
    """Whether ``answer`` puts its markers before what they back (``_leading_segments``): a hand-written or
    another model's answer, not this bot's."""
    return bool(_leading_segments(_reference_list(answer)[0]))


def _leading_segments(answer: str) -> list[tuple[int, str]]:
    """(source number, the text after its marker) when ``answer`` puts its markers first: the text before the
    first marker is empty or a lead-in ending in ":", and text, not a marker, ends the answer. [] otherwise (this
    bot's answers put markers after what they back)."""
    markers = parse_markers(answer)
    if not markers or answer[markers[-1].end :].strip(" .\n") == "":
        return []
    lead = answer[: markers[0].start].strip()
    if lead and not lead.endswith(":"):
        return []
    out: list[tuple[int, str]] = []
    for k, marker in enumerate(markers):
        end = markers[k + 1].start if k + 1 < len(markers) else len(answer)
        text = answer[marker.end : end].strip()
        out += [(n, text) for n in marker.numbers if len(text) >= _MIN_SEGMENT]
    return out


def sure_sources(answer: str) -> list[Cited]:
    """``cited_sources`` of a list answer's sure matches (the lines above its ``WEAKER_MATCHES`` line): what "which of
    them ..." and "how do they differ?" ask about. Every source of an answer without weaker matches."""
    return cited_sources(answer.split(WEAKER_MATCHES, 1)[0])


_MIN_SEGMENT = 12
"""A clause before a marker shorter than this ("A [1] and B [2] do x") does not stand for its source: the
whole sentence does."""


def _plain(text: str) -> str:
    return strip_markers(text).removeprefix("- ").strip(" ;,").lstrip("… ").strip()


def _cited_segments(sentence: str) -> list[tuple[int, str]]:
    """(source number, the text that number backs) for every number cited in ``sentence``, first use first."""
    markers = parse_markers(sentence)
    numbers = list(dict.fromkeys(n for m in markers for n in m.numbers))
    if len(numbers) < 2:
        return [(n, sentence) for n in numbers]
    out: dict[int, list[str]] = {}
    start = 0
    for k, marker in enumerate(markers):
        clause = sentence[start : marker.start].rstrip()
        tail = sentence[marker.end :] if k == len(markers) - 1 else ""  # text after the last marker is its own
        start = marker.end
        chosen = clause + tail if len(_plain(clause)) >= _MIN_SEGMENT else sentence
        for n in marker.numbers:
            if chosen not in out.setdefault(n, []):
                out[n].append(chosen)
    return [(n, " ".join(parts)) for n, parts in out.items()]


def refers_to(cited: Cited, title: str, abstract: str) -> bool:
    """Whether a paper is the one behind ``cited``: one of its texts is labelled with the paper's title or its
    short name (a comparison line: ``rag.text.short_title``; a reference list's "[n] Title"), or quotes its
    abstract verbatim (gaps allowed, ``rag.text.quote_parts``)."""
    source = normalize_verbatim(abstract)
    name = normalize_verbatim(title)
    labels = [f"{n}:" for n in {name, normalize_verbatim(short_title(title))} if n]
    for text in cited.texts:
        low = normalize_verbatim(text)
        if any(low.startswith(label) for label in labels):
            return True
        body = text.split(": ", 1)[1] if name and low.startswith(name) and ": " in text else text
        parts = [normalize_verbatim(p.rstrip(" .")) for p in quote_parts(body)]
        if parts and all(len(p) >= 12 for p in parts) and parts_in_order(parts, source):
            return True
    return False
