"""Parse the corpus into unique ``Paper``s: listing pages, JSON lines (plain rows and the arXiv metadata dump),
CSV and BibTeX, each told by its content (``rag.index.formats``), then de-duplicated by title.

Every problem is a ``CorpusError`` naming file and line. Parsing never touches the index,
so a bad file leaves the index exactly as it was. Files are read by ``rag.index.files`` (regular files only,
never blocking); every format shares one limit on titles and abstracts.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from rag.errors import CorpusError
from rag.index.files import NAMES, expand_paths
from rag.index.formats import (
    BOILERPLATE,
    MAX_ABSTRACT_CHARS,
    MAX_LINE_CHARS,
    MAX_TITLE_CHARS,
    Metadata,
    Record,
    parse_bibtex,
    parse_csv,
    parse_file,
    parse_jsonl,
    parse_listing,
)
from rag.index.namesakes import canonical, clusters, hashed_id, namesake_id
from rag.text import find_urls, normalize_title
from rag.types import Paper

log = logging.getLogger(__name__)

__all__ = [
    "BOILERPLATE", "MAX_ABSTRACT_CHARS", "MAX_LINE_CHARS", "MAX_TITLE_CHARS", "Record", "dedupe", "id_title",
    "key_id", "load_papers", "namesake_id", "paper_id", "parse_bibtex", "parse_csv", "parse_file", "parse_jsonl",
    "parse_listing", "title_key",
]  # fmt: skip


@lru_cache(maxsize=1 << 17)
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
    return hashed_id(basis)


def _paper(pid: str, rec: Record) -> Paper:
    meta = rec.meta
    return Paper(
        pid, rec.title, rec.abstract, (rec.source,), rec.listing_date, find_urls(rec.abstract, schemed=True),
        authors=meta.authors, year=meta.year, date=meta.date, venue=meta.venue, categories=meta.categories,
        arxiv_id=meta.arxiv_id, doi=meta.doi, url=meta.url,
    )  # fmt: skip


def _metadata(paper: Paper) -> Metadata:
    return Metadata(
        paper.authors, paper.year, paper.date, paper.venue, paper.categories, paper.arxiv_id, paper.doi, paper.url
    )


def _merge(seen: Paper, rec: Record) -> Paper:
    """The paper found again: one more source; empty listing date and metadata fields filled from ``rec``."""
    meta = _metadata(seen).merged(rec.meta)
    return replace(
        seen,
        sources=(*seen.sources, rec.source),
        listing_date=seen.listing_date or rec.listing_date,
        authors=meta.authors, year=meta.year, date=meta.date, venue=meta.venue, categories=meta.categories,
        arxiv_id=meta.arxiv_id, doi=meta.doi, url=meta.url,
    )  # fmt: skip


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def id_title(title: str) -> str:
    """The title as ids and de-duplication read it: its format characters (zero-width spaces, soft hyphens,
    joiners, direction marks: Unicode category Cf, common in titles copied from PDFs) left out, so they split
    no word and no paper. The stored title keeps them (a Persian ZWNJ is spelling); a title of nothing else
    stays as it is."""
    if title.isascii():  # the common case
        return title
    formats = {ch for ch in _NON_ASCII.findall(title) if unicodedata.category(ch) == "Cf"}  # none is ASCII
    if not formats:
        return title
    kept = "".join(ch for ch in title if ch not in formats)
    return kept if kept.strip() else title


def dedupe(records: Iterable[Record]) -> list[Paper]:
    """Merge records of the same paper (the same ``title_key``: case, accents and punctuation aside), keeping
    every source, in first-seen order. Papers that share a title but no arXiv id or DOI are kept apart
    (``rag.index.namesakes``): the one with the smallest identifier keeps the title's id, each other gets a
    ``namesake_id``. Two different titles that ``paper_id`` maps to one id ("α-Divergence …" and
    "β-Divergence …") are two papers: the smaller ``title_key`` keeps the id, the other gets ``key_id``."""
    by_key: dict[str, list[Record]] = {}
    spellings: dict[str, set[str]] = {}  # per key, the titles as ids read them
    for rec in records:
        title = id_title(rec.title)
        key = _same_title(title)
        by_key.setdefault(key, []).append(rec)
        spellings.setdefault(key, set()).add(title)
    claims: dict[str, list[str]] = {}
    for key, titles in spellings.items():
        pid = min(paper_id(t) for t in titles)  # "straße", "strasse": one key, one id, in any order
        claims.setdefault(pid, []).append(key)
    ids = {key: pid if key == min(keys) else key_id(key) for pid, keys in claims.items() for key in keys}
    papers = []
    for key, group in by_key.items():
        pid = ids[key]
        for n, cluster in enumerate(clusters(group)):
            paper = _paper(pid if n == 0 else namesake_id(pid, canonical(cluster)), cluster[0])
            for rec in cluster[1:]:
                paper = _merge(paper, rec)
            _warn_if_abstracts_differ(cluster)
            papers.append(paper)
    _warn_if_ids_shared(papers)
    return papers


def _warn_if_ids_shared(papers: Sequence[Paper]) -> None:
    """Papers of different titles that give one arXiv id or DOI (two snapshots of a dump, a title edited between
    them) are kept as they are, both: say so, naming the id and where each is."""
    for field in ("arxiv_id", "doi"):
        first: dict[str, Paper] = {}
        for paper in papers:
            value = getattr(paper, field)
            if not value:
                continue
            seen = first.setdefault(value.lower(), paper)
            if seen is not paper:
                log.warning("%s %r and %s %r both give the %s %s; both are kept (remove the outdated one, or give "
                            "it its own id)", seen.sources[0], seen.title[:60], paper.sources[0], paper.title[:60],
                            "arXiv id" if field == "arxiv_id" else "DOI", value)  # fmt: skip


def _warn_if_abstracts_differ(cluster: Sequence[Record]) -> None:
    """Records merged as one paper keep the first abstract: say so when another one differs (two papers of one
    title and no ids, or an edited abstract), naming where each is."""
    first = " ".join(cluster[0].abstract.split())
    other = next((r for r in cluster[1:] if " ".join(r.abstract.split()) != first), None)
    if other is not None:
        log.warning("%s and %s share the title %r but not the abstract; they are read as one paper with the first "
                    "abstract, its missing metadata (authors, year, DOI ...) filled from the other (give each an arXiv "
                    "id or a DOI to keep both)", cluster[0].source, other.source, cluster[0].title[:80])  # fmt: skip


def _same_title(title: str) -> str:
    """What two records of one paper share: the ``title_key``, or for a title without letters or digits
    ("!!!"), its NFKC text, as ``paper_id`` reads it."""
    return title_key(title) or "text:" + " ".join(unicodedata.normalize("NFKC", title).split())


def key_id(key: str) -> str:
    """The id of a title whose ``paper_id`` another title already has: the hash of its whole ``title_key`` (as
    ``paper_id`` keys a title of another script)."""
    return hashed_id(f"key:{key}")


def load_papers(paths: Iterable[Path], parse: Callable[[Path], list[Record]] = parse_file) -> list[Paper]:
    """Parse every file (all of them, before anything is written) and de-duplicate. Inputs holding no paper
    at all are a ``CorpusError``: an empty input must never empty the index. ``parse`` reads one file (a
    cache may stand in for ``parse_file``)."""
    paths = list(paths)
    if not paths:
        raise CorpusError("(no inputs)", None, f"no files or folders were given; name {NAMES}")
    records: list[Record] = []
    for path in expand_paths(paths):
        records.extend(parse(path))
    return dedupe(records)
