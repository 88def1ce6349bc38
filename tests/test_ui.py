"""Fast tests of the chat UI's HTML rendering, marker links, feedback log and chat handler (no browser)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import gradio as gr
import pytest

from rag.app.feedback import answer_record, feedback_path, record_feedback
from rag.app.render import EXTRACTIVE_BANNER, esc, render_answer_message, render_message
from rag.app.source_cards import highlight_abstract, render_panel, render_sources
from rag.stream import AnswerStream
from rag.text import split_sentences
from rag.types import Answer, Citation, Hit, Paper, SentenceCheck

EVIL_TITLE = "<img src=x onerror=alert(1)>"


def paper(title: str, abstract: str, pid: str, date: str | None = "Mar 21", urls: tuple[str, ...] = ()) -> Paper:
    return Paper(pid, title, abstract, ("t.txt:1",), date, urls)


SAE = paper(
    "Sparse Autoencoders Find Interpretable Features",
    "We train sparse autoencoders on the residual stream. The learned features are more interpretable than "
    "neurons. SAE features explain 42.5% of the variance.",
    "p1",
)
RIDG = paper(
    "Domain Generalization via Rationale Invariance",
    "We propose a rationale invariance loss. Code is available at https://github.com/x/RIDG.",
    "p2",
    None,
    ("https://github.com/x/RIDG", "javascript:alert(1)"),
)
EVIL = paper(EVIL_TITLE, "An abstract with <script>window.__xss=1</script> and **bold** and ${x} {{y}}.", "p3")


def hit(p: Paper) -> Hit:
    return Hit(p, 1.0, "", 0, 1.0)


def answer(citations: tuple[Citation, ...], hits: tuple[Paper, ...], text: str = "", **kw: object) -> Answer:
    return Answer("what do SAEs learn?", text, citations, not citations, "extractive", tuple(map(hit, hits)), **kw)  # type: ignore[arg-type]


def test_cited_sentence_is_highlighted_and_others_are_not() -> None:
    cite = Citation(1, SAE, "The learned features are more interpretable than neurons.", (1,), "supported", 0.93)
    html = render_sources(answer((cite,), (SAE,)), turn=1)
    spans = split_sentences(SAE.abstract)
    cited = SAE.abstract[spans[1].start : spans[1].end]
    assert f'<mark class="cited" data-sentence="1" data-cite="1">{cited}</mark>' in html
    assert html.count("<mark") == 1
    assert SAE.title in html and "Listed Mar 21" in html
    assert "v-supported" in html and "supported (0.93)" in html
    assert 'data-markers="1"' in html and 'id="src-1-1"' in html


def test_several_citations_of_one_paper_share_a_card_and_each_shows_its_verdict() -> None:
    c1 = Citation(1, SAE, "q", (0,), "supported", 0.9)
    c2 = Citation(3, SAE, "q", (2,), "weak", 0.41)
    check = SentenceCheck("SAEs explain 42.5% of the variance.", (3,), "unsupported", 0.2, "number differs")
    html = render_sources(answer((c1, c2), (SAE,), checks=(check,)), turn=5)
    assert html.count('<article class="src-card"') == 1
    assert 'data-markers="1 3"' in html
    assert html.count("<mark") == 2
    assert "weakly supported (0.41)" in html and "v-weak" in html
    assert "SAEs explain 42.5% of the variance." in html and "v-unsupported" in html and "number differs" in html


def test_uncited_hits_are_collapsed_below() -> None:
    cite = Citation(1, SAE, "q", (0,), "supported", 1.0)
    html = render_sources(answer((cite,), (SAE, RIDG)), turn=1)
    cited_pos = html.index(SAE.title)
    details = html.index("<details")
    assert cited_pos < details < html.index(RIDG.title)
    assert "1 more retrieved paper (not cited)" in html
    assert "</details>" in html


def test_code_links_are_shown_and_only_http_links() -> None:
    cite = Citation(1, RIDG, "q", (0,), "supported", 1.0)
    html = render_sources(answer((cite,), (RIDG,)), turn=1)
    assert '<a href="https://github.com/x/RIDG" target="_blank" rel="noopener noreferrer nofollow">' in html
    assert "javascript:" not in html
    assert "Listing date unknown" in html


def test_a_cited_card_sums_the_paper_up_by_role_in_its_own_words() -> None:
    cite = Citation(1, SAE, "The learned features are more interpretable than neurons.", (1,), "supported", 0.93,
                    roles=(("challenge", 0), ("outcome", 1)))
    html = render_sources(answer((cite,), (SAE,)), turn=1)
    spans = split_sentences(SAE.abstract)
    first, second = (SAE.abstract[s.start : s.end] for s in spans[:2])
    assert f'<dl class="src-roles"><dt>Problem</dt><dd>{first}</dd><dt>Result</dt><dd>{second}</dd></dl>' in html
    plain = Citation(1, SAE, "The learned features are more interpretable than neurons.", (1,), "supported", 0.93)
    assert "src-roles" not in render_sources(answer((plain,), (SAE,)), turn=1)


def test_a_comparison_shows_a_table_of_the_cited_papers_by_role() -> None:
    roles = (("challenge", 0), ("outcome", 1))
    c1 = Citation(1, SAE, "x", (1,), "supported", 0.9, roles)
    c2 = Citation(2, RIDG, "y", (0,), "supported", 0.9, roles)
    compared = Answer("How do SAE and RIDG differ?", "", (c1, c2), False, "extractive", (hit(SAE), hit(RIDG)),
                      kind="comparison")  # as the answerer analysed the question
    html = render_sources(compared, turn=1)
    assert html.count("<tr>") == 3 and "<th>Problem</th><th>Approach</th><th>Result</th>" in html
    assert html.index("src-compare") < html.index('class="src-card"')
    plain = Answer("What do SAEs learn?", "", (c1, c2), False, "extractive", (hit(SAE), hit(RIDG)), kind="how")
    assert "src-compare" not in render_sources(plain, turn=1)


def test_a_detail_the_abstracts_do_not_state_is_said_above_the_sources() -> None:
    cite = Citation(1, SAE, "The learned features are more interpretable than neurons.", (1,), "supported", 0.93)
    note = "The <SAE> abstract does not state the GPU hours."  # Answer.not_stated is the whole sentence
    html = render_sources(answer((cite,), (SAE,), not_stated=note), turn=1)
    assert "<b>Not stated:</b> The &lt;SAE&gt; abstract does not state the GPU hours.</div>" in html
    assert html.index("Not stated") < html.index(SAE.title)
    assert "Not stated" not in render_sources(answer((cite,), (SAE,)), turn=1)


def test_abstention_panel_lists_retrieved_papers() -> None:
    html = render_sources(answer((), (SAE,), text="The corpus does not cover this question."), turn=1)
    assert "No source is cited" in html and "abstained" in html
    assert "<details" in html and SAE.title in html


def test_corpus_text_is_escaped_everywhere() -> None:
    cite = Citation(1, EVIL, "q", (0,), "supported", 1.0)
    other = paper(EVIL_TITLE + " 2", "<b>x</b> y.", "p4")
    html = render_sources(answer((cite,), (EVIL, other)), turn=1)
    for raw in ("<img", "<script", "<b>x"):
        assert raw not in html
    assert esc(EVIL_TITLE) in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&#36;&#123;x&#125;" in html and "&#123;&#123;y&#125;&#125;" in html
    panel = render_panel({1: html})
    assert "<img" not in panel and "<script" not in panel


def test_answer_text_is_escaped_and_markers_become_links() -> None:
    text = f"The paper {EVIL_TITLE} says **this** [1]. And <script>x</script> that [2, 3]."
    html = render_message(text, turn=7)
    assert "<img" not in html and "<script" not in html and "**this**" in html
    assert '<a class="cite" href="#src-7-1" title="Show source 1">1</a>' in html
    assert 'href="#src-7-2"' in html and 'href="#src-7-3"' in html
    assert render_message("a\nb", 1) == "a<br>b"


def test_answer_error_is_a_readable_notice() -> None:
    cite = Citation(1, SAE, "q", (0,), "supported", 1.0)
    ans = answer((cite,), (SAE,), text="We train sparse autoencoders. [1]", error="LLM unreachable: <timeout>")
    html = render_answer_message(ans, 1)
    assert "The LLM could not answer" in html and "&lt;timeout&gt;" in html and "Traceback" not in html
    assert 'href="#src-1-1"' in html


def test_panel_shows_only_the_latest_answer_and_a_pending_placeholder() -> None:
    a = render_sources(answer((Citation(1, SAE, "q", (0,), "supported", 1.0),), (SAE,)), turn=1)
    b = render_sources(answer((Citation(1, RIDG, "q", (0,), "supported", 1.0),), (RIDG,)), turn=3)
    panel = render_panel({1: a, 3: b})
    assert panel.count('class="src-turn active"') == 1
    assert panel.index('class="src-turn active" data-turn="3"') > panel.index('data-turn="1"')
    pending = render_panel({1: a}, pending="<new question>")
    assert 'class="src-turn active pending"' in pending and "&lt;new question&gt;" in pending
    assert pending.count("active") == 1
    assert "Ask a question" in render_panel({})


def test_highlight_ignores_out_of_range_indices() -> None:
    assert "<mark" not in highlight_abstract("One. Two.", {5: [1]})


def test_feedback_line(tmp_path: Path) -> None:
    cite = Citation(2, RIDG, "We propose a rationale invariance loss.", (0,), "supported", 0.87654)
    record = answer_record(answer((cite,), (RIDG,), text="It proposes a loss [2]."))
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    record_feedback(tmp_path, record["question"], record["answer"], record["citations"], "up", timestamp=when)
    record_feedback(tmp_path, "q2", "a2", [], "down")
    lines = feedback_path(tmp_path).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first == {
        "timestamp": "2026-01-02T03:04:05+00:00",
        "vote": "up",
        "question": "what do SAEs learn?",
        "answer": "It proposes a loss [2].",
        "citations": [
            {
                "marker": 2,
                "paper_id": "p2",
                "title": RIDG.title,
                "quote": "We propose a rationale invariance loss.",
                "sentence_indices": [0],
                "verdict": "supported",
                "support": 0.8765,
            }
        ],
    }
    assert json.loads(lines[1])["vote"] == "down"
    with pytest.raises(ValueError):
        record_feedback(tmp_path, "q", "a", [], "meh")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------- chat handler


@pytest.fixture
def small_pipeline(tmp_path: Path, hash_embedder, small_papers):  # type: ignore[no-untyped-def]
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    corpus = tmp_path / "small.jsonl"
    rows = [{"title": p.title, "abstract": p.abstract, "listing_date": p.listing_date} for p in small_papers]
    corpus.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", corpus_paths=[corpus])
    return Pipeline.open(settings, embedder=hash_embedder, progress=False)


def _chat_fn(demo, api_name: str = "chat"):  # type: ignore[no-untyped-def]
    for fn in demo.fns.values():
        if fn.api_name == api_name:
            return fn.fn
    raise AssertionError(f"no {api_name} endpoint")


def test_chat_handler_streams_cites_and_keeps_history(small_pipeline) -> None:  # type: ignore[no-untyped-def]
    from rag.app.render import render_banner
    from rag.app.ui import build_ui

    assert EXTRACTIVE_BANNER in render_banner(small_pipeline)
    assert "OPENAI_API_KEY" in render_banner(small_pipeline)
    demo = build_ui(small_pipeline)
    respond = _chat_fn(demo)
    outputs = list(respond("What does the rationale invariance loss do?", [], {}, 3, "extractive"))
    assert "Finding sources" in outputs[0][2] and "Searching the papers" in outputs[0][1][-1]["content"]
    box, chat, panel, turns, sections = outputs[-1]
    assert outputs[0][0] == "" and box == gr.skip()  # cleared when asked; what is typed during the answer is kept
    assert [m["role"] for m in chat] == ["user", "assistant"]
    assert 'class="cite"' in chat[1]["content"]
    assert "Rationale Invariance" in panel and "<mark" in panel
    assert turns[1]["record"]["citations"]
    # the second turn sees the first as plain-text history
    seen: list[object] = []
    original = small_pipeline.stream

    def spy(question, history=None, **options):  # type: ignore[no-untyped-def]
        seen.append(history)
        seen.append(options)
        return original(question, history, **options)

    small_pipeline.stream = spy
    *_, last = respond("And what about tokenization speed?", turns, sections, 3.0, "extractive")
    assert seen[1] == {"k": 3, "answerer": "extractive"} and isinstance(seen[1]["k"], int)
    assert seen[0] == [
        {"role": "user", "content": "What does the rationale invariance loss do?"},
        {"role": "assistant", "content": turns[1]["content"]},
    ]
    assert len(last[1]) == 4 and len(last[4]) == 2


def test_chat_handler_empty_question_and_errors(small_pipeline) -> None:  # type: ignore[no-untyped-def]
    from rag.app.ui import build_ui
    from rag.errors import LLMError

    respond = _chat_fn(build_ui(small_pipeline))
    *_, (_, chat, _, turns, _) = respond("   ", [], {}, 3, "extractive")
    assert "Please type a question" in chat[-1]["content"] and turns[-1]["error"]

    # the LLM is not configured: choosing it gives a readable message, not a stack trace
    *_, (_, chat, _, turns, sections) = respond("rationale invariance?", [], {}, 3, "llm")
    assert "no LLM is configured" in chat[-1]["content"] and "Traceback" not in chat[-1]["content"]

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        def chunks():  # type: ignore[no-untyped-def]
            yield "The loss "
            raise LLMError("cannot reach http://llm: connection refused")

        return AnswerStream(chunks())

    small_pipeline.stream = broken  # fails mid-stream, after some text
    outputs = list(respond("rationale invariance?", turns, sections, 3, "extractive"))
    assert any("The loss" in out[1][-1]["content"] for out in outputs[:-1])
    _, chat, _, turns, sections = outputs[-1]
    assert "cannot reach http://llm" in chat[-1]["content"] and "The loss" not in chat[-1]["content"]

    def crash(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("boom")

    small_pipeline.stream = crash  # fails at the call
    *_, (_, chat, _, turns, _) = respond("rationale invariance?", turns, sections, 3, "extractive")
    assert "Something went wrong" in chat[-1]["content"] and "ZeroDivisionError" in chat[-1]["content"]
    assert "boom" not in chat[-1]["content"]
    assert all(t.get("error") for t in turns), "failed exchanges and notices are never passed on as history"
    # failed turns are not passed on as history
    del small_pipeline.stream
    *_, (_, chat, _, turns, _) = respond("rationale invariance loss", turns, sections, 3, "extractive")
    assert 'class="cite"' in chat[-1]["content"]


def test_llm_failure_mid_answer_falls_back_with_a_readable_message(small_pipeline) -> None:  # type: ignore[no-untyped-def]
    """An LLM answerer that fails: the banner names the model, the chat shows the error and the extractive answer."""
    from rag.app.render import render_banner
    from rag.app.ui import build_ui
    from rag.errors import LLMError
    from rag.pipeline import Pipeline

    class FailingLLM:
        name = "llm:test-model"

        def condense(self, question, history):  # type: ignore[no-untyped-def]
            return question

        def stream(self, question, retrieved, history):  # type: ignore[no-untyped-def]
            yield "partial "
            raise LLMError("cannot reach the LLM at http://127.0.0.1:9 (connection refused); check OPENAI_BASE_URL")

    p = small_pipeline
    settings = p.settings.model_copy(update={"answerer": "llm"})
    llm_pipeline = Pipeline(settings, p.store, p.embedder, p.retriever, p.reranker, p.fallback, FailingLLM())
    assert f"LLM: {settings.llm_model}" in render_banner(llm_pipeline)
    respond = _chat_fn(build_ui(llm_pipeline))
    *_, (_, chat, panel, turns, _) = respond("What does the rationale invariance loss do?", [], {}, 3, "llm")
    message = chat[-1]["content"]
    assert "The LLM could not answer" in message and "connection refused" in message
    assert 'class="cite"' in message and "<mark" in panel
    assert turns[-1]["record"]["citations"]


def test_coverage_line_counts_the_retrieved_abstracts_that_mention_the_topic() -> None:
    cite = Citation(1, SAE, "q", (0,), "supported", 1.0)
    html = render_answer_message(answer((cite,), (SAE, RIDG), text="We train sparse autoencoders. [1]"), 1)
    line = '<div class="rag-meta rag-coverage">1 of the 2 retrieved abstracts mentions SAEs; 1 of the 1 cited does'
    assert line in html
    assert "rag-coverage" not in render_answer_message(answer((), (SAE,), text="The corpus does not cover"), 1)


def test_coverage_of_a_comparison_counts_abstracts_naming_either_method() -> None:
    from rag.answer.compose.analysis import coverage

    abstracts = ["TIES-Merging resolves sign conflicts.", "DIMAT merges neighbouring agents.", "Unrelated text."]
    assert coverage("How do TIES-Merging and DIMAT differ?", abstracts, [0, 1]) == ("TIES-Merging or DIMAT", 2, 2)
    assert coverage("What does TIES-Merging resolve in DIMAT?", abstracts, [0]) == ("TIES-Merging DIMAT", 0, 0)
    assert coverage("How does TIES-Merging resolve conflicts?", abstracts, [1, 2]) == ("TIES-Merging", 1, 0)  # cited
    # papers that do not name it: the line says so, not "2 state it"


# ------------------------------------------------------------------------------------------- stale index

_INGEST_ELSEWHERE = """
import json, sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from conftest import HashEmbedder
from rag.index.corpus import load_papers
from rag.index.ingest import ingest
from rag.index.store import Store, open_chroma
data_dir, corpus = Path({data_dir!r}), Path({corpus!r})
embedder = HashEmbedder()
report = ingest(load_papers([corpus]), Store(open_chroma(data_dir), embedder.name), embedder, data_dir, progress=False)
print(json.dumps([report.updated, report.unchanged]))
"""


ZEBRA = "The rationale invariance loss aligns the gradients of zebra images across domains."


def _ingest_elsewhere(pipeline, edit) -> list[int]:  # type: ignore[no-untyped-def]
    """Rewrite the small corpus with ``edit`` (it changes the rows in place) and ingest it in another process, as a
    user's `rag ingest` would while the app runs; [updated, unchanged] of that ingest."""
    import subprocess
    import sys

    corpus = pipeline.settings.corpus_paths[0]
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]
    edit(rows)
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    script = _INGEST_ELSEWHERE.format(tests=str(Path(__file__).parent), data_dir=str(pipeline.settings.data_dir),
                                      corpus=str(corpus))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return list(json.loads(done.stdout.splitlines()[-1]))


def _new_abstract(abstract: str):  # type: ignore[no-untyped-def]
    """An ``edit`` for ``_ingest_elsewhere``: the rationale invariance paper gets ``abstract``."""

    def edit(rows: list[dict[str, object]]) -> None:
        for row in rows:
            if row["title"] == "Domain Generalization via Rationale Invariance":
                row["abstract"] = abstract

    return edit


def test_the_app_notices_an_ingest_by_another_process_and_answers_from_the_new_text(
    small_pipeline, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """`rag ingest` of a changed abstract while the app runs: the next answer quotes the new text, once, with a
    notice; answers before it and after it need no reload."""

    from rag.app.live import LivePipeline
    from rag.app.ui import build_ui

    live = LivePipeline(small_pipeline)
    respond = _chat_fn(build_ui(live))
    question = "What does the rationale invariance loss do?"
    *_, (_, chat, _, turns, sections) = respond(question, [], {}, 3, "extractive")
    assert "rationale matrices of samples in the same category similar" in chat[-1]["content"]
    assert "reloaded" not in chat[-1]["content"] and live.reloads == 0

    changed = _new_abstract(f"We propose a rationale invariance loss. {ZEBRA}")
    assert _ingest_elsewhere(small_pipeline, changed) == [1, 3]

    *_, (_, chat, _panel, turns, sections) = respond(question, turns, sections, 3, "extractive")
    notices = [m["content"] for m in chat if "The index changed" in m["content"]]
    assert len(notices) == 1 and "reloaded, 4 papers" in notices[0]
    latest = sections[max(sections)]  # the new answer's source cards (the panel keeps earlier turns too)
    assert "zebra images across domains" in chat[-1]["content"] and "zebra images" in latest
    assert "rationale matrices" not in chat[-1]["content"] and "rationale matrices" not in latest
    assert live.reloads == 1 and live.pipeline is not small_pipeline
    assert not any("The index changed" in t["content"] for t in _history_of(turns)), "a notice is not history"
    *_, (_, chat, _, _, _) = respond(question, turns, sections, 3, "extractive")
    assert live.reloads == 1 and sum("The index changed" in m["content"] for m in chat) == 1


def test_the_app_shows_the_fix_when_the_index_cannot_be_read(small_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The index's collections dropped under the running app: a readable message naming the fix."""
    from rag.app.ui import build_ui

    respond = _chat_fn(build_ui(small_pipeline))
    small_pipeline.store.client.delete_collection(small_pipeline.store.chunks.name)
    *_, (_, chat, _, turns, _) = respond("rationale invariance?", [], {}, 3, "extractive")
    assert "rag ingest" in chat[-1]["content"] and "Traceback" not in chat[-1]["content"]
    assert turns[-1]["error"]


def _history_of(turns):  # type: ignore[no-untyped-def]
    from rag.app.chat_events import _history

    return _history(turns)


def test_the_v1_api_answers_from_the_index_as_it_is_now(small_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The /v1 API over a LivePipeline: after an ingest by another process the next completion quotes the new text."""

    from starlette.testclient import TestClient

    from rag.app.api import create_api
    from rag.app.live import LivePipeline

    live = LivePipeline(small_pipeline)
    http = TestClient(create_api(live))
    body = {"model": "rag", "messages": [{"role": "user", "content": "What does the rationale invariance loss do?"}]}
    first = http.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]["content"]
    assert "rationale matrices of samples in the same category similar" in first

    _ingest_elsewhere(small_pipeline, _new_abstract(ZEBRA))

    second = http.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]["content"]
    assert "zebra images" in second and "rationale matrices" not in second
    assert live.reloads == 1


def test_clear_stops_the_answer_its_page_is_waiting_for_and_the_next_question_goes_through(
    small_pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """A reviewer clicked Clear while a slow LLM had sent no sentence yet: the request ran on (12 s; up to
    RAG_LLM_TIMEOUT) and the page ignored the next question meanwhile. The answer now waits as an LLM does
    (``rag.cancel``), and Clear closes it at once; another session's answer is left alone."""
    import threading
    import time
    from types import SimpleNamespace

    from rag.app.live import LivePipeline
    from rag.app.ui import build_ui
    from rag.cancel import cancelled
    from rag.errors import Cancelled
    from rag.stream import AnswerStream

    def an_llm_that_sends_nothing(*args, **kwargs):  # type: ignore[no-untyped-def]
        def waiting():  # type: ignore[no-untyped-def]
            while not cancelled():  # as rag.answer.transport waits for the first token
                time.sleep(0.05)
            raise Cancelled("the client went away; the LLM request was closed")
            yield ""

        return AnswerStream(waiting())

    monkeypatch.setattr(small_pipeline, "stream", an_llm_that_sends_nothing)
    demo = build_ui(LivePipeline(small_pipeline))
    fns = [fn for fn in demo.fns.values() if fn.api_name != "chat"]
    respond = next(fn.fn for fn in fns if getattr(fn.fn, "__name__", "") == "respond")
    clear = next(fn.fn for fn in fns if getattr(fn.fn, "__name__", "") == "clear")
    ended: dict[str, float] = {}

    def ask(session: str) -> None:
        for _ in respond("What does the rationale invariance loss do?", [], {}, 3, "llm",
                         request=SimpleNamespace(session_hash=session)):
            pass
        ended[session] = time.monotonic()

    threads = {s: threading.Thread(target=ask, args=(s,), daemon=True) for s in ("mine", "other")}
    for thread in threads.values():
        thread.start()
    time.sleep(0.5)
    cleared_at = time.monotonic()
    clear(SimpleNamespace(session_hash="mine"))
    threads["mine"].join(3)
    assert "mine" in ended and ended["mine"] - cleared_at < 1.5
    assert "other" not in ended and threads["other"].is_alive()  # another browser's answer goes on
    clear(SimpleNamespace(session_hash="other"))
    threads["other"].join(3)
    assert "other" in ended


def test_a_page_loaded_after_an_ingest_offers_the_years_and_categories_it_added(small_pipeline) -> None:  # type: ignore[no-untyped-def]
    """A reviewer ingested papers with years and cs.CL while the app ran: the filters worked through /v1, but a
    newly loaded page still said "no paper in the index has a year", its year boxes disabled, no category."""

    from rag.app.live import LivePipeline
    from rag.app.ui import build_ui

    demo = build_ui(LivePipeline(small_pipeline))
    facets = next(fn.fn for fn in demo.fns.values() if getattr(fn.fn, "__name__", "") == "facets")
    since, until, category = facets()
    assert since["info"] == "no paper in the index has a year" and since["interactive"] is False
    assert category["choices"] == [] and until["interactive"] is False

    _ingest_elsewhere(small_pipeline, lambda rows: rows[0].update(year=2021, categories="cs.CL cs.LG"))
    since, until, category = facets()
    assert since["info"] == "papers from 2021 to 2021" and since["interactive"] and until["interactive"]
    assert category["choices"] == ["cs.CL", "cs.LG"] and category["info"].startswith("any of these")


def test_while_another_ingest_writes_the_app_answers_from_what_it_has_and_reloads_once_it_is_done(
    small_pipeline,
) -> None:  # type: ignore[no-untyped-def]
    """Another process's ingest has committed a batch (the stamp moved) and still holds the lock: the API answers
    from the pipeline it has, without reopening files being rewritten; once that ingest is gone, one reload."""
    import subprocess
    import sys

    from starlette.testclient import TestClient

    from rag.app.api import create_api
    from rag.app.live import LivePipeline
    from rag.index.lock import OWNER_NAME

    live = LivePipeline(small_pipeline)
    http = TestClient(create_api(live))
    body = {"model": "rag", "messages": [{"role": "user", "content": "What does the rationale invariance loss do?"}]}
    _ingest_elsewhere(small_pipeline, _new_abstract(ZEBRA))
    data_dir = small_pipeline.settings.data_dir

    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])  # the ingest, still running
    try:
        (data_dir / OWNER_NAME).write_text(f"{writer.pid}\n", encoding="ascii")
        during = http.post("/v1/chat/completions", json=body)
        assert during.status_code == 200, during.text
        assert "rationale matrices" in during.json()["choices"][0]["message"]["content"]
        assert live.reloads == 0 and live.pipeline is small_pipeline
    finally:
        writer.kill()
        writer.wait()
    after = http.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]["content"]
    assert "zebra images" in after and live.reloads == 1


def test_during_a_rebuild_the_app_and_api_say_so_and_answer_again_after_it(small_pipeline) -> None:  # type: ignore[no-untyped-def]
    """A real ``rag ingest --rebuild`` (``run_ingest``) asked mid-way, while its collections are dropped and
    half refilled: the chat says the index is being rebuilt (no traceback, no partial answer, no build of its
    own), the API answers 503 with the same message; after the rebuild the next answer is complete again."""
    from starlette.testclient import TestClient

    from rag.app.api import create_api
    from rag.app.live import LivePipeline
    from rag.app.ui import build_ui
    from rag.index.ingest import run_ingest
    from tests.conftest import HashEmbedder

    live = LivePipeline(small_pipeline)
    respond = _chat_fn(build_ui(live))
    http = TestClient(create_api(live))
    question = "What does the rationale invariance loss do?"
    body = {"model": "rag", "messages": [{"role": "user", "content": question}]}
    seen: dict[str, object] = {}

    class AskingMidway(HashEmbedder):
        def embed(self, texts):  # type: ignore[no-untyped-def]
            if "chat" not in seen:  # the first batch of the rebuild: collections dropped, nothing stored yet
                *_, (_, chat, _, turns, _) = respond(question, [], {}, 3, "extractive")
                seen["chat"], seen["turns"] = chat[-1]["content"], turns
                seen["api"] = http.post("/v1/chat/completions", json=body)
            return super().embed(texts)

    report = run_ingest(small_pipeline.settings, AskingMidway(), rebuild=True, progress=False)
    assert report.rebuilt and report.papers == len(small_pipeline.papers)
    chat = str(seen["chat"])
    assert "being rebuilt" in chat and "rag ingest --rebuild" in chat and "Traceback" not in chat
    assert "rationale" not in chat.split("rebuilt", 1)[1]  # no answer from a half-built index
    assert seen["turns"][-2]["error"]  # type: ignore[index]  # the failed exchange is not history
    api = seen["api"]
    assert api.status_code == 503 and "being rebuilt" in api.json()["error"]["message"]  # type: ignore[attr-defined]
    assert live.reloads == 0  # nothing was reopened mid-rebuild

    *_, (_, after, _, _, _) = respond(question, [], {}, 3, "extractive")
    assert "rationale matrices of samples in the same category similar" in after[-1]["content"]
    assert live.reloads == 1


def test_an_interrupted_rebuild_names_the_command_that_finishes_it(small_pipeline) -> None:  # type: ignore[no-untyped-def]
    from rag.app.live import LivePipeline
    from rag.errors import IndexNotReadyError
    from rag.index.ingest import rebuild_marker

    live = LivePipeline(small_pipeline)
    marker = rebuild_marker(small_pipeline.settings.data_dir, small_pipeline.embedder.name)
    marker.write_text("a rebuild started\n", encoding="utf-8")  # what a killed `rag ingest --rebuild` leaves
    with pytest.raises(IndexNotReadyError, match=r"was interrupted.*run `rag ingest`"):
        live.current()
    marker.unlink()
    pipeline, notice = live.current()
    assert pipeline is small_pipeline and notice is None


def test_a_killed_rebuild_is_not_reported_as_running(small_pipeline) -> None:  # type: ignore[no-untyped-def]
    """kill -9 leaves the rebuild marker and the owner pid file behind: the pid is dead, so the message names the
    command that finishes the rebuild rather than a rebuild in progress."""
    import subprocess
    import sys

    from rag.app.live import LivePipeline
    from rag.errors import IndexNotReadyError
    from rag.index.ingest import rebuild_marker
    from rag.index.lock import OWNER_NAME

    data_dir = small_pipeline.settings.data_dir
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (data_dir / OWNER_NAME).write_text(f"{dead.pid}\n", encoding="ascii")
    rebuild_marker(data_dir, small_pipeline.embedder.name).write_text("a rebuild started\n", encoding="utf-8")
    with pytest.raises(IndexNotReadyError, match="was interrupted"):
        LivePipeline(small_pipeline).current()


def test_a_question_over_the_limit_stays_in_the_box_and_out_of_the_chat(small_pipeline) -> None:  # type: ignore[no-untyped-def]
    from rag.app.chat_events import chat_handler
    from rag.app.live import LivePipeline

    respond = chat_handler(LivePipeline(small_pipeline))
    outputs = list(respond("x" * 6000, [], {}, 3, "extractive"))
    box, chat, _, turns, _ = outputs[-1]
    assert len(outputs) == 1 and box == gr.skip() and len(turns) == 1  # only the notice
    assert "the limit is 5,000" in chat[0]["content"] and "xxxxxxxxxx" not in chat[0]["content"]


def test_a_vote_taken_back_says_the_earlier_vote_stays(tmp_path: Path) -> None:
    """Un-liking cannot delete a line of the append-only log: the message says so ("Feedback noted." did not)."""
    from types import SimpleNamespace

    from rag.app.chat_events import like_handler
    from rag.app.feedback import FeedbackLog

    on_like = like_handler(FeedbackLog(tmp_path / "data", 10_000))
    turns = [{"role": "user"}, {"record": {"id": "a1", "question": "q", "answer": "a [1]", "citations": []}}]
    request = SimpleNamespace(session_hash="s")
    assert "saved" in on_like(turns, SimpleNamespace(index=1, liked=True), request)  # type: ignore[arg-type]
    taken_back = on_like(turns, SimpleNamespace(index=1, liked=None), request)  # type: ignore[arg-type]
    assert taken_back.startswith("Votes are not taken back: your earlier vote on this answer stays saved")


# ------------------------------------------------------------------------------------------- chat kept in the browser


def _exchange(n: int, size: int = 100) -> tuple[list[dict[str, object]], dict[int, str]]:
    """Question ``n`` and its answer (turn number ``2n + 1``) with a sources section of about ``size`` bytes."""
    turn = 2 * n + 1
    record = {"id": f"a{n}", "question": f"q{n}", "answer": f"a{n} [1]", "abstained": False, "citations": []}
    return [{"role": "user", "content": f"q{n}", "html": f"q{n}"},
            {"role": "assistant", "content": f"a{n} [1]", "html": f'a{n} <a class="cite" href="#src-{turn}-1">1</a>',
             "record": record, "turn": turn}], {turn: "s" * size}


def _chat(exchanges: int, size: int = 100) -> tuple[list[dict[str, object]], dict[int, str]]:
    turns: list[dict[str, object]] = []
    sections: dict[int, str] = {}
    for n in range(exchanges):
        more, section = _exchange(n, size)
        turns += more
        sections.update(section)
    return turns, sections


def test_a_stored_chat_opens_as_it_was_sealed_and_survives_a_restart(tmp_path: Path) -> None:
    from rag.app.persist import KEY_FILE, ChatStore, server_key

    turns, sections = _chat(2)
    turns.insert(2, {"role": "assistant", "content": "", "html": "<b>Note:</b> x", "error": True})
    value = ChatStore(server_key(tmp_path)).seal(turns, sections)
    assert json.loads(json.dumps(value)) == value  # what the browser keeps is plain JSON
    restarted = ChatStore.for_server(tmp_path, 1_000_000)  # the key is kept in the data dir
    assert restarted.open(json.loads(json.dumps(value))) == (turns, sections)
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert restarted.open(restarted.seal([], {})) == ([], {}) and restarted.seal([], {})  # truthy: Gradio writes it


def test_a_damaged_foreign_or_oversized_stored_chat_opens_as_an_empty_chat(tmp_path: Path) -> None:
    from rag.app.persist import ChatStore

    store = ChatStore(b"k" * 32, max_bytes=10_000)
    turns, sections = _chat(1)
    good = store.seal(turns, sections)
    assert store.open(good) == (turns, sections)
    damaged: list[object] = [
        None, "", "garbage", 42, [], [good], {}, {"v": 1}, {**good, "v": 2}, {**good, "mac": 7}, {**good, "mac": "x"},
        {**good, "chat": good["chat"].replace("q0", "q1")},  # changed after sealing
        ChatStore(b"o" * 32).seal(turns, sections),  # another server's
        {**good, "chat": "x" * 20_000},  # oversized
    ]
    for raw, _shape in [("[]", "not an object"), ('{"turns": 1, "sections": {}}', "turns not a list"),
                       ('{"turns": [{"role": "system", "content": "", "html": ""}], "sections": {}}', "role"),
                       ('{"turns": [{"role": "user", "content": 1, "html": ""}], "sections": {}}', "content"),
                       ('{"turns": [{"role": "user", "content": "", "html": "", "x": 1}], "sections": {}}', "extra"),
                       ('{"turns": [], "sections": {"one": "s"}}', "section number"), ("{", "not JSON")]:
        damaged.append({"v": 1, "chat": raw, "mac": store._mac(raw)})  # sealed, but not a chat of this shape
    for value in damaged:
        assert store.open(value) == ([], {}), value


def test_the_stored_chat_is_bounded_to_the_latest_whole_exchanges(tmp_path: Path) -> None:
    from rag.app.persist import MAX_MESSAGES, ChatStore, _size

    store = ChatStore(b"k" * 32, max_bytes=50_000)
    turns, sections = _chat(MAX_MESSAGES)  # twice the messages kept
    kept, kept_sections = store.open(store.seal(turns, sections))
    assert len(kept) == MAX_MESSAGES and kept == turns[-MAX_MESSAGES:] and kept[0]["role"] == "user"
    assert set(kept_sections) == {t["turn"] for t in kept if "turn" in t}
    turns, sections = _chat(10, size=9_000)  # ~9 kB of sources each: five exchanges fit
    value = store.seal(turns[1:], sections)  # starting with half an exchange
    kept, kept_sections = store.open(value)
    assert _size(value) <= 50_000 and kept == turns[-len(kept):] and 2 <= len(kept) < 20 and len(kept) % 2 == 0
    assert set(kept_sections) == {t["turn"] for t in kept if "turn" in t}
    assert store.open(store.seal(turns[-1:], sections)) == ([], {})  # only half an exchange: nothing to show
    huge, huge_sections = _exchange(10, size=60_000)  # one exchange whose sources alone are over the limit
    assert store.open(store.seal(turns + huge, {**sections, **huge_sections})) == (huge, {})  # its text is kept
    assert ChatStore.for_server(tmp_path, 100_000).max_bytes == 50_000  # half the body limit: sent back on load


def test_an_unwritable_data_dir_gives_a_key_of_this_process(tmp_path: Path) -> None:
    from rag.app.persist import server_key

    missing = tmp_path / "file"
    missing.write_text("not a folder", encoding="utf-8")
    assert len(server_key(missing)) == 32 and server_key(missing) != server_key(missing)
    assert server_key(tmp_path) == server_key(tmp_path)


def _load_fn(demo):  # type: ignore[no-untyped-def]
    return next(fn.fn for fn in demo.fns.values() if getattr(fn.fn, "__name__", "") == "restore")


def test_a_restored_chat_goes_on_with_its_history_and_new_marker_numbers(small_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The page-load event shows the stored chat (messages and sources panel); a follow-up sees it as history, and a
    chat restored without its oldest messages numbers the next answer after the kept ones (no clashing links)."""
    from rag.app.persist import ChatStore
    from rag.app.ui import build_ui

    demo = build_ui(small_pipeline)
    respond, restore = _chat_fn(demo), _load_fn(demo)
    store = ChatStore.for_server(small_pipeline.settings.data_dir, small_pipeline.settings.max_body_bytes)
    *_, (_, chat, panel, turns, sections) = respond("What does the rationale invariance loss do?", [], {}, 3,
                                                    "extractive")
    shown, turns2, sections2, panel2 = restore(json.loads(json.dumps(store.seal(turns, sections))))
    assert shown == chat and panel2 == panel and turns2 == turns and sections2 == sections
    assert restore(None) == ([], [], {}, render_panel({})) and restore("garbage")[1:3] == ([], {})
    seen: list[object] = []
    original = small_pipeline.stream

    def spy(question, history=None, **options):  # type: ignore[no-untyped-def]
        seen.append(history)
        return original(question, history, **options)

    small_pipeline.stream = spy
    *_, (_, chat, _, _, _) = respond("How is it evaluated?", turns2, sections2, 3, "extractive")
    assert seen[-1] == [{"role": "user", "content": "What does the rationale invariance loss do?"},
                        {"role": "assistant", "content": turns[1]["content"]}]
    trimmed = [{"role": "user", "content": "q", "html": "q"}, {**turns[1], "turn": 9}]  # numbers up to 9 kept
    *_, (_, chat, _, _, sections3) = respond("And the rationale matrices?", trimmed, {9: "s"}, 3, "extractive")
    assert max(sections3) == 10 and 'href="#src-10-' in chat[-1]["content"]


def test_the_page_keeps_the_chat_in_the_update_that_shows_it_whole(small_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The kept copy is written by the last update of the page's chat event (the one showing the answer with its
    sources) and by Clear, by no event of its own: a save chained after the answer was a second request, lost to a
    reload as the answer showed, and able to land after a Clear clicked then, writing the cleared chat back. The
    API's chat answers the same without the copy."""
    from rag.app.persist import ChatStore
    from rag.app.ui import build_ui

    demo = build_ui(small_pipeline)
    stored = next(b for b in demo.blocks.values() if isinstance(b, gr.BrowserState))
    writers = {fn.fn.__name__: fn for fn in demo.fns.values() if stored in fn.outputs}
    assert sorted(writers) == ["clear", "respond"]  # Clear is wired twice (its button and the chatbot's own)
    page_chat, api_chat = writers["respond"], next(fn for fn in demo.fns.values() if fn.api_name == "chat")
    assert page_chat.targets and not api_chat.targets and stored not in api_chat.outputs
    assert page_chat.api_visibility == "private" and page_chat.trigger_mode == "once"
    store = ChatStore.for_server(small_pipeline.settings.data_dir, small_pipeline.settings.max_body_bytes)
    question = "What does the rationale invariance loss do?"
    *going, last = page_chat.fn(question, [], {}, 3, "extractive")
    assert going and all(update[-1] == gr.skip() for update in going)  # nothing is kept while the answer streams
    assert "Rationale Invariance" in last[2] and store.open(last[-1]) == (last[3], last[4]) and len(last[3]) == 2
    assert last[:3] == list(api_chat.fn(question, [], {}, 3, "extractive"))[-1][:3]  # box, chat and panel
    *_, empty = page_chat.fn("  ", [], {}, 3, "extractive")  # an event that ends at once keeps its chat too
    assert empty[-1] == store.seal(empty[3], empty[4])


def test_a_chat_sealed_by_other_rendering_code_opens_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTML kept before a change to the rendering code (its escaping, say) is never shown again."""
    from rag.app import persist

    store = persist.ChatStore(b"k" * 32)
    turns, sections = _chat(1)
    value = store.seal(turns, sections)
    assert store.open(value) == (turns, sections)
    monkeypatch.setattr(persist, "_renderer", lambda: "another render.py")
    assert store.open(value) == ([], {})
