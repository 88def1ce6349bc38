"""Scraped paper-listing pages: a title line, an abstract line, with boilerplate and date lines around."""

from __future__ import annotations

import re
from pathlib import Path

from rag.errors import CorpusError
from rag.index.formats.base import MAX_TITLE_CHARS, Record, lines, read_text

BOILERPLATE = frozenset(
    {
        "new",
        "get trending papers in your email inbox!",
        "get trending papers in your email inbox once a day!",
        "subscribe",
        "byak and the research community",
    }
)
_DATE = re.compile(
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t|tember)?"
    r"|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?) \d{1,2}(?:, \d{4})?"
)
_GLUED_SUBSCRIBE = re.compile(r"^Subscribe(?=[A-Z0-9])")


ABSTRACT_RULE = "an abstract line has 200 characters, or 12 words and a sentence's end"


def _is_abstract(line: str) -> bool:
    return len(line) >= 200 or (len(line.split()) >= 12 and bool(re.search(r"[.!?](\s|$)", line)))


def parse_listing(path: Path, text: str | None = None) -> list[Record]:
    """Parse a scraped listing page: title line, abstract line, with boilerplate and date lines around."""
    text = read_text(path) if text is None else text
    records: list[Record] = []
    date: str | None = None
    title: tuple[int, str] | None = None
    for number, raw in enumerate(lines(text), start=1):
        line = " ".join(raw.split())
        if not line or line.lower() in BOILERPLATE:
            continue
        if _DATE.fullmatch(line):
            date = line
            continue
        if not records and title is None:
            # the page's "Subscribe" button glued to the first title; later titles are left alone
            line = _GLUED_SUBSCRIBE.sub("", line)
        if title is None:
            if len(line) > MAX_TITLE_CHARS or (_is_abstract(line) and len(line) > 200):
                raise CorpusError(str(path), number, "found an abstract with no title line before it")
            title = (number, line)
        elif _is_abstract(line):
            records.append(Record(title[1], line, f"{path.name}:{title[0]}", date))
            title = None
        else:
            raise CorpusError(str(path), title[0], f"title {title[1][:80]!r} has no abstract after it: the next line "
                              f"({line[:60]!r}, line {number}) is too short for one ({ABSTRACT_RULE}); a page of short "
                              "abstracts reads as a JSONL or CSV file (docs/ingest.md)")  # fmt: skip
    if title is not None:
        raise CorpusError(str(path), title[0], f"title {title[1][:80]!r} has no abstract after it")
    if not records:
        raise CorpusError(str(path), None, "no title/abstract pairs found")
    return records
