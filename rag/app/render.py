"""HTML rendering of answers for the chat UI: the answer messages, notices, the coverage line and the banner.

Every piece of corpus text (titles, abstracts, quotes, answers, which can contain titles) goes through ``esc``
before it is put into HTML, so nothing in the corpus is ever interpreted as Markdown or HTML. The sources panel
is rendered by ``rag.app.source_cards``.
"""

from __future__ import annotations

import html

from rag.answer.base import NO_MATCH_LEAD
from rag.answer.compose.analysis import coverage
from rag.pipeline import Pipeline
from rag.text import parse_markers
from rag.types import Answer

DEFAULT_EXAMPLES = (
    "How does the rationale invariance paper approach domain generalization?",
    "What speedup does SeerAttention-R's sparse decoding kernel reach over FlashAttention-3?",
    "What is subject membership inference in federated learning?",
    "How does DIMAT merge models trained by decentralized agents?",
)
EXTRACTIVE_BANNER = "Extractive mode (offline): answers quote the abstracts verbatim"
LLM_HELP = (
    "To use an LLM, set <code>OPENAI_API_KEY</code> (and <code>OPENAI_BASE_URL</code> for vLLM, Ollama, "
    "llama.cpp or another OpenAI-compatible server) and pick the model with <code>RAG_LLM_MODEL</code>, "
    "then restart the app."
)
SEARCHING = '<span class="rag-meta">Searching the papers…</span>'
EMPTY_QUESTION = "Please type a question about the papers first."

_ESCAPES = str.maketrans({"{": "&#123;", "}": "&#125;", "$": "&#36;", "`": "&#96;", "\\": "&#92;"})


def esc(text: object) -> str:
    """HTML-escape text (quotes included), plus the characters template engines and Markdown act on. (One
    ``str.translate``: a per-character loop here was the largest CPU cost of the chat under load.)"""
    return html.escape(str(text), quote=True).translate(_ESCAPES)


# ---------------------------------------------------------------------------------------------- chat messages


def render_message(text: str, turn: int) -> str:
    """Answer text as safe HTML: escaped, with each ``[n]`` marker a link to source card ``n`` of this turn."""
    out: list[str] = []
    last = 0
    for marker in parse_markers(text):
        out.append(esc(text[last : marker.start]))
        links = ", ".join(
            f'<a class="cite" href="#src-{turn}-{n}" title="Show source {n}">{n}</a>' for n in marker.numbers
        )
        out.append(f'<span class="cite-group">[{links}]</span>')
        last = marker.end
    out.append(esc(text[last:]))
    return "".join(out).replace("\n", "<br>")


def render_notice(text: str, kind: str = "error") -> str:
    """A readable notice in the chat (errors, empty question): escaped, never a stack trace."""
    label = "Error:" if kind == "error" else "Note:"
    return f'<div class="rag-notice rag-{esc(kind)}"><b>{label}</b> {esc(text)}</div>'


def render_answer_message(answer: Answer, turn: int) -> str:
    parts = []
    if answer.error:
        parts.append(render_notice(f"The LLM could not answer ({answer.error}). Showing the extractive answer."))
    parts.append(render_message(answer.text, turn))
    parts.append(render_coverage(answer))
    if answer.abstained and not answer.text.startswith(NO_MATCH_LEAD):  # the no-match text says what happened
        parts.append('<div class="rag-meta">No paper in the corpus was close enough to answer from.</div>')
    return "".join(parts)


def render_coverage(answer: Answer) -> str:
    """The coverage line under an answer: "N of the K retrieved abstracts mention X; M cited state it"."""
    if answer.abstained or not answer.hits:
        return ""
    abstracts = [f"{h.paper.title} {h.paper.abstract}" for h in answer.hits]
    ids = {c.paper.id for c in answer.citations}
    cited = [i for i, h in enumerate(answer.hits) if h.paper.id in ids]
    topic, mentioned, stated = coverage(answer.question, abstracts, cited, answer.kind or None)
    if not topic or not cited:
        return ""
    k, verb = len(answer.hits), "mentions" if mentioned == 1 else "mention"
    return (
        f'<div class="rag-meta rag-coverage">{mentioned} of the {k} retrieved abstracts {verb} {esc(topic)}; '
        f"{stated} of the {len(cited)} cited {'does' if stated == 1 else 'do'}</div>"
    )


# ---------------------------------------------------------------------------------------------- banner, settings


def active_answerer(pipeline: Pipeline) -> str:
    """'llm' or 'extractive': the answerer used when the user does not choose."""
    return "llm" if pipeline.llm_answerer is not None and pipeline.answerer is pipeline.llm_answerer else "extractive"


def render_banner(pipeline: Pipeline) -> str:
    if active_answerer(pipeline) == "llm":
        mode = f"LLM: {esc(pipeline.settings.llm_model)}"
        help_text = "Switch to the extractive answerer in Settings to quote the abstracts verbatim."
    else:
        mode = EXTRACTIVE_BANNER
        help_text = LLM_HELP
    n = len(pipeline.papers)
    return (
        '<div class="rag-banner"><div class="rag-title">Ask the ML papers</div>'
        f'<div class="rag-mode"><b>{mode}</b> · {n} paper abstracts indexed</div>'
        f'<div class="rag-help">{help_text}</div></div>'
    )

