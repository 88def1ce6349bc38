"""Citation markers in an answer's text: renumbering them by first use, and the markers each sentence carries
(the marker syntax and the sentence rules are ``rag.text``'s). ``rag.answer.citations.check_answer`` runs both
before it checks a sentence against its sources."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.notes import is_title_note
from rag.text import MARKER, answer_sentences, list_label, parse_markers


def renumber(text: str, n_sources: int) -> tuple[str, list[int], tuple[int, ...]]:
    """Markers rewritten as ``[a]``/``[a, b]`` with sources numbered by first use.

    Returns the new text, ``order`` (``order[i]`` is the original number of new marker ``i + 1``) and the
    original numbers that pointed at no source (``> n_sources``), which are removed with the spaces right
    before them. Nothing else of the text changes; two markers that touch get a space between them."""
    order: list[int] = []
    removed: list[int] = []
    out = ""
    last = 0
    marker_end = taken_at = -1  # where the last written marker ends; where a removed marker's spaces were
    taken = ""
    for marker in parse_markers(text):
        out += text[last : marker.start]
        last = marker.end
        new: list[int] = []
        for number in marker.numbers:
            if number > n_sources:
                removed.append(number)
                continue
            if number not in order:
                order.append(number)
            if order.index(number) + 1 not in new:
                new.append(order.index(number) + 1)
        if not new:
            kept = out.rstrip(" \t")
            taken, taken_at, out = out[len(kept) :], len(kept), kept
            continue
        if len(out) == taken_at:
            out += taken
        elif len(out) == marker_end:
            out += " "
        out += "[" + ", ".join(str(n) for n in sorted(new)) + "]"
        marker_end = len(out)
    return out + text[last:], order, tuple(dict.fromkeys(removed))


_MARKER_LINE = re.compile(rf"[ \t]*\n[ \t]*((?:(?:{MARKER.pattern})[ \t]*)+)(?=\n|$)", re.IGNORECASE)


def cited_sentences(text: str, titles: Sequence[str] = ()) -> list[tuple[str, tuple[int, ...], bool]]:
    """``(sentence, markers, inherited)`` for each sentence; a sentence without markers takes those of
    the next cited sentence of the same paragraph (``"Claim A. Claim B [1]."`` cites [1] for both).
    A list line ``- Title: quote`` keeps its title whole (titles may hold "?" or "."), and so does a note line
    naming a title ("Paper: <title> [1]", ``rag.answer.notes.is_title_note``)."""
    out: list[tuple[str, tuple[int, ...], bool]] = []
    text = _MARKER_LINE.sub(r" \1", text)  # "Claim.\n[1]": a line of markers cites the line before it
    for paragraph in re.split(r"\n", text):
        pending: list[str] = []
        if is_title_note(paragraph, titles):
            label, pieces = "", [paragraph.strip()]
        else:
            label = list_label(paragraph, titles)
            pieces = answer_sentences(paragraph[len(label) :])
        if label and pieces:
            pieces[0] = f"{label.strip()} {pieces[0]}"
        elif label:
            pieces = [label.strip()]
        for sentence in pieces:
            markers = tuple(dict.fromkeys(n for m in parse_markers(sentence) for n in m.numbers))
            if not markers:
                pending.append(sentence)
                continue
            out.extend((p, markers, True) for p in pending)
            pending = []
            out.append((sentence, markers, False))
        out.extend((p, (), False) for p in pending)
    return out
