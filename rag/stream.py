"""``AnswerStream``: an answer as it is produced (text chunks, then the final ``Answer``), for ``rag.stream``."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from rag.cancel import cancel_on
from rag.errors import RagError
from rag.types import Answer


class AnswerStream:
    """An answer as it is produced: iterate for its text chunks, then read ``.answer``.

    Modelled on simonw/llm's ``Response``::

        stream = rag.stream("What does MaxSup penalize?")
        for chunk in stream:          # text deltas as the answerer writes them
            print(chunk, end="", flush=True)
        answer = stream.answer        # the final, citation-checked Answer

    - The work runs once, lazily, as the stream is consumed. Iterating again (or from several threads) replays
      the chunks already produced and continues where the stream is; nothing runs twice.
    - ``.answer`` (or ``.text()``) before or halfway through an iteration consumes the rest of the stream first.
    - The chunks are what was streamed (an LLM's markers as it wrote them, a fallback notice); ``answer.text``
      is the authoritative text, with markers renumbered and checked.
    - An error raised while producing the answer is raised to whoever is consuming the stream, and again by
      every later iteration, ``.answer`` or ``.text()``.
    - ``close()`` stops an unfinished stream (e.g. the client went away) and releases the LLM connection.

    It lives here, with the values, because it crosses stages: the pipeline returns it; the UI, the CLI,
    the evals and the HTTP API consume it.
    """

    __slots__ = ("_answer", "_chunks", "_error", "_lock", "_source", "_stop")

    def __init__(self, source: Iterator[str | Answer]) -> None:
        """``source`` follows the answerer protocol: text chunks, then exactly one ``Answer``, last."""
        self._source: Iterator[str | Answer] | None = source
        self._chunks: list[str] = []
        self._answer: Answer | None = None
        self._error: Exception | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        """Set by ``close()``: a step blocked on the LLM in another thread stops at its next wait (``rag.cancel``)."""

    @classmethod
    def of(cls, answer: Answer) -> AnswerStream:
        """A finished stream of an answer given whole (its text as the single chunk)."""
        return cls(iter((answer.text, answer)))

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called (from any thread)."""
        return self._stop.is_set()

    @property
    def done(self) -> bool:
        """True once the final answer is there (or the stream failed or was closed)."""
        return self._source is None

    def _pull(self, position: int) -> bool:
        """Make chunk ``position`` available, producing more if needed; False when the stream has ended."""
        with self._lock:
            while position >= len(self._chunks) and self._source is not None:
                try:
                    with cancel_on(self._stop):
                        item = next(self._source)
                except StopIteration:
                    self._finish(None)
                    if self._answer is None:
                        self._error = RagError(
                            "the answerer ended its stream without an Answer; Answerer.stream must yield the "
                            "final Answer last"
                        )
                except Exception as exc:
                    self._finish(exc)
                except BaseException:  # Ctrl-C mid-answer: the stream is over, and says so if read again
                    self._finish(RagError("the answer stream was interrupted; ask again"))
                    raise
                else:
                    if isinstance(item, Answer):
                        self._answer = item
                        self._finish(None)
                    elif item:
                        self._chunks.append(item)
            if position < len(self._chunks):
                return True
        if self._error is not None:
            raise self._error
        return False

    def _finish(self, error: Exception | None) -> None:
        source, self._source = self._source, None
        self._error = error
        close = getattr(source, "close", None)
        if close is not None:
            close()

    def __iter__(self) -> Iterator[str]:
        position = 0
        while self._pull(position):
            yield self._chunks[position]
            position += 1

    @property
    def answer(self) -> Answer:
        """The final ``Answer`` (consumes the rest of the stream first)."""
        for _ in self:
            pass
        assert self._answer is not None
        return self._answer

    def text(self) -> str:
        """Every streamed chunk joined (consumes the stream). For the checked text, use ``answer.text``."""
        for _ in self:
            pass
        return "".join(self._chunks)

    def close(self) -> None:
        """Stop an unfinished stream; later reads of ``.answer`` raise a ``RagError`` (a finished one is kept).
        From another thread too: a step waiting for the LLM there stops within a fraction of a second (it had
        blocked ``close()`` until the model's next sentence, and the LLM request ran on)."""
        self._stop.set()
        with self._lock:
            if self._source is not None:
                self._finish(RagError("the answer stream was closed before it finished; ask the question again"))

    def __enter__(self) -> AnswerStream:
        return self

    def __exit__(self, *exc: object) -> None:
        """``with rag.stream(q) as s:`` closes it on leaving, so breaking out early frees the LLM at once."""
        self.close()

    def __repr__(self) -> str:
        state = "done" if self.done else "streaming"
        return f"<AnswerStream {state}, {len(self._chunks)} chunks>"
