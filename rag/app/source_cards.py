"""HTML of the sources panel: a card per cited paper (its abstract with the quoted sentences marked, its record,
the verdict of each citation), the retrieved but uncited papers, the comparison table, one section per answer.

Every piece of corpus text goes through ``rag.app.render.esc`` before it is put into HTML, as in the chat.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from rag.answer.base import ABSTENTION
from rag.answer.roles import SUMMARY_LABELS, comparison_rows
from rag.app.render import esc
from rag.text import counted, split_sentences
from rag.types import Answer, Citation, Hit, Paper, SentenceCheck

PANEL_PLACEHOLDER = (
    '<div class="src-empty">Ask a question: the papers cited in the answer appear here, '
    "with the quoted sentences highlighted. Click a marker like <b>[1]</b> in an answer to jump to its source.</div>"
)
VERDICT_LABELS = {"supported": "supported", "weak": "weakly supported", "unsupported": "not supported"}


def _safe_url(url: str) -> str | None:
    return url if re.match(r"https?://[^\s<>\"']+$", url) else None


def highlight_abstract(abstract: str, marks: Mapping[int, Sequence[int]]) -> str:
    """The abstract as escaped HTML with sentence ``i`` wrapped in ``<mark>`` when ``i`` is in ``marks``
    (sentence index -> citation markers), using ``split_sentences`` spans like ``Citation.sentence_indices``."""
    spans = split_sentences(abstract)
    out: list[str] = []
    last = 0
    for i, span in enumerate(spans):
        if i not in marks:
            continue
        out.append(esc(abstract[last : span.start]))
        markers = " ".join(str(m) for m in marks[i])
        sentence = esc(abstract[span.start : span.end])
        out.append(f'<mark class="cited" data-sentence="{i}" data-cite="{markers}">{sentence}</mark>')
        last = span.end
    out.append(esc(abstract[last:]))
    return "".join(out)


def _links(paper: Paper) -> str:
    urls = [u for u in (_safe_url(u) for u in paper.urls) if u]
    if not urls:
        return ""
    items = " ".join(
        f'<a href="{esc(u)}" target="_blank" rel="noopener noreferrer nofollow">{esc(u)}</a>' for u in urls
    )
    return f'<div class="src-links">Code / links: {items}</div>'


SHOWN_AUTHORS = 3


def _authors(names: Sequence[str]) -> str:
    shown = ", ".join(names[:SHOWN_AUTHORS])
    return shown + (" et al." if len(names) > SHOWN_AUTHORS else "")


def _link_label(paper: Paper) -> str:
    if paper.arxiv_id and paper.url and paper.url.startswith("https://arxiv.org/abs/"):
        return f"arXiv:{paper.arxiv_id}"
    if paper.doi and paper.url and paper.url.startswith("https://doi.org/"):
        return f"doi:{paper.doi}"
    return "link"


def _meta(paper: Paper) -> str:
    """authors · year · venue · link (what the paper's record has), then the listing date of a listing page."""
    parts = []
    if paper.authors:
        everyone = esc(", ".join(paper.authors))
        parts.append(f'<span class="src-authors" title="{everyone}">{esc(_authors(paper.authors))}</span>')
    if paper.year:
        parts.append(f'<span class="src-year">{paper.year}</span>')
    if paper.venue:
        parts.append(f'<span class="src-venue">{esc(paper.venue)}</span>')
    url = _safe_url(paper.url) if paper.url else None
    if url:
        parts.append(
            f'<a class="src-url" href="{esc(url)}" target="_blank" rel="noopener noreferrer nofollow">'
            f"{esc(_link_label(paper))}</a>"
        )
    if paper.listing_date:
        parts.append(f"Listed {esc(paper.listing_date)}")
    return f'<div class="src-meta">{" · ".join(parts) or "Listing date unknown"}</div>'


def _verdict(verdict: str, support: float | None = None) -> str:
    label = VERDICT_LABELS.get(verdict, verdict)
    score = f" ({support:.2f})" if support is not None else ""
    return f'<span class="verdict v-{esc(verdict)}">{esc(label)}{score}</span>'


def render_roles(paper: Paper, roles: Sequence[tuple[str, int]]) -> str:
    """The paper in three verbatim sentences, Problem / Approach / Result (``Citation.roles``); "" without them."""
    spans = split_sentences(paper.abstract)
    rows = [f"<dt>{SUMMARY_LABELS[role]}</dt><dd>{esc(paper.abstract[spans[i].start : spans[i].end])}</dd>"
            for role, i in roles if role in SUMMARY_LABELS and 0 <= i < len(spans)]
    return f'<dl class="src-roles">{"".join(rows)}</dl>' if rows else ""


def render_comparison(answer: Answer) -> str:
    """For a comparison question, a table of the cited papers (rows) by Problem / Approach / Result (columns), in
    their abstracts' own sentences (``rag.answer.roles.comparison_rows``); "" otherwise."""
    rows = comparison_rows(answer.citations) if answer.kind == "comparison" else []
    if not rows:
        return ""
    head = "".join(f"<th>{label}</th>" for label in SUMMARY_LABELS.values())
    body = "".join(
        f"<tr><th>{esc(title)}</th>" + "".join(f"<td>{esc(cols.get(label, ''))}</td>" for label in
                                               SUMMARY_LABELS.values()) + "</tr>"
        for title, cols in rows
    )
    return f'<table class="src-compare"><tr><th>paper</th>{head}</tr>{body}</table>'


def render_cited_card(paper: Paper, citations: Sequence[Citation], checks: Sequence[SentenceCheck], turn: int) -> str:
    """One card for a cited paper: title, date, abstract with the cited sentences in ``<mark>``, links, and the
    support verdict of each citation and of each answer sentence citing it."""
    markers = [c.marker for c in citations]
    marks: dict[int, list[int]] = {}
    for c in citations:
        for i in c.sentence_indices:
            marks.setdefault(i, []).append(c.marker)
    badges = "".join(f'<span class="marker" id="src-{turn}-{m}">[{m}]</span>' for m in markers)
    rows = []
    n_sentences = len(split_sentences(paper.abstract))
    for c in citations:
        where = ", ".join(str(i + 1) for i in c.sentence_indices if 0 <= i < n_sentences) or "?"
        rows.append(f"<li><b>[{c.marker}]</b> sentence {esc(where)}: {_verdict(c.verdict, c.support)}</li>")
        for check in checks:
            if c.marker in check.markers:
                reason = f' <span class="reason">{esc(check.reason)}</span>' if check.reason else ""
                said = check.text if len(check.text) <= 90 else check.text[:88].rstrip() + "…"
                rows.append(
                    f'<li class="check" title="{esc(check.text)}">answer: “{esc(said)}” '
                    f"{_verdict(check.verdict, check.support)}{reason}</li>"
                )
    return (
        f'<article class="src-card" data-turn="{turn}" data-markers="{" ".join(map(str, markers))}" '
        f'data-paper="{esc(paper.id)}">'
        f'<div class="src-head">{badges}<h4 class="src-title">{esc(paper.title)}</h4></div>'
        f"{_meta(paper)}"
        f"{render_roles(paper, citations[0].roles if citations else ())}"
        f'<p class="src-abstract">{highlight_abstract(paper.abstract, marks)}</p>'
        f"{_links(paper)}"
        f'<ul class="src-verdicts">{"".join(rows)}</ul>'
        "</article>"
    )


def render_uncited_card(hit: Hit) -> str:
    paper = hit.paper
    return (
        f'<article class="src-card uncited" data-paper="{esc(paper.id)}">'
        f'<h4 class="src-title">{esc(paper.title)}</h4>{_meta(paper)}'
        f'<p class="src-abstract">{esc(paper.abstract)}</p>{_links(paper)}</article>'
    )


def render_sources(answer: Answer, turn: int, *, active: bool = True, extra: str = "") -> str:
    """The sources of one answer: a card per cited paper (in marker order), then the retrieved but uncited
    papers collapsed in a ``<details>``. ``extra`` is trusted HTML put after the cards (the reference
    downloads of ``rag.app.paper_ui.references_links``)."""
    by_paper: dict[str, list[Citation]] = {}
    papers: dict[str, Paper] = {}
    for c in sorted(answer.citations, key=lambda c: c.marker):
        by_paper.setdefault(c.paper.id, []).append(c)
        papers[c.paper.id] = c.paper
    cards = [render_cited_card(papers[pid], cites, answer.checks, turn) for pid, cites in by_paper.items()]
    uncited = [h for h in answer.hits if h.paper.id not in by_paper]
    body = render_comparison(answer) + "".join(cards) + extra
    if answer.not_stated:
        body = f'<div class="src-not-stated"><b>Not stated:</b> {esc(answer.not_stated)}</div>' + body
    if not cards:
        reason = "The answer abstained: " if answer.abstained or answer.text.strip() == ABSTENTION else ""
        body = f'<div class="src-empty">{reason}No source is cited in this answer.</div>'
    if uncited:
        body += (
            f'<details class="src-uncited"><summary>{counted(len(uncited), "more retrieved paper")} '
            f"(not cited)</summary>{''.join(render_uncited_card(h) for h in uncited)}</details>"
        )
    return render_section(answer.question, body, turn, active=active)


def render_section(question: str, body: str, turn: int, *, active: bool = True) -> str:
    cls = "src-turn active" if active else "src-turn"
    head = f'<div class="src-q">Sources for “{esc(question)}”</div>'
    return f'<section class="{cls}" data-turn="{turn}">{head}{body}</section>'


def render_panel(sections: Mapping[int, str] | Sequence[tuple[int, str]], pending: str | None = None) -> str:
    """All answers' source sections (only the latest shown; clicking an older marker shows its own), or a
    'finding sources' placeholder while an answer streams."""
    items = sorted(sections.items() if isinstance(sections, Mapping) else sections)
    if not items and pending is None:
        return f'<div class="sources-panel">{PANEL_PLACEHOLDER}</div>'
    parts = []
    for i, (_, section) in enumerate(items):
        is_last = i == len(items) - 1 and pending is None
        parts.append(section if is_last else section.replace('class="src-turn active"', 'class="src-turn"', 1))
    if pending is not None:
        parts.append(
            f'<section class="src-turn active pending"><div class="src-q">Finding sources for “{esc(pending)}”…'
            "</div></section>"
        )
    return f'<div class="sources-panel">{"".join(parts)}</div>'
