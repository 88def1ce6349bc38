"""The chat UI's paper filters (year range, author, category) and reference downloads, as pieces for
``rag.app.ui.build_ui`` to place.

- ``filter_controls(papers)`` builds the controls inside the current ``gr.Blocks`` context and returns them, and
  ``facet_updates(papers)`` brings their year range and categories up to date when a page loads;
- ``filter_kwargs(since, until, author, category)`` turns their values into ``rag`` filter keyword arguments
  (a bad value is passed on, so the pipeline's ``QueryError`` tells the user what to send instead);
- ``references_links(answer, turn)`` is HTML with two download links (BibTeX, Markdown) whose targets are
  ``data:`` URIs: the file is made in the browser, so the server needs no file route or upload component.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import gradio as gr

from rag.answer.references import references
from rag.app.inputs import whole, year_number
from rag.app.render import esc
from rag.types import Answer, Filters, Paper

MAX_CATEGORY_CHOICES = 300
"""The most frequent categories offered in the dropdown (any other can still be typed)."""


@dataclass(frozen=True)
class FilterControls:
    """The filter components, in the order ``filter_kwargs`` takes their values."""

    since: gr.Number
    until: gr.Number
    author: gr.Textbox
    category: gr.Dropdown

    def inputs(self) -> list[Any]:
        return [self.since, self.until, self.author, self.category]


def corpus_facets(papers: Iterable[Paper]) -> tuple[int | None, int | None, list[str]]:
    """(first year, last year, categories by frequency) of the papers, for the controls' ranges and choices."""
    years: list[int] = []
    counts: Counter[str] = Counter()
    for paper in papers:
        if paper.year is not None:
            years.append(paper.year)
        counts.update(paper.categories)
    ranked = sorted(counts, key=lambda c: (-counts[c], c.casefold()))[:MAX_CATEGORY_CHOICES]
    return (min(years) if years else None, max(years) if years else None, ranked)


def _facet_texts(first: int | None, last: int | None, categories: Sequence[str]) -> tuple[str, str]:
    """The year controls' and the category control's notes."""
    span = f"papers from {first} to {last}" if first is not None else "no paper in the index has a year"
    return span, "any of these (cs matches cs.CL)" if categories else "no paper in the index has a category"


def filter_controls(papers: Iterable[Paper]) -> FilterControls:
    """The year range, author and category controls, created in the current Blocks context."""
    first, last, categories = corpus_facets(papers)
    span, kinds = _facet_texts(first, last, categories)
    with gr.Row():
        # no minimum: an empty Number sends 0 (read as "no filter"); the pipeline checks the years
        since = year_number(label="From year", precision=0, info=span, interactive=first is not None,
                          elem_id="filter-since")  # fmt: skip
        until = year_number(label="To year", precision=0, interactive=first is not None, elem_id="filter-until")
    author = gr.Textbox(label="Author", placeholder="part of a name, e.g. müller (case and accents aside)",
                        max_lines=1, elem_id="filter-author")  # fmt: skip
    category = gr.Dropdown(choices=categories, multiselect=True, allow_custom_value=True, label="Category",
                           info=kinds, elem_id="filter-category")  # fmt: skip
    return FilterControls(since, until, author, category)


def facet_updates(papers: Iterable[Paper]) -> tuple[Any, Any, Any]:
    """Updates of the year and category controls to the index as it is now (a page loaded after an ingest of
    papers with years still said "no paper in the index has a year", its controls disabled)."""
    first, last, categories = corpus_facets(papers)
    span, kinds = _facet_texts(first, last, categories)
    years = first is not None
    return (gr.update(info=span, interactive=years), gr.update(interactive=years),
            gr.update(choices=categories, info=kinds))


def filter_kwargs(since: object, until: object, author: object, category: object) -> Filters:
    """The filters the controls' values ask for (empty controls, and an empty Number's 0, ask for nothing)."""
    filters: dict[str, Any] = {}
    if since not in (None, "", 0):
        filters["since"] = whole(since)
    if until not in (None, "", 0):
        filters["until"] = whole(until)
    if isinstance(author, str) and author.strip():
        filters["author"] = author.strip()
    chosen = [category] if isinstance(category, str) else list(category) if isinstance(category, list | tuple) else []
    categories = [c.strip() for c in chosen if isinstance(c, str) and c.strip()]
    if categories:
        filters["category"] = categories
    return Filters(**filters)  # type: ignore[typeddict-item]


def data_uri(text: str, mime: str) -> str:
    return f"data:{mime};charset=utf-8,{quote(text, safe='')}"


def references_links(answer: Answer, turn: int | None = None, corpus: Mapping[str, Paper] | None = None) -> str:
    """'Download references: BibTeX · Markdown' for the papers the answer cites ("" when it cites none); keys as
    every export from ``corpus`` gives them (``rag.answer.references.shared_keys``)."""
    bib = references(answer, "bibtex", corpus)
    if not bib:
        return ""
    name = f"references-{turn}" if turn is not None else "references"
    links: Sequence[tuple[str, str, str, str]] = (
        ("BibTeX", f"{name}.bib", "application/x-bibtex", bib),
        ("Markdown", f"{name}.md", "text/markdown", references(answer, "markdown")),
    )
    anchors = " · ".join(
        f'<a class="ref-download" download="{esc(filename)}" href="{esc(data_uri(text, mime))}">{label}</a>'
        for label, filename, mime, text in links
    )
    return f'<div class="src-refs">Download the cited papers\' references: {anchors}</div>'
