"""What the LLM answerer sends: sources numbered ``[1]..[n]``, fenced as data (``guards.fence_source``) and
packed into ``settings.context_tokens`` (tiktoken), the last turns of the history, and the answer and condense
prompts (``prompts/*.md``)."""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer.base import ABSTENTION
from rag.answer.guards import fence_source
from rag.index.tokens import count_tokens, truncate_tokens
from rag.prompts import render
from rag.settings import Settings
from rag.types import Hit, Retrieved

HISTORY_TURNS = 6
HISTORY_TURN_TOKENS = 400


def format_source(n: int, hit: Hit, abstract: str | None = None) -> str:
    """``<source n="n">``, ``[n] Title (listing date)``, the abstract (or the given replacement text),
    ``</source>``: fenced, so that text inside an abstract reads as data, not as instructions."""
    date = f" ({hit.paper.listing_date})" if hit.paper.listing_date else ""
    body = abstract if abstract is not None else hit.paper.abstract
    return fence_source(n, f"{' '.join(hit.paper.title.split())}{date}", body)


def pack_sources(hits: Sequence[Hit], budget: int) -> tuple[str, int]:
    """Sources numbered ``[1]..[n]`` in rank order, as many as fit in ``budget`` tokens (the first one is
    truncated to fit if it alone is too long). Returns the text and ``n``."""
    blocks: list[str] = []
    used = 0
    for n, hit in enumerate(hits, start=1):
        block = format_source(n, hit)
        cost = count_tokens(block) + 2
        if used + cost > budget:
            if not blocks:
                head = count_tokens(format_source(n, hit, ""))
                blocks.append(format_source(n, hit, truncate_tokens(hit.paper.abstract, max(budget - head - 2, 16))))
            break
        blocks.append(block)
        used += cost
    return "\n\n".join(blocks), len(blocks)


def recent_turns(history: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """The last ``HISTORY_TURNS`` user and assistant turns, each cut to ``HISTORY_TURN_TOKENS`` tokens."""
    turns = [t for t in history if t.get("role") in ("user", "assistant")][-HISTORY_TURNS:]
    return [{"role": t["role"], "content": truncate_tokens(t["content"], HISTORY_TURN_TOKENS)} for t in turns]


def answer_messages(
    settings: Settings, question: str, retrieved: Retrieved, history: Sequence[dict[str, str]]
) -> tuple[list[dict[str, str]], int]:
    """The chat messages for an answer and the number of sources they carry."""
    sources, n = pack_sources(retrieved.hits, settings.context_tokens)
    user = render(
        "answer",
        settings.prompts_dir,
        sources=sources,
        question=question,
        standalone_question=retrieved.query or question,
        abstention=ABSTENTION,
    )
    system = render("system", settings.prompts_dir, abstention=ABSTENTION)
    return [{"role": "system", "content": system}, *recent_turns(history), {"role": "user", "content": user}], n


def condense_prompt(settings: Settings, question: str, turns: Sequence[dict[str, str]]) -> str:
    """The prompt that asks for ``question`` rewritten as a standalone one, given the ``turns`` before it."""
    transcript = "\n".join(f"{t['role']}: {t['content']}" for t in turns)
    return render("condense", settings.prompts_dir, history=transcript, question=question)
