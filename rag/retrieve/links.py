"""Papers a question names by a link or an identifier: an arXiv page or id, a DOI, or a web address an indexed
abstract gives (its code or project page).

``LinkIndex.resolve`` puts the title of the paper a link names where the link was, so every stage searches for
that paper by its words ("Summarize https://arxiv.org/abs/2106.09685" asks about "LoRA: Low-Rank Adaptation of
Large Language Models"). A web address no indexed paper has is dropped: its pieces ("https", "arxiv", "abs",
"github") are not words of the question, and as rare words they would pick whichever abstract happens to hold a
link. A link to an arXiv paper or a DOI that no indexed paper has, or a question that was nothing but links no
paper has, is an error saying so: an answer from other papers would look like one about the linked paper.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from rag.errors import QueryError
from rag.index.formats.meta import parse_arxiv_id, parse_doi
from rag.text import content_words, find_urls
from rag.types import Paper

_BARE_ID = re.compile(r"(?i)(?<![\w/.])(?:arxiv:\s*)?(?:\d{4}\.\d{4,5}(?:v\d+)?|10\.\d{4,9}/[^\s<>\"'{}\\]+)")
"""An arXiv id or a DOI written without a link ("arXiv:2106.09685", "10.18653/v1/N19-1423")."""


def _bare(url: str) -> str:
    """A web address compared without its scheme, "www.", case of the host, trailing slash or ".git"."""
    rest = re.sub(r"(?i)^(?:https?://)?(?:www\.)?", "", url.strip())
    host, _, path = rest.partition("/")
    return f"{host.lower()}/{path}".rstrip("/").removesuffix(".git").rstrip("/")


class LinkIndex:
    """The indexed papers by arXiv id, DOI and web address (their own link and the links their abstracts give)."""

    def __init__(self, papers: Mapping[str, Paper]) -> None:
        self.by_arxiv = {p.arxiv_id: p for p in papers.values() if p.arxiv_id}
        self.by_doi = {p.doi.lower(): p for p in papers.values() if p.doi}
        self.by_url: dict[str, Paper] = {}
        for paper in papers.values():
            for url in (*paper.urls, *((paper.url,) if paper.url else ())):
                self.by_url.setdefault(_bare(url), paper)

    def paper(self, link: str) -> Paper | None:
        """The indexed paper ``link`` names (an arXiv page or id, a DOI or its resolver, a web address)."""
        arxiv = parse_arxiv_id(re.sub(r"(?i)^arxiv:\s*", "arXiv:", link))
        if arxiv and arxiv in self.by_arxiv:
            return self.by_arxiv[arxiv]
        doi = parse_doi(link)
        if doi and doi.lower() in self.by_doi:
            return self.by_doi[doi.lower()]
        return self.by_url.get(_bare(link))

    def resolve(self, text: str) -> str:
        """``text`` with each link or identifier of an indexed paper replaced by that paper's title, and each web
        address no indexed paper has removed; ``QueryError`` when only such links were asked about."""
        if "." not in text:  # no link, id or DOI can be in it
            return text
        dropped: list[str] = []
        for url in find_urls(text):
            paper = self.paper(url)
            if paper is None and (parse_arxiv_id(url) or parse_doi(url)):  # a paper this index does not hold
                raise _not_indexed(url)
            if paper is None:
                dropped.append(url)
            text = text.replace(url, paper.title if paper is not None else " ")
        text = _BARE_ID.sub(lambda m: p.title if (p := self.paper(m.group(0))) is not None else m.group(0), text)
        text = " ".join(text.split())
        if dropped and not content_words(text):
            raise _not_indexed(dropped[0])
        return text


def _not_indexed(link: str) -> QueryError:
    return QueryError(f"no indexed paper has the link {link[:100]}; ingest that paper (rag ingest, see "
                      "docs/ingest.md) or ask about it in words")  # fmt: skip
