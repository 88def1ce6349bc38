"""``rag.app.paper_ui`` in headless Chromium: the reference downloads survive Gradio's HTML component as ``data:``
links and download the exact export, and the filter controls' values reach a handler as filter kwargs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CHROMIUM, served

from rag.answer.references import references
from rag.index.corpus import load_papers
from rag.types import Answer, Citation

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]
PAPERS = load_papers([Path(__file__).parent / "data"])
CITED = [p for p in PAPERS if p.arxiv_id in ("1706.03762", "2301.04567")]
ANSWER = Answer(
    "q?", "Claim [1]. Claim [2].",
    tuple(Citation(n, p, p.abstract[:30], (0,), "supported", 0.9) for n, p in enumerate(CITED, start=1)),
    False, "extractive", (),
)  # fmt: skip


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    import gradio as gr

    from rag.app.paper_ui import filter_controls, filter_kwargs, references_links
    from rag.app.source_cards import render_sources

    with gr.Blocks() as demo:
        controls = filter_controls(PAPERS)
        show = gr.Button("Apply", elem_id="apply")
        out = gr.Textbox(elem_id="filters-out")
        gr.HTML(render_sources(ANSWER, 1, extra=references_links(ANSWER, 1)), elem_id="sources-panel")
        show.click(lambda *values: json.dumps(filter_kwargs(*values), sort_keys=True), controls.inputs(), out)
    with served(demo) as url:
        yield url


@pytest.fixture
def page(browser: Any, app_url: str) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(app_url, wait_until="domcontentloaded")
    page.wait_for_selector("#apply")
    try:
        yield page
    finally:
        context.close()


@pytest.mark.parametrize(("label", "style", "suffix"), [("BibTeX", "bibtex", ".bib"), ("Markdown", "markdown", ".md")])
def test_reference_links_download_the_export(page: Any, tmp_path: Path, label: str, style: str, suffix: str) -> None:
    link = page.locator(f"#sources-panel a.ref-download:text('{label}')")
    assert link.get_attribute("href").startswith("data:")
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == f"references-1{suffix}"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert target.read_text(encoding="utf-8") == references(ANSWER, style)  # type: ignore[arg-type]


def test_filter_controls_give_filter_kwargs(page: Any) -> None:
    page.fill("#filter-since input", "2018")
    page.fill("#filter-author textarea, #filter-author input", "müller")
    page.click("#apply")
    page.wait_for_function("document.querySelector('#filters-out textarea').value !== ''")
    value = page.input_value("#filters-out textarea")
    assert json.loads(value) == {"author": "müller", "since": 2018}  # the empty "To year" asks for nothing
