"""Parse the corpus: scraped paper-listing pages (.txt), JSONL and CSV files, into unique ``Paper``s.

Every problem is a ``CorpusError`` naming file and line. Parsing never touches the index,
so a bad file leaves the index exactly as it was. Files are read by ``rag.index.files`` (regular files only,
never blocking); every format shares one limit on titles and abstracts.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from rag.errors import CorpusError
from rag.index.files import expand_paths, read_bytes
from rag.text import find_urls, normalize_title
from rag.types import Paper

MAX_LINE_CHARS = 100_000
MAX_TITLE_CHARS = 400
"""Title limit of every format (a longer line in a listing is taken for an abstract)."""
MAX_ABSTRACT_CHARS = MAX_LINE_CHARS
"""Abstract limit of every format (in a listing an abstract is one line)."""
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
_NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class Record:
    """One title/abstract pair as found in one file, before de-duplication."""

    title: str
    abstract: str
    source: str
    listing_date: str | None = None


def title_key(title: str) -> str:
    """The title's letters and digits of every script, NFKC-normalised and casefolded, one space between
    words; accents on Latin letters are dropped (``Café`` = ``cafe``), marks of other scripts are kept. Two
    records with the same key are the same paper."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", title).casefold())
    kept: list[str] = []
    for ch in folded:
        category = unicodedata.category(ch)
        if category.startswith("M") and kept and kept[-1].isascii():
            continue  # an accent on a Latin letter
        kept.append(ch if category[0] in "LMN" else " ")
    return " ".join(unicodedata.normalize("NFC", "".join(kept)).split())


def paper_id(title: str) -> str:
    """Stable id of a title: the same on every run and machine, distinct for distinct ``title_key``s.

    A title that is (nearly) all Latin letters and digits keeps the original id, the hash of
    ``rag.text.normalize_title`` (``a-z0-9`` words), so existing indexes stay valid: "nearly" means at most
    one letter in ten from another script (a Greek symbol as in "λ-ECLIPSE" is ignored, as it always was).
    Other titles are keyed by all their letters (``title_key``), and a title with no letters or digits at
    all ("!!!") by its NFKC text, so two Chinese titles, or "!!!" and "???", are two papers."""
    key = title_key(title)
    letters = key.replace(" ", "")
    foreign = sum(1 for ch in letters if not ("a" <= ch <= "z" or "0" <= ch <= "9"))
    legacy = normalize_title(title)
    if legacy and foreign * 10 <= len(letters):
        basis = legacy
    elif key:
        basis = "key:" + key
    else:
        basis = "text:" + " ".join(unicodedata.normalize("NFKC", title).split())
    return "p" + hashlib.sha1(basis.encode()).hexdigest()[:12]



def _lines(text: str) -> list[str]:
    """Lines split at newlines only (LF, CRLF, CR), so line numbers match an editor's; ``str.splitlines``
    would also split inside a line at U+2028, U+0085, form feeds and other separators."""
    return _NEWLINE.split(text)


def _read_text(path: Path) -> str:
    data = read_bytes(path)
    if not data.strip():
        raise CorpusError(str(path), None, "the file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CorpusError(str(path), None, "the file is UTF-16 text; save it as UTF-8")
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data[:nul].count(b"\n") + 1
        raise CorpusError(str(path), line, "this looks like a binary file (it holds NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CorpusError(str(path), line, f"invalid UTF-8 at byte {exc.start}; save the file as UTF-8") from exc
    for number, line_text in enumerate(_lines(text), start=1):
        if len(line_text) > MAX_LINE_CHARS:
            raise CorpusError(
                str(path), number, f"line is {len(line_text):,} characters; the limit is {MAX_LINE_CHARS:,}"
            )
    return text


def _is_abstract(line: str) -> bool:
    return len(line) >= 200 or (len(line.split()) >= 12 and bool(re.search(r"[.!?](\s|$)", line)))


def parse_listing(path: Path, text: str | None = None) -> list[Record]:
    """Parse a scraped listing page: title line, abstract line, with boilerplate and date lines around."""
    text = _read_text(path) if text is None else text
    records: list[Record] = []
    date: str | None = None
    title: tuple[int, str] | None = None
    for number, raw in enumerate(_lines(text), start=1):
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
            raise CorpusError(str(path), title[0], f"title {title[1][:80]!r} has no abstract after it")
    if title is not None:
        raise CorpusError(str(path), title[0], f"title {title[1][:80]!r} has no abstract after it")
    if not records:
        raise CorpusError(str(path), None, "no title/abstract pairs found")
    return records


class _Row(BaseModel):
    """A JSONL or CSV row: outside data, validated."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    title: str
    abstract: str
    listing_date: str | None = None

    @field_validator("title", "abstract")
    @classmethod
    def _not_blank(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            raise ValueError("must not be empty")
        value = " ".join(value.split())
        limit = MAX_TITLE_CHARS if info.field_name == "title" else MAX_ABSTRACT_CHARS
        if len(value) > limit:
            raise ValueError(f"is {len(value):,} characters; the limit is {limit:,} (the same in every format)")
        return value

    @field_validator("listing_date")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return " ".join(value.split()) or None if value is not None else None


def _row(path: Path, number: int, data: object) -> Record:
    if isinstance(data, dict):
        data = {str(k).strip().lower(): v for k, v in data.items()}
        data.setdefault("abstract", data.get("summary"))
        data.setdefault("listing_date", data.get("date"))
    try:
        row = _Row.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'row'}: {e['msg']}" for e in exc.errors())
        raise CorpusError(str(path), number, f"needs non-empty 'title' and 'abstract' fields ({problems})") from exc
    return Record(row.title, row.abstract, f"{path.name}:{number}", row.listing_date)


def parse_jsonl(path: Path) -> list[Record]:
    records = []
    for number, line in enumerate(_lines(_read_text(path)), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(str(path), number, f"not valid JSON ({exc.msg})") from exc
        except RecursionError as exc:
            raise CorpusError(str(path), number, "the JSON is nested too deeply; one flat object per line") from exc
        except ValueError as exc:  # e.g. an integer of more than 4,300 digits
            raise CorpusError(str(path), number, f"the JSON holds an unusable value ({str(exc)[:120]})") from exc
        records.append(_row(path, number, data))
    if not records:
        raise CorpusError(str(path), None, "no records found")
    return records


def parse_csv(path: Path) -> list[Record]:
    reader = csv.DictReader(io.StringIO(_read_text(path)))
    try:
        fields = reader.fieldnames
        if not fields or not {"title", "abstract"} <= {f.strip().lower() for f in fields}:
            raise CorpusError(str(path), 1, "the header must name 'title' and 'abstract' columns")
        records = [_row(path, reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise CorpusError(str(path), reader.line_num or 1, f"not valid CSV ({exc})") from exc
    if not records:
        raise CorpusError(str(path), None, "no rows after the header")
    return records


def parse_file(path: Path) -> list[Record]:
    """Parse one file by its suffix."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return parse_jsonl(path)
    if suffix == ".csv":
        return parse_csv(path)
    return parse_listing(path)


def dedupe(records: Iterable[Record]) -> list[Paper]:
    """Merge records of the same paper (the same ``title_key``: case, accents and punctuation aside), keeping
    every source, in first-seen order. Two different titles with one id are an error, never a silent merge."""
    merged: dict[str, Paper] = {}
    keys: dict[str, str] = {}
    for rec in records:
        pid = paper_id(rec.title)
        seen = merged.get(pid)
        if seen is None:
            urls = find_urls(rec.abstract, schemed=True)
            merged[pid] = Paper(pid, rec.title, rec.abstract, (rec.source,), rec.listing_date, urls)
            keys[pid] = title_key(rec.title)
            continue
        if title_key(rec.title) != keys[pid]:
            name, _, line = rec.source.rpartition(":")
            raise CorpusError(
                name,
                int(line) if line.isdigit() else None,
                f"title {rec.title[:80]!r} and the title {seen.title[:80]!r} ({seen.sources[0]}) differ only "
                f"in letters outside a-z/0-9 and would get the same paper id {pid}; make them differ in their "
                "Latin letters or digits, or remove one",
            )
        merged[pid] = Paper(
            pid,
            seen.title,
            seen.abstract,
            (*seen.sources, rec.source),
            seen.listing_date or rec.listing_date,
            seen.urls,
        )
    return list(merged.values())


def load_papers(paths: Iterable[Path]) -> list[Paper]:
    """Parse every file (all of them, before anything is written) and de-duplicate. Inputs holding no paper
    at all are a ``CorpusError``: an empty input must never empty the index."""
    paths = list(paths)
    if not paths:
        raise CorpusError("(no inputs)", None, "no files or folders were given; name .txt, .jsonl or .csv files")
    records: list[Record] = []
    for path in expand_paths(paths):
        records.extend(parse_file(path))
    return dedupe(records)
