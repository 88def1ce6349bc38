"""The Gradio chat UI: streaming answers on the left, their sources on the right.

``build_ui(pipeline)`` builds the app from an open ``Pipeline`` (no module-level models or clients), so tests can
pass one over a small index. Every piece of corpus text (titles, abstracts, quotes, answers, which can contain
titles) goes through ``esc`` before it is put into HTML; chat messages are sent as HTML with Markdown rendering
off, so nothing in the corpus is ever interpreted as Markdown or HTML. The browser keeps a copy of the chat, shown
again when the page is reloaded (``rag.app.persist``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from rag.app.assets import CITE_JS, CSS
from rag.app.chat_events import chat_handler, like_handler, restore_handler
from rag.app.feedback import FeedbackLog
from rag.app.inputs import answerer_radio, sources_slider
from rag.app.live import LivePipeline
from rag.app.paper_ui import FilterControls, facet_updates, filter_controls
from rag.app.persist import ChatStore
from rag.app.render import (
    DEFAULT_EXAMPLES,
    active_answerer,
    render_banner,
)
from rag.app.running import Running, session_of
from rag.app.source_cards import render_panel
from rag.errors import RagError
from rag.pipeline import MAX_SOURCES, Pipeline

__all__ = ["CSS", "build_ui", "launch", "theme"]  # CSS is re-exported for rag.app.serve


@dataclass(frozen=True)
class Widgets:
    """The components the events are wired to."""

    box: gr.Textbox
    send: gr.Button
    chatbot: gr.Chatbot
    clear: gr.Button
    status: gr.Markdown
    k: gr.Slider
    answerer: gr.Radio
    filters: FilterControls
    sources: gr.HTML


def _chatbot() -> gr.Chatbot:
    return gr.Chatbot(
        elem_id="chat", label="Chat", show_label=False, height=640, render_markdown=False, sanitize_html=True,
        allow_tags=False, latex_delimiters=[], buttons=[], group_consecutive_messages=False,
        feedback_options=("Like", "Dislike"),
        placeholder="Ask about the papers: answers cite their sources with [n] markers.",
    )


def _settings_panel(pipeline: Pipeline) -> tuple[gr.Slider, gr.Radio]:
    settings, llm_ready = pipeline.settings, pipeline.llm_answerer is not None
    with gr.Accordion("Settings", open=False):
        k = sources_slider(minimum=1, maximum=MAX_SOURCES, value=settings.top_k, step=1, label="Number of sources (k)")
        answerer = answerer_radio(
            choices=["extractive", "llm"] if llm_ready else ["extractive"],
            value=active_answerer(pipeline),
            label="Answerer",
            info=None if llm_ready else "The LLM answerer needs OPENAI_API_KEY or OPENAI_BASE_URL.",
        )
        gr.Textbox(settings.llm_model if llm_ready else f"{settings.llm_model} (not configured)",
                   label="LLM model (RAG_LLM_MODEL)", interactive=False)
    return k, answerer


def _layout(pipeline: Pipeline, examples: Sequence[str] | None) -> Widgets:
    """The page: the banner, the chat column (question box, examples, settings) and the sources column."""
    gr.HTML(render_banner(pipeline), elem_id="rag-banner")
    with gr.Row(equal_height=False):
        with gr.Column(scale=5, min_width=420):
            chatbot = _chatbot()
            with gr.Row():
                box = gr.Textbox(elem_id="question", placeholder="Ask a question about the papers…",
                                 show_label=False, scale=8, lines=1, max_lines=4, autofocus=True)
                send = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="ask")
            gr.Examples(list(examples or DEFAULT_EXAMPLES), inputs=[box], label="Example questions")
            with gr.Row():
                clear = gr.Button("Clear chat", size="sm", elem_id="clear")
                status = gr.Markdown("", elem_id="feedback-status")
            k, answerer = _settings_panel(pipeline)
            with gr.Accordion("Filter papers", open=False):
                filters = filter_controls(pipeline.papers.values())
        with gr.Column(scale=4, min_width=360):
            gr.Markdown("### Sources")
            sources = gr.HTML(render_panel({}), elem_id="sources-panel", max_height=700, js_on_load=CITE_JS,
                              padding=False)
    return Widgets(box, send, chatbot, clear, status, k, answerer, filters, sources)


def _wire(demo: gr.Blocks, w: Widgets, live: LivePipeline, on_like: Any, store: ChatStore) -> None:
    """The events: only ``chat`` is in the API; the others are private to the page. The browser keeps a copy
    of the chat (``rag.app.persist``), written by the last update of each answer and by Clear, read when the page
    loads."""
    turns_state, sections_state, stored = gr.State([]), gr.State({}), store.component()
    outputs = [w.box, w.chatbot, w.sources, turns_state, sections_state]
    inputs = [w.box, turns_state, sections_state, w.k, w.answerer, *w.filters.inputs()]
    # The API's chat: the same answer without the kept copy (no trigger on the page, so its outputs stay these)
    gr.on([], chat_handler(live), inputs, outputs, api_name="chat", show_progress="hidden")
    # The page's chat writes the copy in the update that shows the answer whole. A save chained after it (.then) was
    # a second request: a reload as the answer showed lost the answer, and a Clear clicked then could land first,
    # the late save writing the cleared chat back. Enter and the Ask button are one event: while an answer streams,
    # a second Enter or click does nothing (the question stays in the box) instead of running beside it on a copy
    # of the chat, whose end overwrote the other.
    running = Running()  # Clear and leaving the page close the session's answer, its LLM request too
    chat = gr.on([w.box.submit, w.send.click], chat_handler(live, store.seal, running), inputs, [*outputs, stored],
                 api_visibility="private", show_progress="hidden", trigger_mode="once")
    w.chatbot.like(on_like, [turns_state], [w.status], api_visibility="private")
    clear_outputs = [w.chatbot, turns_state, sections_state, w.sources, w.status, stored]

    def clear(request: gr.Request) -> tuple[Any, ...]:
        running.stop(session_of(request))
        return [], [], {}, render_panel({}), "", store.seal([], {})  # an empty chat replaces the stored one

    def leave(request: gr.Request) -> None:
        running.stop(session_of(request))

    w.clear.click(clear, None, clear_outputs, api_visibility="private", cancels=[chat])  # a streaming answer too
    w.chatbot.clear(clear, None, clear_outputs, api_visibility="private", cancels=[chat])
    demo.unload(leave)
    demo.load(restore_handler(store), [stored], [w.chatbot, turns_state, sections_state, w.sources],
              api_visibility="private", show_progress="hidden")
    demo.load(facets_handler(live), None, [w.filters.since, w.filters.until, w.filters.category],
              api_visibility="private", show_progress="hidden")


def facets_handler(live: LivePipeline) -> Any:
    """On page load: the filter controls as the index is now (an ingest since the app started may have added
    years and categories); as they were when the index cannot be read (the chat then says why)."""

    def facets() -> tuple[Any, Any, Any]:
        try:
            pipeline, _ = live.current()
        except RagError:
            pipeline = live.pipeline
        return facet_updates(pipeline.papers.values())

    return facets


def build_ui(
    pipeline: Pipeline | LivePipeline, *, examples: Sequence[str] | None = None, concurrency: int = 16,
    feedback: FeedbackLog | None = None,
) -> gr.Blocks:
    """The chat app over an open pipeline. Launch it with ``launch(demo, ...)`` (which adds the CSS). Before each
    answer the index's stamp is compared: after an ingest the pipeline is reopened and the chat says so.
    ``feedback``: where votes go (default: the data dir's log, capped at ``RAG_FEEDBACK_MAX_BYTES``)."""
    live = pipeline if isinstance(pipeline, LivePipeline) else LivePipeline(pipeline)
    settings = live.pipeline.settings
    feedback = feedback or FeedbackLog(Path(settings.data_dir), settings.feedback_max_bytes)
    store = ChatStore.for_server(Path(settings.data_dir), settings.max_body_bytes)
    with gr.Blocks(title="Ask the ML papers", analytics_enabled=False, fill_width=True) as demo:
        _wire(demo, _layout(live.pipeline, examples), live, like_handler(feedback), store)
    demo.queue(default_concurrency_limit=concurrency)
    return demo


def theme() -> gr.themes.Base:
    """A local-font theme (no font downloads: the app works offline)."""
    return gr.themes.Soft(
        primary_hue="indigo",
        font=["Inter", "system-ui", "Segoe UI", "Helvetica", "Arial", "sans-serif"],
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
    )


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, **kwargs: Any) -> Any:
    """``demo.launch`` with the app's CSS and theme (Gradio 6 takes them at launch, not in ``Blocks``)."""
    kwargs.setdefault("show_error", False)
    kwargs.setdefault("max_file_size", 1)  # no file components: nothing to upload
    kwargs.setdefault("footer_links", ["api"])
    return demo.launch(server_name=host, server_port=port, css=CSS, theme=theme(), **kwargs)
