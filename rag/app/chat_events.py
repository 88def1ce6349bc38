"""The chat page's events: a question answered into the chat as it streams (``chat_handler``), a vote on an
answer (``like_handler``), the kept chat shown again on a reload (``restore_handler``). ``rag.app.ui`` lays the page
out and wires them.

Every piece of corpus text goes through ``esc`` (``rag.app.render``) before it is put into HTML."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import gradio as gr

from rag.app.feedback import FeedbackLog, Vote, answer_record
from rag.app.inputs import whole
from rag.app.live import LivePipeline
from rag.app.paper_ui import filter_kwargs, references_links
from rag.app.persist import ChatStore, Sections, Turns
from rag.app.render import EMPTY_QUESTION, SEARCHING, esc, render_answer_message, render_message, render_notice
from rag.app.running import Running, session_of
from rag.app.source_cards import render_panel, render_sources
from rag.errors import QueryError, RagError
from rag.request import clean_query
from rag.types import AnswererName

log = logging.getLogger(__name__)

ANSWERERS: dict[str, AnswererName] = {"extractive": "extractive", "llm": "llm"}


def _notice_turn(text: str, kind: str = "error") -> dict[str, Any]:
    """An assistant message that is a notice: shown in the chat, never passed on as history."""
    return {"role": "assistant", "content": "", "html": render_notice(text, kind), "error": True}


def _display(turns: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    return [{"role": str(t["role"]), "content": str(t["html"])} for t in turns]


def _history(turns: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Plain-text history for the pipeline: completed exchanges only (no notices, no failed turns)."""
    out: list[dict[str, str]] = []
    for t in turns:
        if not t.get("error") and t.get("content"):
            out.append({"role": str(t["role"]), "content": str(t["content"])})
    return out


class Cleared(Exception):
    """The answer was closed by the page's Clear (``Running``): the event ends without another update."""


def _answer(live: LivePipeline, question: str, turns: list[dict[str, Any]], k: float, answerer: str,
            filters: Mapping[str, Any], first: int = 0, running: Running | None = None,
            session: str | None = None) -> Iterator[tuple[Any, ...]]:
    """Stream one answer into ``turns`` (whose last two are the question and a placeholder): yields chat
    updates, and finally the assistant turn (or a notice turn if answering failed) as the last item. Its
    number (for marker links) is its index in ``turns``, or ``first`` when higher (a chat restored after a
    reload may have lost its oldest messages, not their numbers). While it is read the stream is ``running`` for
    ``session`` (Clear closes it)."""
    history, turn = _history(turns[:-2]), max(len(turns) - 1, first)
    text, stream = "", None
    try:
        current, reloaded = live.current()
        if reloaded:
            turns.insert(-2, _notice_turn(reloaded, "info"))
            turn = max(len(turns) - 1, first)
            yield gr.skip(), _display(turns), gr.skip(), gr.skip(), gr.skip()
        stream = current.stream(question, history, k=whole(k), answerer=ANSWERERS.get(answerer), **filters)
        if running is not None:
            running.start(session, stream)
        try:
            for chunk in stream:  # an unknown answerer above: the configured one
                text += chunk
                turns[-1] = {**turns[-1], "html": render_message(text, turn)}
                yield gr.skip(), _display(turns), gr.skip(), gr.skip(), gr.skip()
            final = stream.answer
        finally:
            if running is not None:
                running.end(session, stream)
    except RagError as exc:
        if stream is not None and stream.closed:  # the page's Clear: its empty chat stays, nothing more is shown
            raise Cleared from None
        turns[-2] = {**turns[-2], "error": True}  # a failed exchange is not history
        turns[-1] = _notice_turn(str(exc))
        return
    except Exception as exc:
        log.exception("answering %r failed", question)
        notice = (
            f"Something went wrong while answering ({type(exc).__name__}). The details are in the server log; "
            "please try again or rephrase the question."
        )
        turns[-2] = {**turns[-2], "error": True}  # a failed exchange is not history
        turns[-1] = _notice_turn(notice)
        return
    turns[-1] = {"role": "assistant", "content": final.text, "html": render_answer_message(final, turn),
                 "record": answer_record(final), "turn": turn,
                 "sources": render_sources(final, turn, extra=references_links(final, turn, current.papers))}


def chat_handler(live: LivePipeline, keep: Callable[[Turns, Sections], Any] | None = None,
                 running: Running | None = None) -> Any:
    """The chat event: the question, then the streamed answer, then its sources in the panel. With ``keep`` (the
    page's event: ``ChatStore.seal``) each update has one more output, the copy of the chat the browser keeps:
    skipped while the answer streams, ``keep(turns, sections)`` in the last update, so the copy is written with the
    update that shows the chat whole, never after it (see ``_wire``). With ``running``, the answer streaming for
    the page's session can be stopped from another event (Clear, leaving the page)."""
    more = () if keep is None else (gr.skip(),)

    def done(*update: Any) -> tuple[Any, ...]:
        """The last update of an event: with the chat to keep when there is a ``keep``."""
        return update if keep is None else (*update, keep(update[3], update[4]))

    def respond(
        message: str, turns: list[dict[str, Any]], sections: dict[int, str], k: float, answerer: str,
        since: float | None = None, until: float | None = None, author: str | None = None,
        category: str | list[str] | None = None, request: gr.Request = None,  # type: ignore[assignment]
    ) -> Iterator[tuple[Any, ...]]:
        turns = list(turns or [])
        sections = dict(sections or {})
        question = (message or "").strip()
        if not question:
            turns.append(_notice_turn(EMPTY_QUESTION, "info"))
            yield done("", _display(turns), render_panel(sections), turns, sections)
            return
        try:
            clean_query(question)
        except QueryError as exc:  # too long: say so and keep it in the box to be shortened, not in the chat
            turns.append(_notice_turn(str(exc)))
            yield done(gr.skip(), _display(turns), render_panel(sections), turns, sections)
            return
        turns.append({"role": "user", "content": question, "html": esc(question).replace("\n", "<br>")})
        turns.append({"role": "assistant", "content": "", "html": SEARCHING})
        yield "", _display(turns), render_panel(sections, pending=question), turns, sections, *more
        filters = filter_kwargs(since, until, author, category)
        first = max(sections, default=-1) + 1
        try:
            for update in _answer(live, question, turns, k, answerer, filters, first, running, session_of(request)):
                yield (*update, *more)
        except Cleared:
            return
        last = turns[-1]
        if "sources" in last:  # the turn number stays on the message: the stored chat keeps its section by it
            sections[int(last["turn"])] = str(last.pop("sources"))
        failed = bool(turns[-2].get("error"))  # refused (e.g. a link to a paper not indexed): back in the box
        yield done(question if failed else gr.skip(), _display(turns), render_panel(sections), turns, sections)

    return respond


def like_handler(feedback: FeedbackLog) -> Any:
    """The like/dislike event: one vote per answer and session, through the bounded feedback log."""

    def on_like(turns: list[dict[str, Any]], data: gr.LikeData, request: gr.Request) -> str:
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        if not isinstance(index, int) or not 0 <= index < len(turns or []):
            return "Could not find that message."
        record = turns[index].get("record")
        if not record:
            return "Only answers can be rated."
        vote: Vote
        if data.liked is True or data.liked == "Like":
            vote = "up"
        elif data.liked is False or data.liked == "Dislike":
            vote = "down"
        else:  # a vote taken back, or another option: the log keeps what was written
            return "Votes are not taken back: your earlier vote on this answer stays saved (it may be changed once)."
        return feedback.vote(str(getattr(request, "session_hash", None) or "-"), record, vote)

    return on_like


def restore_handler(store: ChatStore) -> Any:
    """The page-load event: the chat the browser kept (an empty one for a value this server did not seal)."""

    def restore(value: Any) -> tuple[Any, ...]:
        turns, sections = store.open(value)
        return _display(turns), turns, sections, render_panel(sections)

    return restore
