"""Papers a question names by a link or an identifier: an arXiv page or id, a DOI, or a web address an indexed
abstract gives (its code or project page).

``LinkIndex.resolve`` puts the title of the paper a link names where the link was, so every stage (and the
answerer) reads the paper's words ("Summarize https://arxiv.org/abs/2106.09685" asks about "LoRA: Low-Rank
Adaptation of Large Language Models"). A web address no indexed paper has is dropped: its pieces ("https",
"github") are not words of the question, and as rare words they would pick whichever abstract happens to hold a
link. An arXiv link or id, or a DOI, that no indexed paper has is an error saying so (an answer from other
papers would look like one about the linked paper), and so is a question of nothing but unknown links. An
arXiv id or DOI is matched only against papers' own ids, never against links their abstracts mention.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from rag.errors import QueryError
from rag.index.formats.meta import parse_arxiv_id, parse_doi
from rag.text import URL_CHARS, content_words
from rag.types import Paper

_LINK = re.compile(
    rf"(?:https?://|www\.){URL_CHARS}"  # a web address
    rf"|(?<![\w/.@])(?:arxiv\.org/(?:abs|pdf)/|(?:dx\.)?doi\.org/){URL_CHARS}"  # an arXiv or DOI page, no scheme
    r"|(?<![\w/.])(?:doi:\s*)?10\.\d{4,9}/[^\s<>\"'{}\\]+"  # a DOI
    r"|(?<![\w/.])arxiv:\s*[\w./-]+"  # an arXiv id said to be one
    r"|(?<![\w/.])\d{4}\.\d{4,5}(?:v\d+)?(?![\w.])"  # a bare new-style arXiv id (or a number: kept if unknown)
    r"|(?<![\w/.])[a-z][a-z-]*(?:\.[a-z]{2})?/\d{7}(?:v\d+)?(?![\w.])",  # a bare old-style arXiv id
    re.IGNORECASE,
)
_TAIL = ".,;:!?)]}'\""
ABOUT_THE_LINK = 3
"""Fewer content words than this beside a link to a paper the index lacks ("Summarize <link>", "What does <link>
propose?"): the question is about that paper, and is refused; with more, the link is an aside and is dropped."""
_SURELY_A_PAPER = re.compile(r"(?i)^(?:https?://|www\.)|^(?:arxiv|doi)[:.]|^(?:dx\.)?doi\.org/|^10\.")
"""A link that can only mean a paper or a web page (not a bare number like "2024.12345")."""


_CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "huggingface.co")
"""Hosts where ``host/owner/name`` is a project and deeper paths are its pages (``/tree/main``, ``/blob/…``)."""


def _bare(url: str) -> str:
    """A web address compared without its scheme, "www.", fragment, case, trailing slash or ".git" (its query
    stays: ``openreview.net/forum?id=…`` names one paper)."""
    rest = re.sub(r"(?i)^(?:https?://)?(?:www\.)?", "", url.strip()).split("#", 1)[0]
    return rest.lower().rstrip("/").removesuffix(".git").rstrip("/")


def _project(bare: str) -> str | None:
    """``host/owner/name`` of a page on a code host (its query dropped), else None."""
    parts = bare.split("?", 1)[0].split("/")
    return "/".join(parts[:3]) if parts[0] in _CODE_HOSTS and len(parts) >= 3 else None


def _ids(link: str) -> tuple[str | None, str | None]:
    """(arXiv id, DOI) a link names, either or both None; arXiv's own DOI (10.48550/arXiv.…) is the arXiv id."""
    cleaned = re.sub(r"(?i)^arxiv:\s*", "arXiv:", re.sub(r"(?i)^doi:\s*", "", link))
    doi = parse_doi(cleaned)
    arxiv = parse_arxiv_id(cleaned) or (parse_arxiv_id(doi) if doi else None)
    return arxiv, None if arxiv else doi


class LinkIndex:
    """The indexed papers by arXiv id, DOI and web address (their own link first, then the links their abstracts
    give that are not arXiv or DOI links)."""

    def __init__(self, papers: Mapping[str, Paper]) -> None:
        self.by_arxiv = {p.arxiv_id: p for p in papers.values() if p.arxiv_id}
        self.by_doi = {p.doi.lower(): p for p in papers.values() if p.doi}
        self.by_url = {_bare(p.url): p for p in papers.values() if p.url}
        for paper in papers.values():
            for url in paper.urls:
                if _ids(url) == (None, None):
                    self.by_url.setdefault(_bare(url), paper)

    def paper(self, link: str) -> Paper | None:
        """The indexed paper ``link`` names: by its arXiv id or DOI when it has one, else by web address, exactly
        or, on a code host, by its project (``github.com/x/y/tree/main`` is ``github.com/x/y``)."""
        arxiv, doi = _ids(link)
        if arxiv or doi:
            return self.by_arxiv.get(arxiv) if arxiv else self.by_doi.get((doi or "").lower())
        bare = _bare(link)
        project = _project(bare)
        return self.by_url.get(bare) or (self.by_url.get(project) if project else None)

    def resolve(self, text: str) -> str:
        """``text`` with each link or identifier of an indexed paper replaced by that paper's title, and each web
        address no indexed paper has removed; ``QueryError`` for an unknown paper link or only unknown links."""
        if "." not in text and "/" not in text:  # no link, id or DOI can be in it
            return text
        dropped: list[str] = []
        unknown: list[str] = []  # links to papers this index does not hold

        def swap(match: re.Match[str]) -> str:
            token = match.group(0)
            core = token.rstrip(_TAIL)
            paper = self.paper(core)
            if paper is not None:
                return paper.title + token[len(core) :]
            if _ids(core) != (None, None) and _SURELY_A_PAPER.search(core):
                unknown.append(core)
            elif not re.match(r"(?i)https?://|www\.", core):
                return token
            dropped.append(core)
            return " " + token[len(core) :]

        text = " ".join(_LINK.sub(swap, text).split())
        left = len(content_words(text))
        if (unknown and left < ABOUT_THE_LINK) or (dropped and not left):  # the question is about the missing paper
            raise _not_indexed((unknown or dropped)[0])
        return text


def _not_indexed(link: str) -> QueryError:
    return QueryError(f"no indexed paper has the link {link[:100]}; ingest that paper (rag ingest, see "
                      "docs/ingest.md) or ask about it in words")  # fmt: skip
