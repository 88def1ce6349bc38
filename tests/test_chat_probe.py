"""The three-turn chat probe (``evals.chat_probe``): which first turns it plays, and what it counts."""

from __future__ import annotations

import json
from pathlib import Path

from evals.chat_probe import first_questions, probe, report


def test_first_turns_are_single_turn_answerable_lookups(tmp_path: Path) -> None:
    rows = [
        {"question": "a", "type": "lookup", "gold_titles": ["T"], "history": []},
        {"question": "b", "type": "followup", "gold_titles": ["T"], "history": [{"role": "user", "content": "x"}]},
        {"question": "c", "type": "unanswerable", "gold_titles": [], "history": []},
        {"question": "d", "type": "paraphrase", "gold_titles": ["T"]},
        {"question": "e", "type": "lookup", "gold_titles": ["U"], "history": []},
    ]
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert first_questions(path, 2) == ["a", "d"]


def test_the_probe_counts_the_paper_kept_and_what_is_not_stated(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    tally = probe(real_pipeline, ["What is TabPFN?"], "does it handle missing values?", ["what license is it under?"])
    assert tally == {"what license is it under?": [1, 1, 1, 0]}
    assert "| what license is it under? | 1 | 1 | 1 | 0 |" in report(tally)
