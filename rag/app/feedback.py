"""Thumbs up/down feedback from the chat UI, appended to ``<data_dir>/feedback.jsonl`` (one JSON object a line)."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from rag.types import Answer, Citation

Vote = Literal["up", "down"]
FEEDBACK_FILE = "feedback.jsonl"

_LOCK = threading.Lock()


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
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(dict(entry), ensure_ascii=False) + "\n"
    with _LOCK, path.open("a", encoding="utf-8") as handle:
        handle.write(line)


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
