"""The LLM answerer: any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp), streamed.

The ``openai`` client is built once at the edge (``make_llm_client``) and passed in. Sources are numbered
``[1]..[n]``, fenced as data (``guards.fence_source``) and packed into ``settings.context_tokens``
(tiktoken; ``rag.answer.messages``). Every answer request sends ``max_tokens`` and runs under one deadline
(``RAG_LLM_TIMEOUT``) covering connect, retries, the first token and the whole stream; 429/5xx/connection
failures are retried with backoff inside it (``rag.answer.calls``). Every failure becomes an ``LLMError`` saying
what to fix, with keys redacted, and the pipeline then falls back to the extractive answer. The text is shown
sentence by sentence only as it passes the checks (``guards.SentenceGate``), and an answer the checks reject
(``guards.withhold_reason``) or one past ``RAG_LLM_MAX_ANSWER_CHARS`` is withheld (``WithheldAnswer``): the user
gets the extractive answer with a notice naming why. Tokens and cost: ``rag.answer.usage``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

from rag.answer.base import ABSTENTION, abstention, checked_answer, is_abstention
from rag.answer.calls import ChatCalls
from rag.answer.citations import Checked, check_answer
from rag.answer.compose.analysis import analyse
from rag.answer.guards import SentenceGate, WithheldAnswer, strict_check, withhold_reason
from rag.answer.messages import answer_messages, condense_prompt, format_source, pack_sources, recent_turns
from rag.answer.replies import answer_start, standalone_line, whole_sentences, without_thinking
from rag.answer.transport import endpoint, make_llm_client, to_llm_error
from rag.answer.usage import answer_usage, estimate_cost
from rag.errors import LLMError
from rag.index.embeddings import Embedder
from rag.settings import Settings
from rag.types import Answer, Paper, Retrieved

CONDENSE_MAX_TOKENS = 200
__all__ = ["LLMAnswerer", "estimate_cost", "format_source", "make_llm_client", "pack_sources", "to_llm_error"]


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
        self.embedder = embedder
        self.name = f"llm:{settings.llm_model}"
        self.calls = ChatCalls(settings, client, sleep)
        """The endpoint's calls: retries, refused parameters, the streamed deltas (``rag.answer.calls``)."""

    def messages(
        self, question: str, retrieved: Retrieved, history: Sequence[dict[str, str]]
    ) -> tuple[list[dict[str, str]], int]:
        """The chat messages for an answer and the number of sources they carry (``rag.answer.messages``)."""
        return answer_messages(self.settings, question, retrieved, history)

    # --- Answerer protocol -------------------------------------------------------------------------

    def condense(self, question: str, history: Sequence[dict[str, str]]) -> str:
        """With history, the LLM rewrites the question as a standalone one (``prompts/condense.md``), under a
        deadline of its own (``RAG_LLM_TIMEOUT``)."""
        turns = recent_turns(history)
        if not turns:
            return question
        prompt = condense_prompt(self.settings, question, turns)
        request = {"messages": [{"role": "user", "content": prompt}], "temperature": 0,
                   "max_tokens": CONDENSE_MAX_TOKENS}
        response = self.calls.complete(request)
        try:
            text = str(response.choices[0].message.content or "").strip()
        except (AttributeError, IndexError, TypeError) as exc:
            raise to_llm_error(exc, self.settings) from None
        return standalone_line(text) or question

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
        started = time.perf_counter()
        parts: list[str] = []
        usage: list[Any] = []
        ends: list[str] = []
        yield from self._shown(self.calls.deltas(messages, usage, ends), gate, parts)
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
        used = answer_usage(self.settings.llm_model, usage, messages, text)
        timings = {"generate": generated}
        if is_abstention(text):
            yield ABSTENTION
            yield Answer(question, ABSTENTION, (), True, self.name, retrieved.hits, usage=used, timings=timings)
            return
        checked = self._check(text, sources, timings)
        rest = gate.finish(start + len(body) - len(body.lstrip()) + len(text) if cut else None)
        if rest:
            yield rest
        kind = analyse(question).kind
        answer = checked_answer(question, checked, self.name, retrieved, timings, usage=used, kind=kind)
        yield dataclasses.replace(answer, error=self._cut_note()) if cut else answer

    def _check(self, text: str, sources: Sequence[Paper], timings: dict[str, float]) -> Checked:
        """The reply checked against its sources, strictly (``guards.strict_check``; seconds in ``timings``).
        Raises ``WithheldAnswer`` when the guards reject it (``guards.withhold_reason``)."""
        t0 = time.perf_counter()
        checked = strict_check(check_answer(text, sources, self.embedder))
        timings["check"] = time.perf_counter() - t0
        reason = withhold_reason(text, checked)
        if reason:
            raise WithheldAnswer(reason)
        return checked

    def _shown(self, deltas: Generator[str, None, None], gate: SentenceGate, parts: list[str]) -> Iterator[str]:
        """The text of ``deltas`` as it passes ``gate`` (a leading thinking block left out), every delta kept in
        ``parts``; ``WithheldAnswer`` once the reply runs past ``RAG_LLM_MAX_ANSWER_CHARS``."""
        cap = self.settings.llm_max_answer_chars
        size = 0
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
