"""Tokens and estimated cost of an LLM answer: the server's own count when it sends one, else tiktoken's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rag.index.tokens import count_tokens
from rag.types import Usage

PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5": (1.25, 10.00),
    "gpt-3.5-turbo": (0.50, 1.50),
    "o4-mini": (1.10, 4.40),
    "o3-mini": (1.10, 4.40),
}
"""USD per million (prompt, completion) tokens of known hosted models, for estimates only. A dated
variant (``gpt-4o-mini-2024-07-18``) uses its base name's price; unknown or local models cost 0."""


def estimate_cost(model: str, prompt_tokens: int, completion_tokens: int) -> float:
    """Estimated USD cost of a call (0 for a model not in ``PRICES``)."""
    name = model.lower().rsplit("/", 1)[-1]
    match = max((m for m in PRICES if name == m or name.startswith(m + "-")), key=len, default=None)
    if match is None:
        return 0.0
    prompt_price, completion_price = PRICES[match]
    return round((prompt_tokens * prompt_price + completion_tokens * completion_price) / 1_000_000, 8)


def answer_usage(model: str, reported: Sequence[Any], messages: Sequence[dict[str, str]], text: str) -> Usage:
    """Tokens and cost of an answer: the server's own count (the last usage chunk in ``reported``) when it sent
    one, else tiktoken's estimate of ``messages`` and ``text``."""
    if reported and getattr(reported[-1], "prompt_tokens", None) is not None:
        prompt_tokens, completion_tokens = int(reported[-1].prompt_tokens), int(reported[-1].completion_tokens or 0)
    else:
        prompt_tokens = sum(count_tokens(m["content"]) + 4 for m in messages) + 3
        completion_tokens = count_tokens(text)
    return Usage(prompt_tokens, completion_tokens, estimate_cost(model, prompt_tokens, completion_tokens))
