"""Records that share a title: one paper, or several (namesakes) told apart by their arXiv ids and DOIs.

``clusters`` splits the records of one title into papers. Records that share an arXiv id or a DOI are one
paper (a preprint and its journal version); so are groups that cannot be told apart (one has only an arXiv
id, the other only a DOI); groups with different arXiv ids, or different DOIs, are namesakes. Records with
neither (a listing page, a CSV row) join the first paper. Which paper keeps the title's id, and every other
one's ``namesake_id``, depend on the ids alone, never on the order of the files or of the records in them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from rag.index.formats import Record


def hashed_id(basis: str) -> str:
    """A paper id: "p" and the first 12 hex digits of the SHA-1 of ``basis`` (every id of the index is one)."""
    return "p" + hashlib.sha1(basis.encode()).hexdigest()[:12]


def identifiers(rec: Record) -> set[str]:
    """``arxiv:<id>`` and ``doi:<doi, lower case>`` of a record (empty when it has neither)."""
    meta = rec.meta
    arxiv = {f"arxiv:{meta.arxiv_id}"} if meta.arxiv_id else set()
    return arxiv | ({f"doi:{meta.doi.lower()}"} if meta.doi else set())


def canonical(records: Sequence[Record]) -> str:
    """The id a namesake is known by: its smallest identifier (an arXiv id before any DOI)."""
    return min(i for rec in records for i in identifiers(rec))


def clusters(records: Sequence[Record]) -> list[list[Record]]:
    """The papers among records of one title, each a list of its records in their order. One paper unless
    two groups of records share no identifier; then they are ordered by ``canonical``, and the records
    without identifiers join the first."""
    if len(records) == 1:
        return [list(records)]
    parent = list(range(len(records)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, rec in enumerate(records):
        for ident in identifiers(rec):
            if ident in owner:
                parent[root(i)] = root(owner[ident])
            else:
                owner[ident] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(records)):
        groups.setdefault(root(i), []).append(i)
    named = [g for g in groups.values() if any(identifiers(records[i]) for i in g)]
    papers: list[list[int]] = []
    for group in sorted(named, key=lambda g: canonical([records[i] for i in g])):
        ids = {ident for i in group for ident in identifiers(records[i])}
        same = next((p for p in papers if not _conflict(ids, {x for i in p for x in identifiers(records[i])})), None)
        if same is None:
            papers.append(list(group))
        else:
            same.extend(group)
    if len(papers) <= 1:
        return [list(records)]
    papers[0] += [i for g in groups.values() if g not in named for i in g]
    return [[records[i] for i in sorted(p)] for p in papers]


def _conflict(one: set[str], other: set[str]) -> bool:
    """Whether two groups of identifiers (sharing none) are two papers: both have arXiv ids, or both DOIs. An
    arXiv-only group and a DOI-only one may be a preprint and its journal version: one paper."""
    kinds = ("arxiv:", "doi:")
    return any(any(i.startswith(k) for i in one) and any(i.startswith(k) for i in other) for k in kinds)


def namesake_id(pid: str, ident: str) -> str:
    """The id of a paper that shares its title (and so the title's id ``pid``) with another: ``pid`` and the
    paper's ``canonical`` identifier, hashed together."""
    return hashed_id(f"{pid}|{ident}")
