"""The dev eval set: schema exactly as specified, size, and gold titles that exist verbatim."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from conftest import CORPUS, ROOT

from rag.index.corpus import load_papers

DEV = ROOT / "evals" / "dev.jsonl"
KEYS = {"id", "question", "type", "gold_titles", "answer", "key_facts", "history"}
TYPES = {"lookup", "paraphrase", "multi", "unanswerable", "followup"}


@pytest.fixture(scope="module")
def items() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def titles() -> set[str]:
    return {p.title for p in load_papers([CORPUS])}


def test_size_and_unique_ids(items: list[dict[str, Any]]) -> None:
    assert len(items) >= 80
    ids = [item["id"] for item in items]
    assert len(set(ids)) == len(ids)
    assert set(Counter(item["type"] for item in items)) == TYPES  # every type is represented


def test_schema(items: list[dict[str, Any]]) -> None:
    for item in items:
        where = item.get("id")
        assert set(item) == KEYS, where
        assert isinstance(item["id"], str) and item["id"], where
        assert isinstance(item["question"], str) and item["question"].strip(), where
        assert item["type"] in TYPES, where
        assert isinstance(item["gold_titles"], list) and all(isinstance(t, str) for t in item["gold_titles"]), where
        assert isinstance(item["answer"], str) and item["answer"].strip(), where
        assert isinstance(item["key_facts"], list) and all(isinstance(f, str) for f in item["key_facts"]), where
        history = item["history"]
        assert isinstance(history, list), where
        for turn in history:
            assert isinstance(turn, dict) and set(turn) == {"role", "content"}, where
            assert turn["role"] in ("user", "assistant") and isinstance(turn["content"], str), where
        if item["type"] == "followup":
            assert history and history[0]["role"] == "user", where
        else:
            assert history == [], where


def test_answers_and_gold_by_type(items: list[dict[str, Any]]) -> None:
    for item in items:
        where = item["id"]
        if item["type"] == "unanswerable":
            assert item["answer"] == "NOT_IN_CORPUS" and item["gold_titles"] == [], where
        else:
            assert item["answer"] != "NOT_IN_CORPUS" and item["gold_titles"], where
            assert item["key_facts"], where
        if item["type"] == "multi":
            assert len(item["gold_titles"]) >= 2, where


def test_gold_titles_exist_verbatim(items: list[dict[str, Any]], titles: set[str]) -> None:
    missing = [(item["id"], t) for item in items for t in item["gold_titles"] if t not in titles]
    assert not missing
