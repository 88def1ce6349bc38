"""The LLM answerer: any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp), streamed.

The ``openai`` client is built once at the edge (``make_llm_client``) and passed in. Sources are numbered
``[1]..[n]``, fenced as data (``guards.fence_source``) and packed into ``settings.context_tokens``
(tiktoken). Every answer request sends ``max_tokens`` and runs under one deadline (``RAG_LLM_TIMEOUT``)
covering connect, retries, the first token and the whole stream; 429/5xx/connection failures are retried
with backoff inside it. Every failure becomes an ``LLMError`` saying what to fix, with keys redacted, and
the pipeline then falls back to the extractive answer. The text is shown sentence by sentence only as it
passes the checks (``guards.SentenceGate``), and an answer the checks reject (``guards.withhold_reason``)
or one past ``RAG_LLM_MAX_ANSWER_CHARS`` is withheld (``WithheldAnswer``): the user gets the extractive
answer with a notice naming why.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

from rag.answer.base import ABSTENTION, abstention, checked_answer, is_abstention
from rag.answer.citations import check_answer
from rag.answer.compose.analysis import analyse
from rag.answer.guards import SentenceGate, WithheldAnswer, fence_source, strict_check, withhold_reason
from rag.answer.replies import answer_start, standalone_line, whole_sentences, without_thinking
from rag.answer.transport import (
    RETRY_STATUSES,
    Deadline,
    backoff,
    deadline_error,
    endpoint,
    make_llm_client,
    status_of,
    to_llm_error,
    within,
)
from rag.errors import Cancelled, LLMError
from rag.index.embeddings import Embedder
from rag.index.tokens import count_tokens, truncate_tokens
from rag.prompts import render
from rag.settings import Settings
from rag.types import Answer, Hit, Retrieved, Usage

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

HISTORY_TURNS = 6
HISTORY_TURN_TOKENS = 400
CONDENSE_MAX_TOKENS = 200
__all__ = ["LLMAnswerer", "estimate_cost", "format_source", "make_llm_client", "pack_sources", "to_llm_error"]


def estimate_cost(model: str, prompt_tokens: int, completion_tokens: int) -> float:
    """Estimated USD cost of a call (0 for a model not in ``PRICES``)."""
    name = model.lower().rsplit("/", 1)[-1]
    match = max((m for m in PRICES if name == m or name.startswith(m + "-")), key=len, default=None)
    if match is None:
        return 0.0
    prompt_price, completion_price = PRICES[match]
    return round((prompt_tokens * prompt_price + completion_tokens * completion_price) / 1_000_000, 8)


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


class LLMAnswerer:
    """Streams an answer from an OpenAI-compatible chat endpoint, citing numbered sources ``[n]``."""

    def __init__(
        self,
        settings: Settings,
        client: Any,
        embedder: Embedder,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.client = client
        self.embedder = embedder
        self.sleep = sleep
        self.name = f"llm:{settings.llm_model}"

    # --- requests ----------------------------------------------------------------------------------

    def _create(self, deadline: Deadline, **request: Any) -> Any:
        """``chat.completions.create`` with retries and backoff on 429/5xx/connection errors, each attempt
        and wait inside ``deadline``."""
        import openai

        attempts = self.settings.llm_max_retries + 1
        for attempt in range(attempts):
            try:
                timeout = max(deadline.remaining(), 0.1)
                return self.client.chat.completions.create(model=self.settings.llm_model, timeout=timeout, **request)
            except openai.APITimeoutError as exc:
                raise to_llm_error(exc, self.settings, attempt + 1) from None
            except (openai.APIConnectionError, openai.APIStatusError) as exc:
                status = status_of(exc)
                retryable = isinstance(exc, openai.APIConnectionError) or status in RETRY_STATUSES
                wait = backoff(attempt, exc)
                if not retryable or attempt + 1 >= attempts or wait >= deadline.remaining():
                    raise to_llm_error(exc, self.settings, attempt + 1) from None
                self.sleep(wait)
            except Exception as exc:  # a body the client could not parse
                raise to_llm_error(exc, self.settings, attempt + 1) from None
        raise LLMError("unreachable")  # pragma: no cover

    def _open_stream(self, messages: list[dict[str, str]], deadline: Deadline) -> Any:
        request: dict[str, Any] = {"messages": messages, "stream": True, "temperature": 0,
                                   "max_tokens": self.settings.llm_max_tokens,
                                   "stream_options": {"include_usage": True}}
        return self._create_compatible(deadline, request)

    def _create_compatible(self, deadline: Deadline, request: dict[str, Any]) -> Any:
        """``_create``, retried once for each parameter an endpoint names as unsupported: ``stream_options``
        (older servers) is dropped, ``max_tokens`` becomes ``max_completion_tokens`` and ``temperature`` is
        dropped (OpenAI's reasoning models accept neither)."""
        request = dict(request)
        while True:
            try:
                return self._create(deadline, **request)
            except LLMError as exc:
                text = str(exc)
                if "stream_options" in request and "stream_options" in text:
                    request.pop("stream_options")
                elif "max_tokens" in request and "max_completion_tokens" in text:
                    request["max_completion_tokens"] = request.pop("max_tokens")
                elif "temperature" in request and "temperature" in text and "refused the request" in text:
                    request.pop("temperature")  # reasoning models take only their default temperature
                else:
                    raise

    def _history(self, history: Sequence[dict[str, str]]) -> list[dict[str, str]]:
        turns = [t for t in history if t.get("role") in ("user", "assistant")][-HISTORY_TURNS:]
        return [{"role": t["role"], "content": truncate_tokens(t["content"], HISTORY_TURN_TOKENS)} for t in turns]

    def messages(
        self, question: str, retrieved: Retrieved, history: Sequence[dict[str, str]]
    ) -> tuple[list[dict[str, str]], int]:
        """The chat messages for an answer and the number of sources they carry."""
        sources, n = pack_sources(retrieved.hits, self.settings.context_tokens)
        user = render(
            "answer",
            self.settings.prompts_dir,
            sources=sources,
            question=question,
            standalone_question=retrieved.query or question,
            abstention=ABSTENTION,
        )
        system = render("system", self.settings.prompts_dir, abstention=ABSTENTION)
        return [{"role": "system", "content": system}, *self._history(history), {"role": "user", "content": user}], n

    # --- Answerer protocol -------------------------------------------------------------------------

    def condense(self, question: str, history: Sequence[dict[str, str]]) -> str:
        """With history, the LLM rewrites the question as a standalone one (``prompts/condense.md``), under a
        deadline of its own (``RAG_LLM_TIMEOUT``)."""
        turns = self._history(history)
        if not turns:
            return question
        transcript = "\n".join(f"{t['role']}: {t['content']}" for t in turns)
        prompt = render("condense", self.settings.prompts_dir, history=transcript, question=question)
        deadline = Deadline(self.settings.llm_timeout)
        request = {"messages": [{"role": "user", "content": prompt}], "temperature": 0,
                   "max_tokens": CONDENSE_MAX_TOKENS}
        calls = within(deadline, lambda: [self._create_compatible(deadline, request)], self._expired)
        try:
            response = next(calls)
        finally:
            calls.close()
        try:
            text = str(response.choices[0].message.content or "").strip()
        except (AttributeError, IndexError, TypeError) as exc:
            raise to_llm_error(exc, self.settings) from None
        return standalone_line(text) or question

    def _expired(self) -> LLMError:
        return deadline_error(self.settings)

    def _deltas(self, messages: list[dict[str, str]], usage: list[Any], ends: list[str]) -> Generator[str, None, None]:
        """The text deltas of one streamed answer, within the answer's deadline (usage chunks go to ``usage``,
        finish reasons to ``ends``)."""
        deadline = Deadline(self.settings.llm_timeout)
        chunks = within(deadline, lambda: self._open_stream(messages, deadline), self._expired)
        try:
            for chunk in chunks:
                if getattr(chunk, "usage", None):
                    usage.append(chunk.usage)
                for choice in getattr(chunk, "choices", None) or ():
                    if getattr(choice, "finish_reason", None):
                        ends.append(str(choice.finish_reason))
                    delta = getattr(choice.delta, "content", None) if choice.delta is not None else None
                    if delta:
                        yield str(delta)
        except (LLMError, Cancelled):  # Cancelled: the client went away (rag.cancel)
            raise
        except Exception as exc:  # connection dropped, timeout, or garbage mid-stream
            raise to_llm_error(exc, self.settings) from None
        finally:
            chunks.close()

    def stream(
        self, question: str, retrieved: Retrieved, history: Sequence[dict[str, str]]
    ) -> Iterator[str | Answer]:
        """Text as it passes the checks (markers as the model wrote them), then the final ``Answer`` whose
        text has markers renumbered and checked. Raises ``WithheldAnswer`` when the checks reject it."""
        if retrieved.abstain or not retrieved.hits:
            yield ABSTENTION
            yield abstention(question, retrieved, self.name)
            return
        messages, n_sources = self.messages(question, retrieved, history)
        sources = [h.paper for h in retrieved.hits[:n_sources]]
        gate = SentenceGate(sources, self.embedder)
        cap = self.settings.llm_max_answer_chars
        started = time.perf_counter()
        parts: list[str] = []
        size = 0
        usage: list[Any] = []
        ends: list[str] = []
        deltas = self._deltas(messages, usage, ends)
        try:
            for delta in without_thinking(deltas):
                parts.append(delta)
                size += len(delta)
                if size > cap:
                    raise WithheldAnswer(f"it ran past {cap} characters (RAG_LLM_MAX_ANSWER_CHARS)")
                shown = gate.feed(delta)
                if shown:
                    yield shown
        finally:
            deltas.close()
        raw = "".join(parts)
        start = answer_start(raw)  # after a lone "</think>": what came before was the model's thinking
        gate.skip(start)
        body = raw[start:]
        text = body.strip()
        generated = time.perf_counter() - started
        cut = ends[-1:] == ["length"]
        text = whole_sentences(text) if cut else text
        if not text:
            raise LLMError(self._empty_reply(cut))
        used = self._usage(usage, messages, text)
        timings = {"generate": generated}
        if is_abstention(text):
            yield ABSTENTION
            yield Answer(question, ABSTENTION, (), True, self.name, retrieved.hits, usage=used, timings=timings)
            return
        t0 = time.perf_counter()
        checked = strict_check(check_answer(text, sources, self.embedder))
        timings["check"] = time.perf_counter() - t0
        reason = withhold_reason(text, checked)
        if reason:
            raise WithheldAnswer(reason)
        rest = gate.finish(start + len(body) - len(body.lstrip()) + len(text) if cut else None)
        if rest:
            yield rest
        kind = analyse(question).kind
        answer = checked_answer(question, checked, self.name, retrieved, timings, usage=used, kind=kind)
        yield dataclasses.replace(answer, error=self._cut_note()) if cut else answer

    def _usage(self, reported: list[Any], messages: list[dict[str, str]], text: str) -> Usage:
        """Tokens and cost: the server's own count when it sent one, else tiktoken's estimate."""
        if reported and getattr(reported[-1], "prompt_tokens", None) is not None:
            prompt_tokens, completion_tokens = int(reported[-1].prompt_tokens), int(reported[-1].completion_tokens or 0)
        else:
            prompt_tokens = sum(count_tokens(m["content"]) + 4 for m in messages) + 3
            completion_tokens = count_tokens(text)
        return Usage(prompt_tokens, completion_tokens, estimate_cost(self.settings.llm_model, prompt_tokens,
                                                                     completion_tokens))

    def _empty_reply(self, cut: bool) -> str:
        if cut:
            return f"{self._stopped()} before finishing a sentence; raise RAG_LLM_MAX_TOKENS"
        return (f"the LLM at {endpoint(self.settings)} returned an empty or malformed response; check "
                "RAG_LLM_MODEL and that OPENAI_BASE_URL is an OpenAI-compatible /v1 endpoint")

    def _cut_note(self) -> str:
        return (f"{self._stopped()}; its unfinished last sentence was left out. Raise RAG_LLM_MAX_TOKENS for "
                "longer answers")

    def _stopped(self) -> str:
        return f"the LLM stopped at RAG_LLM_MAX_TOKENS ({self.settings.llm_max_tokens} tokens)"
