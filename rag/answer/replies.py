"""What an LLM's reply text holds beyond the answer: a leading ``<think>`` block (reasoning models), an
unfinished last sentence (a reply cut at ``max_tokens``), a preamble around a rewritten follow-up question.
Pure text functions; ``rag.answer.llm`` applies them to the stream and the condense reply."""

from __future__ import annotations

import re
from collections.abc import Iterator

_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"


def without_thinking(deltas: Iterator[str]) -> Iterator[str]:
    """The deltas without a leading ``<think>…</think>`` block (reasoning models served by llama.cpp, Ollama or
    vLLM write their thinking first): it is neither shown nor checked as the answer."""
    head = ""
    for delta in deltas:
        head += delta
        lead = head.lstrip()
        if _THINK_OPEN.startswith(lead) and len(lead) < len(_THINK_OPEN):
            continue  # not yet known whether a block opens
        if lead.startswith(_THINK_OPEN):
            closed = lead.find(_THINK_CLOSE)
            if closed < 0:
                continue
            lead = lead[closed + len(_THINK_CLOSE) :].lstrip()
        if lead:
            yield lead
        yield from deltas
        return
    if head.strip() and not head.lstrip().startswith(_THINK_OPEN):
        yield head


def answer_start(text: str) -> int:
    """Where the answer starts in a reply that holds only the end of a thinking block (a DeepSeek-R1 chat
    template opens ``<think>`` in the prompt, so the reply starts mid-thought and has only ``</think>``): just
    after that tag; 0 for any other reply."""
    closed = text.find(_THINK_CLOSE)
    return closed + len(_THINK_CLOSE) if closed >= 0 and _THINK_OPEN not in text[:closed] else 0


_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*(?=\s|$)|\n")


def whole_sentences(text: str) -> str:
    """``text`` up to the end of its last complete sentence or line (with the markers after it), for a reply
    cut off at ``max_tokens``; "" when not even one sentence is complete."""
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    if not ends:
        return ""
    end = ends[-1]
    trailing = re.compile(r"(?:\s*(?:\[[^\]\n]{1,40}\]|【[^】\n]{1,40}】))+").match(text, end)
    return text[: trailing.end() if trailing else end].strip()


_PREAMBLE = re.compile(r"^(?:standalone question|rewritten question|question)\s*:\s*", re.IGNORECASE)


def standalone_line(reply: str) -> str:
    """The rewritten question in a condense reply: a leading ``<think>`` block dropped, Markdown emphasis and
    a "Standalone question:" label removed, lines that only introduce ("Sure! Here is …:") skipped; the first
    line that is a question, else the first line left. "" when nothing is left."""
    text = re.sub(r"^\s*<think>.*?</think>", "", reply, flags=re.DOTALL)
    if text.lstrip().startswith("<think>"):  # cut off while thinking: no question in it
        return ""
    lines = [_PREAMBLE.sub("", line.strip().replace("**", "").strip("*_ ")).strip().strip('"“”').strip()
             for line in text.splitlines()]
    lines = [line for line in lines if line and not line.endswith(":")]
    return next((line for line in lines if line.endswith("?")), lines[0] if lines else "")
