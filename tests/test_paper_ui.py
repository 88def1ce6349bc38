"""Paper metadata where users see it: source cards (authors · year · venue · link), the ``/v1`` sources, LlamaIndex
node metadata, and the UI pieces of ``rag.app.paper_ui`` (filter controls, their filter kwargs, reference
downloads as ``data:`` links)."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

import gradio as gr
import pytest
from conftest import SMALL_PAPERS, open_hash_pipeline
from llama_index.core.schema import MetadataMode

from rag.answer.references import references
from rag.app.api_reply import sources
from rag.app.paper_ui import filter_controls, filter_kwargs, references_links
from rag.app.source_cards import render_cited_card, render_sources, render_uncited_card
from rag.errors import QueryError
from rag.index.corpus import load_papers
from rag.integrations.llamaindex_nodes import paper_node
from rag.types import Answer, Citation, Hit, Paper

DATA = Path(__file__).parent / "data"
PAPERS = {p.title: p for p in load_papers([DATA])}
ATTENTION = PAPERS["Attention Is All You Need"]
SUBQUADRATIC = PAPERS["Sub-quadratic 𝒪(n log n) Attention for Long-Context Transformers"]


def _answer(*papers: Paper) -> Answer:
    citations = tuple(Citation(n, p, p.abstract[:40], (0,), "supported", 0.9) for n, p in enumerate(papers, start=1))
    hits = tuple(Hit(p, 1.0, p.abstract[:40], 0, 0.9) for p in papers)
    return Answer("q?", " ".join(f"Claim [{c.marker}]." for c in citations), citations, False, "extractive", hits)


def _meta_line(card: str) -> str:
    match = re.search(r'<div class="src-meta">(.*?)</div>', card)
    assert match
    return match.group(1)


# ---- source cards ----------------------------------------------------------------------------------


def test_card_shows_authors_year_venue_and_link() -> None:
    (citation,) = _answer(SUBQUADRATIC).citations
    meta = _meta_line(render_cited_card(SUBQUADRATIC, [citation], (), 1))
    text = re.sub(r"<[^>]+>", "", meta)
    assert text == "Jörg Müller, Ana García, François Lefèvre · 2023 · Trans. Mach. Learn. Res. 2023 · arXiv:2301.04567"
    assert 'href="https://arxiv.org/abs/2301.04567" target="_blank" rel="noopener noreferrer nofollow"' in meta


def test_card_shortens_long_author_lists_and_keeps_listing_dates() -> None:
    meta = _meta_line(render_uncited_card(Hit(ATTENTION, 1.0, "", 0, 0.0)))
    assert re.sub(r"<[^>]+>", "", meta).startswith("Ashish Vaswani, Noam Shazeer, Niki Parmar et al. · 2017 · arXiv")
    assert 'title="Ashish Vaswani, Noam Shazeer, Niki Parmar, Jakob Uszkoreit' in meta
    assert _meta_line(render_uncited_card(Hit(SMALL_PAPERS[0], 1.0, "", 0, 0.0))) == "Listed Mar 21"
    assert _meta_line(render_uncited_card(Hit(SMALL_PAPERS[3], 1.0, "", 0, 0.0))) == "Listing date unknown"


def test_card_escapes_metadata_and_links_only_http() -> None:
    hostile = replace(ATTENTION, authors=("<img src=x onerror=alert(1)>",), venue="{{7*7}} <b>",
                      url="javascript:alert(1)", arxiv_id=None)  # fmt: skip
    meta = _meta_line(render_uncited_card(Hit(hostile, 1.0, "", 0, 0.0)))
    assert "<img" not in meta and "<b>" not in meta and "&#123;&#123;7*7&#125;&#125;" in meta
    assert "javascript" not in meta and "href" not in meta


# ---- /v1 sources and LlamaIndex nodes ---------------------------------------------------------------------


def test_api_sources_carry_the_metadata() -> None:
    (source,) = sources(_answer(SUBQUADRATIC))
    assert source["authors"] == ["Jörg Müller", "Ana García", "François Lefèvre"]
    assert source["year"] == 2023 and source["url"] == "https://arxiv.org/abs/2301.04567"
    assert source["categories"] == ["cs.LG", "stat.ML", "Computer Science - Machine Learning",
                                    "Statistics - Machine Learning"]  # fmt: skip
    (bare,) = sources(_answer(SMALL_PAPERS[0]))
    assert (bare["authors"], bare["year"], bare["url"], bare["categories"]) == ([], None, None, [])


def test_llamaindex_node_metadata() -> None:
    node = paper_node(SUBQUADRATIC)
    meta = node.metadata
    assert meta["authors"] == list(SUBQUADRATIC.authors) and meta["year"] == 2023 and meta["doi"] == SUBQUADRATIC.doi
    assert meta["arxiv_id"] == "2301.04567" and meta["categories"][0] == "cs.LG" and meta["venue"]
    llm_view = node.get_content(MetadataMode.LLM)
    assert "year: 2023" in llm_view and "Jörg Müller" in llm_view and "doi" not in llm_view
    assert node.get_content(MetadataMode.EMBED) == node.get_content()  # nothing of it is embedded
    bare = paper_node(SMALL_PAPERS[3]).get_content(MetadataMode.LLM)
    assert "year" not in bare and "authors" not in bare and "listing_date" not in bare  # empty: not shown


# ---- paper_ui: filter controls and their values --------------------------------------------------------------


def test_filter_controls_are_built_from_the_corpus() -> None:
    with gr.Blocks():
        controls = filter_controls([*PAPERS.values(), *SMALL_PAPERS])
    assert [type(c) for c in controls.inputs()] == [gr.Number, gr.Number, gr.Textbox, gr.Dropdown]
    assert controls.since.info == "papers from 1997 to 2024" and controls.since.interactive
    choices = [c[0] if isinstance(c, tuple) else c for c in controls.category.choices]
    assert choices[:2] == ["cs.CL", "cs.LG"] and "hep-th" in choices  # by frequency
    assert controls.category.multiselect and controls.category.allow_custom_value
    with gr.Blocks():
        bare = filter_controls(SMALL_PAPERS)
    assert bare.since.info == "no paper in the index has a year" and bare.since.interactive is False


def test_filter_kwargs_from_control_values() -> None:
    assert filter_kwargs(None, None, "", []) == {} == filter_kwargs(0, 0.0, "  ", None)  # empty Numbers send 0
    assert filter_kwargs(2019.0, 2021.0, "  müller ", ["cs.CL", " ", "hep-th"]) == {
        "since": 2019, "until": 2021, "author": "müller", "category": ["cs.CL", "hep-th"]
    }  # fmt: skip
    assert filter_kwargs(None, 2020, None, "cs") == {"until": 2020, "category": ["cs"]}
    assert filter_kwargs(20.5, None, None, None) == {"since": 20.5}  # passed on for the pipeline to refuse


def test_filter_kwargs_drive_the_pipeline(tmp_path: Path) -> None:
    pipeline = open_hash_pipeline(tmp_path / "data", [*PAPERS.values(), *SMALL_PAPERS])
    hits = pipeline.search("attention", k=10, **filter_kwargs(2018.0, None, "MULLER", None))
    assert [h.paper.title for h in hits] == [SUBQUADRATIC.title]
    with pytest.raises(QueryError, match="takes a year like 2021"):
        pipeline.search("attention", **filter_kwargs(20.5, None, None, None))


# ---- paper_ui: reference downloads --------------------------------------------------------------------------


def test_references_links_are_data_uris_of_both_exports() -> None:
    answer = _answer(ATTENTION, SUBQUADRATIC)
    links = references_links(answer, turn=3)
    found = re.findall(r'<a class="ref-download" download="([^"]+)" href="([^"]+)">(\w+)</a>', links)
    assert [(name, label) for name, _, label in found] == [
        ("references-3.bib", "BibTeX"),
        ("references-3.md", "Markdown"),
    ]
    bib_href, md_href = (html.unescape(href) for _, href, _ in found)
    assert bib_href.startswith("data:application/x-bibtex;charset=utf-8,")
    assert unquote(bib_href.split(",", 1)[1]) == references(answer, "bibtex")
    assert unquote(md_href.split(",", 1)[1]) == references(answer, "markdown")
    assert references_links(_answer()) == ""


def test_references_links_cannot_break_out_of_the_attribute() -> None:
    hostile = replace(ATTENTION, title='"><script>alert(1)</script>', authors=("a\" onclick=\"x",))
    links = references_links(_answer(hostile))
    assert "<script>" not in links and "onclick=" not in links  # the text is in the URI, percent-encoded
    assert links.count('"') == 14  # the 7 attributes' quotes, no other


def test_sources_section_places_the_links_after_the_cards() -> None:
    answer = _answer(ATTENTION)
    section = render_sources(answer, 1, extra=references_links(answer, 1))
    assert section.index("src-card") < section.index("ref-download") < section.index("</section>")
