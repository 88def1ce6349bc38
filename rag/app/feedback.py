"""Thumbs up/down feedback from the chat UI, appended to ``<data_dir>/feedback.jsonl`` (one JSON object a line).

``FeedbackLog`` is what the UI writes through, and it cannot be flooded: a vote is kept once per answer and
session (a changed vote once more: ``VOTES_PER_ANSWER``), each session may vote ``SESSION_VOTES_PER_MINUTE``
times a minute and the whole server ``SERVER_VOTES_PER_MINUTE``, an entry is at most ``MAX_LINE_BYTES`` (long
texts are cut) and the file stops growing at ``RAG_FEEDBACK_MAX_BYTES``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from rag.types import Answer, Citation

Vote = Literal["up", "down"]
FEEDBACK_FILE = "feedback.jsonl"

_LOCK = threading.Lock()
VOTES_PER_ANSWER = 2
SESSION_VOTES_PER_MINUTE = 10
SERVER_VOTES_PER_MINUTE = 120
MAX_LINE_BYTES = 32_000
MAX_TEXT_CHARS = 6_000
MAX_CITATIONS = 20
_REMEMBERED = 50_000
"""Answers (and sessions) whose votes are remembered for dedup and rate limits; the oldest are forgotten."""


def feedback_path(data_dir: Path) -> Path:
    return Path(data_dir) / FEEDBACK_FILE


def citation_record(citation: Citation) -> dict[str, Any]:
    """What the feedback log keeps of a citation: enough to find the paper and judge the quote."""
    return {
        "marker": citation.marker,
        "paper_id": citation.paper.id,
        "title": citation.paper.title,
        "quote": citation.quote,
        "sentence_indices": list(citation.sentence_indices),
        "verdict": citation.verdict,
        "support": round(float(citation.support), 4),
    }


def answer_record(answer: Answer) -> dict[str, Any]:
    """The JSON-safe part of an answer the feedback log needs (kept in the UI state until a vote)."""
    return {
        "id": uuid.uuid4().hex,
        "question": answer.question,
        "answer": answer.text,
        "answerer": answer.answerer,
        "abstained": answer.abstained,
        "citations": [citation_record(c) for c in answer.citations],
    }


def make_entry(
    question: str,
    answer: str,
    citations: Sequence[Mapping[str, Any]],
    vote: Vote,
    *,
    answerer: str | None = None,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    if vote not in ("up", "down"):
        raise ValueError(f"vote must be 'up' or 'down', not {vote!r}")
    when = (timestamp or datetime.now(UTC)).astimezone(UTC)
    entry: dict[str, Any] = {
        "timestamp": when.isoformat(timespec="seconds"),
        "vote": vote,
        "question": question,
        "answer": answer,
        "citations": [dict(c) for c in citations],
    }
    if answerer is not None:
        entry["answerer"] = answerer
    return entry


def append_feedback(path: Path, entry: Mapping[str, Any]) -> None:
    """Append one JSON line (thread-safe within the process; one ``write`` call per line)."""
    append_line(path, json.dumps(dict(entry), ensure_ascii=False) + "\n")


def append_line(path: Path, line: str) -> None:
    """Append ``line`` in one ``write``, first ending a last line that a crash left without its newline (so the
    new line stays a JSON line of its own)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _LOCK, path.open("a+b") as handle:
        end = handle.seek(0, 2)
        cut = end > 0 and handle.seek(end - 1) >= 0 and handle.read(1) != b"\n"
        handle.write((b"\n" if cut else b"") + line.encode("utf-8", "backslashreplace"))


def record_feedback(
    data_dir: Path,
    question: str,
    answer: str,
    citations: Sequence[Mapping[str, Any]],
    vote: Vote,
    *,
    answerer: str | None = None,
    timestamp: datetime | None = None,
) -> dict[str, Any]:
    """Build the entry, append it to ``data_dir/feedback.jsonl`` and return it."""
    entry = make_entry(question, answer, citations, vote, answerer=answerer, timestamp=timestamp)
    append_feedback(feedback_path(data_dir), entry)
    return entry


def _bounded(entry: dict[str, Any]) -> str:
    """The entry's JSON line, its texts cut so that it stays under ``MAX_LINE_BYTES``."""
    entry = {**entry, "question": str(entry["question"])[:MAX_TEXT_CHARS],
             "answer": str(entry["answer"])[:MAX_TEXT_CHARS]}
    cited = [dict(c) for c in list(entry["citations"])[:MAX_CITATIONS]]
    for c in cited:
        c["quote"], c["title"] = str(c.get("quote", ""))[:1000], str(c.get("title", ""))[:500]
    line = json.dumps({**entry, "citations": cited}, ensure_ascii=False)
    if len(line.encode("utf-8", "backslashreplace")) > MAX_LINE_BYTES:
        line = json.dumps({**entry, "answer": entry["answer"][:1000], "citations": cited[:5]}, ensure_ascii=False)
    return line + "\n"


class FeedbackLog:
    """The feedback file behind the UI, deduplicated, rate-limited and size-capped (see the module docstring).
    Thread-safe; ``clock`` is injectable for tests."""

    def __init__(self, data_dir: Path, max_bytes: int, clock: Any = time.monotonic) -> None:
        self.path, self.max_bytes, self.clock = feedback_path(data_dir), max_bytes, clock
        self._votes: OrderedDict[str, list[Vote]] = OrderedDict()
        self._sessions: OrderedDict[str, deque[float]] = OrderedDict()
        self._server: deque[float] = deque()
        self._lock = threading.Lock()

    def vote(self, session: str, record: Mapping[str, Any], vote: Vote) -> str:
        """Record a vote on an answer (its ``answer_record``) and say what happened, in one line."""
        key = f"{session}:{record.get('id', '')}"
        line = _bounded(make_entry(str(record["question"]), str(record["answer"]), record["citations"], vote,
                                   answerer=str(record.get("answerer"))))
        with self._lock:
            refusal = self._refusal(key, session, vote, len(line.encode("utf-8", "backslashreplace")))
            if refusal:
                return refusal
            try:
                append_line(self.path, line)
            except OSError as exc:
                return f"Your vote could not be saved: the server cannot write {FEEDBACK_FILE} ({type(exc).__name__})."
            self._votes.setdefault(key, []).append(vote)
            self._votes.move_to_end(key)
            if len(self._votes) > _REMEMBERED:
                self._votes.popitem(last=False)
        thumb = "thumbs-up" if vote == "up" else "thumbs-down"
        return f"Thanks! Your {thumb} was saved to {FEEDBACK_FILE}."

    def _refusal(self, key: str, session: str, vote: Vote, size: int) -> str | None:
        """Why a vote is not written (None: write it), counting it against the rate limits if it is."""
        votes = self._votes.get(key, [])
        if votes and votes[-1] == vote:
            return "Your vote on this answer is already saved."
        if len(votes) >= VOTES_PER_ANSWER:
            return "Your vote on this answer was already changed once; it is kept as it is."
        now = self.clock()
        recent = self._sessions.setdefault(session, deque())
        self._sessions.move_to_end(session)
        if len(self._sessions) > _REMEMBERED:
            self._sessions.popitem(last=False)
        for stamps in (recent, self._server):
            while stamps and now - stamps[0] > 60:
                stamps.popleft()
        if len(recent) >= SESSION_VOTES_PER_MINUTE or len(self._server) >= SERVER_VOTES_PER_MINUTE:
            return "Too many votes right now; please wait a minute and vote again."
        used = self.path.stat().st_size if self.path.exists() else 0
        if used + size > self.max_bytes:
            return "The feedback log is full, so this vote was not saved (the operator can raise " \
                   "RAG_FEEDBACK_MAX_BYTES)."
        recent.append(now)
        self._server.append(now)
        return None
