"""The distractor measurement (``evals.distractors``): its distractor corpora and its table; the index and eval
runs it drives are ``rag ingest`` and ``rag eval``, tested on their own."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from evals import distractors
from rag.index.corpus import load_papers
from rag.settings import BUNDLED_CORPUS


def test_real_distractors_are_the_250_aclsum_papers_and_none_is_bundled() -> None:
    rows = distractors.real_rows()
    titles = {r["title"] for r in rows}
    assert len(rows) == 250 and len(titles) == 250
    assert all(len(r["abstract"].split()) >= 30 for r in rows)
    assert not titles & {p.title for p in load_papers([BUNDLED_CORPUS])}


def test_table_gives_each_set_its_change() -> None:
    base = {"dev_val": {"hit@1": 0.98, "abstention_accuracy": 0.976}}
    mixed = {"dev_val": {"hit@1": 0.95, "abstention_accuracy": 0.976}}
    lines = distractors.table(base, mixed, "250 real")
    assert lines[0].startswith("| set | hit@1: bundled -> 250 real")
    assert lines[2] == "| `dev_val` | 0.980 -> 0.950 (-0.030) | 0.976 -> 0.976 (+0.000) |"


def test_no_distractors_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "argv", ["distractors", "--work", str(tmp_path)])
    with pytest.raises(SystemExit) as exc:
        distractors.main()
    assert exc.value.code == 2
