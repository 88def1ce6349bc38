"""The LLM answerer: any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp), streamed.

The ``openai`` client is built once at the edge (``make_client``) and passed in. Sources are numbered
``[1]..[n]`` and packed into ``settings.context_tokens`` (tiktoken); 429/5xx/connection failures are
retried with exponential backoff (``settings.llm_max_retries``); every failure becomes an ``LLMError``
saying what to fix, and the pipeline then falls back to the extractive answer. The answer goes through
the same citation checker as the extractive one.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rag.answer.citations import check_answer
from rag.answer.extractive import ABSTENTION, abstention, checked_answer, is_abstention
from rag.answer.prompts import render
from rag.errors import LLMError
from rag.index.embeddings import Embedder
from rag.index.tokens import count_tokens, truncate_tokens
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
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_BACKOFF = 20.0
CONTEXT_TOO_LONG = ("context length", "context_length", "maximum context", "context window", "too many tokens",
                    "prompt is too long", "input is too long", "exceeds the context")


def estimate_cost(model: str, prompt_tokens: int, completion_tokens: int) -> float:
    """Estimated USD cost of a call (0 for a model not in ``PRICES``)."""
    name = model.lower().rsplit("/", 1)[-1]
    match = max((m for m in PRICES if name == m or name.startswith(m + "-")), key=len, default=None)
    if match is None:
        return 0.0
    prompt_price, completion_price = PRICES[match]
    return round((prompt_tokens * prompt_price + completion_tokens * completion_price) / 1_000_000, 8)


def make_client(settings: Settings) -> Any:
    """The ``openai`` client for the configured endpoint, or None when no LLM is configured.

    The client's own retries are off (``max_retries=0``): ``LLMAnswerer`` retries with backoff itself."""
    if not settings.llm_configured:
        return None
    from openai import OpenAI

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
    return OpenAI(api_key=key, base_url=settings.openai_base_url, timeout=settings.llm_timeout, max_retries=0)


def format_source(n: int, hit: Hit, abstract: str | None = None) -> str:
    """``[n] Title (listing date)`` then the abstract (or the given replacement text)."""
    date = f" ({hit.paper.listing_date})" if hit.paper.listing_date else ""
    body = abstract if abstract is not None else hit.paper.abstract
    return f"[{n}] {' '.join(hit.paper.title.split())}{date}\n{body}"


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


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(getattr(exc, "message", None) or exc)


def to_llm_error(exc: BaseException, settings: Settings, attempts: int = 1) -> LLMError:
    """An ``LLMError`` that says what failed and which setting to check."""
    import openai

    where = settings.openai_base_url or "the OpenAI API"
    detail = _message(exc)[:300]
    lower = detail.lower()
    status = _status(exc)
    tried = f" after {attempts} attempts" if attempts > 1 else ""
    if isinstance(exc, openai.APITimeoutError):
        return LLMError(f"the LLM at {where} did not answer within {settings.llm_timeout:g}s; "
                        "raise RAG_LLM_TIMEOUT or check the server")
    if isinstance(exc, openai.APIConnectionError):
        return LLMError(f"cannot reach the LLM server at {where}{tried} ({detail}); "
                        "check OPENAI_BASE_URL and that the server is running")
    if status in (401, 403):
        return LLMError(f"the LLM endpoint {where} rejected the API key ({status}: {detail}); check OPENAI_API_KEY")
    if status == 413 or any(s in lower for s in CONTEXT_TOO_LONG):
        return LLMError(f"the prompt is too long for model {settings.llm_model!r} ({detail}); "
                        "lower RAG_CONTEXT_TOKENS or the number of sources (k)")
    if status == 404 or (status == 400 and "model" in lower and any(
        s in lower for s in ("not found", "does not exist", "unknown", "invalid model", "not exist")
    )):
        return LLMError(f"model {settings.llm_model!r} is not available at {where} ({status}: {detail}); "
                        "set RAG_LLM_MODEL to a model the server serves (or check OPENAI_BASE_URL)")
    if status == 429:
        return LLMError(f"the LLM endpoint is rate-limiting requests (429){tried}: {detail}; "
                        "wait and retry, or raise RAG_LLM_MAX_RETRIES")
    if status is not None and status >= 500:
        return LLMError(f"the LLM server at {where} failed ({status}){tried}: {detail}; "
                        "retry later or check the server logs")
    if status is not None:
        return LLMError(f"the LLM endpoint refused the request ({status}: {detail}); check RAG_LLM_MODEL "
                        "and that OPENAI_BASE_URL is an OpenAI-compatible /v1 endpoint")
    return LLMError(f"the LLM at {where} sent a malformed response ({type(exc).__name__}: {detail}); "
                    "check that OPENAI_BASE_URL is an OpenAI-compatible /v1 endpoint")


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

    def _backoff(self, attempt: int, exc: BaseException) -> float:
        response = getattr(exc, "response", None)
        retry_after = None
        if response is not None:
            try:
                retry_after = float(response.headers.get("retry-after", ""))
            except (TypeError, ValueError):
                retry_after = None
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, MAX_BACKOFF)
        return min(0.5 * 2**attempt, MAX_BACKOFF) * (1 + 0.25 * random.random())

    def _create(self, **request: Any) -> Any:
        """``chat.completions.create`` with retries and backoff on 429/5xx/connection errors."""
        import openai

        attempts = self.settings.llm_max_retries + 1
        for attempt in range(attempts):
            try:
                return self.client.chat.completions.create(model=self.settings.llm_model, **request)
            except openai.APITimeoutError as exc:
                raise to_llm_error(exc, self.settings, attempt + 1) from exc
            except (openai.APIConnectionError, openai.APIStatusError) as exc:
                status = _status(exc)
                retryable = isinstance(exc, openai.APIConnectionError) or status in RETRY_STATUSES
                if not retryable or attempt + 1 >= attempts:
                    raise to_llm_error(exc, self.settings, attempt + 1) from exc
                self.sleep(self._backoff(attempt, exc))
            except Exception as exc:  # a body the client could not parse
                raise to_llm_error(exc, self.settings, attempt + 1) from exc
        raise LLMError("unreachable")  # pragma: no cover

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
            sources=sources,
            question=question,
            standalone_question=retrieved.query or question,
            abstention=ABSTENTION,
        )
        system = render("system", abstention=ABSTENTION)
        return [{"role": "system", "content": system}, *self._history(history), {"role": "user", "content": user}], n

    # --- Answerer protocol -------------------------------------------------------------------------

    def condense(self, question: str, history: Sequence[dict[str, str]]) -> str:
        """With history, the LLM rewrites the question as a standalone one (``prompts/condense.md``)."""
        turns = self._history(history)
        if not turns:
            return question
        transcript = "\n".join(f"{t['role']}: {t['content']}" for t in turns)
        prompt = render("condense", history=transcript, question=question)
        response = self._create(messages=[{"role": "user", "content": prompt}], temperature=0, max_tokens=200)
        try:
            text = str(response.choices[0].message.content or "").strip()
        except (AttributeError, IndexError, TypeError) as exc:
            raise to_llm_error(exc, self.settings) from exc
        text = text.splitlines()[0].strip() if text else ""
        text = re.sub(r"^(?:standalone question|rewritten question)\s*:\s*", "", text, flags=re.IGNORECASE)
        text = text.strip().strip('"“”').strip()
        return text or question

    def stream(
        self, question: str, retrieved: Retrieved, history: Sequence[dict[str, str]]
    ) -> Iterator[str | Answer]:
        """Text deltas as the model writes them (markers as the model wrote them), then the final
        ``Answer`` whose text has markers renumbered and checked."""
        if retrieved.abstain or not retrieved.hits:
            yield ABSTENTION
            yield abstention(question, retrieved, self.name)
            return
        messages, n_sources = self.messages(question, retrieved, history)
        started = time.perf_counter()
        try:
            stream = self._create(
                messages=messages, stream=True, temperature=0, stream_options={"include_usage": True}
            )
        except LLMError as exc:  # some servers reject stream_options: retry once without it
            if "stream_options" not in str(exc):
                raise
            stream = self._create(messages=messages, stream=True, temperature=0)
        parts: list[str] = []
        usage: Any = None
        try:
            for chunk in stream:
                if getattr(chunk, "usage", None):
                    usage = chunk.usage
                for choice in getattr(chunk, "choices", None) or ():
                    delta = getattr(choice.delta, "content", None) if choice.delta is not None else None
                    if delta:
                        parts.append(delta)
                        yield delta
        except LLMError:
            raise
        except Exception as exc:  # connection dropped, timeout, or garbage mid-stream
            raise to_llm_error(exc, self.settings) from exc
        text = "".join(parts).strip()
        generated = time.perf_counter() - started
        if not text:
            raise LLMError(
                f"the LLM at {self.settings.openai_base_url or 'the OpenAI API'} returned an empty or malformed "
                "response; check RAG_LLM_MODEL and that OPENAI_BASE_URL is an OpenAI-compatible /v1 endpoint"
            )
        if usage is not None and getattr(usage, "prompt_tokens", None) is not None:
            prompt_tokens, completion_tokens = int(usage.prompt_tokens), int(usage.completion_tokens or 0)
        else:
            prompt_tokens = sum(count_tokens(m["content"]) + 4 for m in messages) + 3
            completion_tokens = count_tokens(text)
        cost = estimate_cost(self.settings.llm_model, prompt_tokens, completion_tokens)
        used = Usage(prompt_tokens, completion_tokens, cost)
        timings = {"generate": generated}
        if is_abstention(text):
            yield Answer(question, ABSTENTION, (), True, self.name, retrieved.hits, usage=used, timings=timings)
            return
        t0 = time.perf_counter()
        checked = check_answer(text, [h.paper for h in retrieved.hits[:n_sources]], self.embedder)
        timings["check"] = time.perf_counter() - t0
        yield checked_answer(question, checked, self.name, retrieved, timings, usage=used)
