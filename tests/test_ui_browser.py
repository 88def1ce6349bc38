"""The chat UI in headless Chromium (Debian's /usr/bin/chromium; nothing downloads a browser).

The app runs in a thread over a small temporary index built with the hash embedder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import CHROMIUM, served

EVIL_TITLE = "<img src=x onerror=alert(1)>"
MARKDOWN_TITLE = "**Bold** _claims_ about [links](javascript:alert(3)) in `code`"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)"
    ),
]

CORPUS = [
    {
        "title": "Domain Generalization via Rationale Invariance",
        "abstract": "We propose a rationale invariance loss for domain generalization. The loss makes the rationale "
        "matrices of samples in the same category similar. Code is available at https://github.com/x/RIDG.",
        "listing_date": "Mar 21",
    },
    {
        "title": "Fast Tokenization for Speech Recognition",
        "abstract": "We present a tokenizer for speech recognition that runs 3.5x faster than prior work. It is "
        "evaluated on LibriSpeech. Word error rate drops by 1.2 points.",
        "listing_date": "Mar 17",
    },
    {
        "title": EVIL_TITLE,
        "abstract": "Zebra stripe detection with <img src=y onerror=window.__pwned=1> and "
        "<script>window.__pwned=2</script> inside the abstract. The zebra stripes are counted by ${7*7} {{7*7}}.",
        "listing_date": "Mar 17",
    },
    {
        "title": MARKDOWN_TITLE,
        "abstract": "Marmots hibernate in burrows during the long alpine winter. Marmot colonies whistle to warn of "
        "eagles.",
        "listing_date": "Mar 18",
    },
]



def small_app_pipeline(root: Path) -> Any:
    """A real pipeline over ``CORPUS``, embedded with the hash embedder, in ``root``."""
    from conftest import HashEmbedder

    from rag.pipeline import Pipeline
    from rag.settings import Settings

    corpus = root / "small.jsonl"
    corpus.write_text("\n".join(json.dumps(row) for row in CORPUS) + "\n", encoding="utf-8")
    return Pipeline.open(Settings(data_dir=root / "data", corpus_paths=[corpus]), embedder=HashEmbedder(),
                         progress=False)  # fmt: skip


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    from rag.app.ui import build_ui

    pipeline = small_app_pipeline(tmp_path_factory.mktemp("ui-app"))
    with served(build_ui(pipeline, examples=["What does the rationale invariance loss do?"])) as url:
        yield url, pipeline.settings.data_dir


@pytest.fixture
def page(browser: Any, app_url: tuple[str, Path]) -> Iterator[Any]:
    with chat_page(browser, app_url[0]) as page:
        yield page


@contextmanager
def chat_page(browser: Any, url: str, width: int = 1400, height: int = 950) -> Iterator[Any]:
    """A page of its own browser context on the chat at ``url``, loaded, closed on leaving."""
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_selector("#question textarea")
        yield page
    finally:
        context.close()


def ask(page: Any, question: str) -> None:
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")


def test_ask_cite_highlight_and_feedback(page: Any, app_url: tuple[str, Path], tmp_path: Path) -> None:
    data_dir = app_url[1]
    question = "What does the rationale invariance loss do?"
    ask(page, question)
    page.wait_for_selector("#chat a.cite")
    page.wait_for_selector(".sources-panel .src-turn.active .src-card")
    answer_text = page.inner_text("#chat .message-row:has(a.cite)")
    assert "rationale invariance loss" in answer_text
    href = page.get_attribute("#chat a.cite >> nth=0", "href")
    assert href and href.startswith("#src-")
    turn, marker = href.removeprefix("#src-").split("-")
    card = page.locator(f'.src-turn.active[data-turn="{turn}"] .src-card[data-markers~="{marker}"]')
    assert card.count() == 1
    assert "Domain Generalization via Rationale Invariance" in card.locator(".src-title").inner_text()
    highlighted = card.locator("mark").first.inner_text()
    assert "rationale invariance loss" in highlighted
    assert "supported" in card.locator(".src-verdicts").inner_text()
    assert card.locator('.src-links a[href="https://github.com/x/RIDG"]').count() == 1
    assert page.locator(".sources-panel details.src-uncited").count() == 1

    # clicking the marker brings up its card
    page.click("#chat a.cite >> nth=0")
    page.wait_for_selector(f'.src-card.flash[data-markers~="{marker}"]')

    # thumbs up -> one JSONL line with the question, the answer and its citations
    page.locator("#chat button[aria-label='Like']").last.click()
    page.wait_for_function("document.querySelector('#feedback-status').innerText.includes('saved')")
    lines = (data_dir / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[-1])
    assert entry["vote"] == "up"
    assert entry["question"] == question
    assert "rationale invariance loss" in entry["answer"] and f"[{marker}]" in entry["answer"]
    assert entry["citations"][0]["title"] == "Domain Generalization via Rationale Invariance"
    assert entry["timestamp"]

    # a follow-up turn, then clear
    ask(page, "Which tokenizer for speech recognition was evaluated on LibriSpeech?")
    page.wait_for_selector('.src-turn.active[data-turn="3"] .src-card')
    assert "Fast Tokenization" in page.inner_text(".src-turn.active")
    page.screenshot(path=str(tmp_path / "chat.png"), full_page=True)
    assert (tmp_path / "chat.png").stat().st_size > 10_000
    page.click("#clear")
    page.wait_for_function("!document.querySelector('#chat a.cite')")
    assert page.locator(".sources-panel .src-card").count() == 0


def test_corpus_html_and_markdown_render_as_text(page: Any, tmp_path: Path) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    ask(page, "zebra stripe detection")
    page.wait_for_selector(".sources-panel .src-turn.active .src-card")
    page.wait_for_selector("#chat a.cite")
    ask(page, "marmots hibernate in burrows")
    page.wait_for_selector('.src-turn.active[data-turn="3"] .src-card')
    page.wait_for_timeout(500)  # let any injected handler fire

    assert dialogs == []
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#chat img, .sources-panel img").count() == 0
    assert page.locator(".sources-panel script, #chat script").count() == 0
    # the zebra answer's sources, shown by clicking its marker
    page.click("#chat .message-row:has-text('Zebra') a.cite >> nth=0")
    titles = page.locator(".src-turn.active .src-title").all_inner_texts()
    assert EVIL_TITLE in titles
    abstract = page.inner_text(".src-turn.active .src-abstract")
    assert "<script>window.__pwned=2</script>" in abstract and "${7*7} {{7*7}}" in abstract
    chat_text = page.inner_text("#chat")
    assert "<img src=y onerror=window.__pwned=1>" in chat_text
    # Markdown in a title stays literal
    page.click("#chat .message-row:has-text('Marmot') a.cite >> nth=0")
    assert MARKDOWN_TITLE in page.locator(".src-turn.active .src-title").all_inner_texts()
    assert page.locator(".sources-panel strong, .sources-panel em, .sources-panel code").count() == 0
    page.screenshot(path=str(tmp_path / "escaping.png"), full_page=True)


def test_a_reload_shows_the_chat_again_and_a_cleared_chat_stays_cleared(browser: Any, app_url: tuple[str, Path]
                                                                          ) -> None:  # fmt: skip
    """The browser keeps the chat (localStorage): after a reload the question, the answer with its citation links
    and its sources are back, and a follow-up resolves against them. Clear empties the kept copy too; a damaged
    copy gives an empty chat that works. The copy is written by the update that shows the answer with its sources,
    so the test reloads as soon as they show and reads the copy then, waiting for no later save."""
    with chat_page(browser, app_url[0]) as page:
        ask(page, "What does the rationale invariance loss do?")
        page.wait_for_selector(".sources-panel .src-turn.active .src-card")
        answer = page.inner_text("#chat .message-row:has(a.cite)")
        page.reload(wait_until="domcontentloaded")
        page.wait_for_selector(".sources-panel .src-turn.active .src-card")
        assert page.locator("#chat .message-row").count() == 2
        assert "What does the rationale invariance loss do?" in page.inner_text("#chat")
        assert page.inner_text("#chat .message-row:has(a.cite)") == answer
        page.click("#chat a.cite >> nth=0")  # the restored marker still brings up its restored card
        page.wait_for_selector(".src-card.flash .src-title:has-text('Rationale Invariance')")

        ask(page, "How is it evaluated?")  # "it": the paper of the restored answer (alone: the speech paper)
        page.wait_for_selector('.src-turn.active[data-turn="3"] .src-card')
        titles = page.locator('.src-turn.active[data-turn="3"] .src-card:not(.uncited) .src-title').all_inner_texts()
        assert titles == ["Domain Generalization via Rationale Invariance"], titles

        kept = page.evaluate("localStorage.getItem('rag-chat')")  # the copy with both exchanges: no save is pending
        page.click("#clear")
        page.wait_for_function(f"localStorage.getItem('rag-chat') !== {json.dumps(kept)}")  # only Clear writes now
        page.reload(wait_until="domcontentloaded")
        page.wait_for_selector("#question textarea")
        page.wait_for_timeout(2000)  # the page-load event has restored what there is
        assert page.locator("#chat .message-row").count() == 0
        assert page.locator(".sources-panel .src-card").count() == 0

        page.evaluate("localStorage.setItem('rag-chat', 'damaged:' + 'x'.repeat(100))")
        page.reload(wait_until="domcontentloaded")
        ask(page, "What does the rationale invariance loss do?")
        page.wait_for_selector(".sources-panel .src-turn.active .src-card")
        assert page.locator("#chat .message-row").count() == 2


SCREENSHOT_QUESTION = "How do TIES-Merging and DIMAT differ?"


@pytest.fixture(scope="module")
def slow_app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app over the same small corpus, its answers taking 2 seconds to start streaming."""
    import time

    from rag.app.ui import build_ui

    pipeline = small_app_pipeline(tmp_path_factory.mktemp("ui-slow"))
    quick = pipeline.fallback.stream

    def slow(*args: Any, **kwargs: Any) -> Iterator[Any]:
        time.sleep(2.0)
        yield from quick(*args, **kwargs)

    pipeline.fallback.stream = slow  # type: ignore[method-assign]
    with served(build_ui(pipeline)) as url:
        yield url


def test_a_second_question_during_an_answer_is_kept_and_clear_stops_the_answer(browser: Any, slow_app_url: str
                                                                               ) -> None:  # fmt: skip
    """Enter and Ask are one event: a second question sent while an answer streams does not run beside it (the
    first answer's end overwrote the second exchange); it stays in the box. Clear cancels a streaming answer (it
    came back when the stream ended)."""
    with chat_page(browser, slow_app_url) as page:
        ask(page, "What does the rationale invariance loss do?")
        page.wait_for_function("document.querySelectorAll('#chat .message-row').length >= 2")  # it has started
        page.fill("#question textarea", "Which tokenizer was evaluated on LibriSpeech?")
        page.click("#ask")
        page.wait_for_selector("#chat a.cite")
        page.wait_for_timeout(3000)  # the second question, had it run, would have answered by now
        assert page.locator("#chat .message-row").count() == 2, page.inner_text("#chat")
        assert page.input_value("#question textarea") == "Which tokenizer was evaluated on LibriSpeech?"
        page.press("#question textarea", "Enter")  # now it runs
        page.wait_for_function("document.querySelectorAll('#chat a.cite').length >= 2")
        ask(page, "What does the rationale invariance loss do?")
        page.wait_for_timeout(500)
        page.click("#clear")
        page.wait_for_timeout(3000)
        assert page.locator("#chat .message-row").count() == 0, page.inner_text("#chat")
        ask(page, "Which tokenizer was evaluated on LibriSpeech?")  # the next question goes through
        page.wait_for_selector("#chat a.cite", timeout=15000)
        assert "LibriSpeech" in page.inner_text("#chat") and "closed before it finished" not in page.inner_text("#chat")


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("RAG_UI_SCREENSHOT"),
    reason="set RAG_UI_SCREENSHOT=docs/screenshot.png (and RAG_TEST_INDEX=~/.local/share/rag) to regenerate it",
)
def test_docs_screenshot(browser: Any, real_pipeline: Any) -> None:
    """Regenerates the README screenshot: the real UI answering a real question on the real index."""
    from rag.app.ui import build_ui

    with served(build_ui(real_pipeline)) as url, chat_page(browser, url, 1440, 1000) as page:
        ask(page, SCREENSHOT_QUESTION)
        page.wait_for_selector(".src-turn.active .src-card mark")
        page.wait_for_timeout(800)
        page.mouse.move(0, 0)
        page.screenshot(path=os.environ["RAG_UI_SCREENSHOT"])
