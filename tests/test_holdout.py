"""The held-out set ``evals/holdout.jsonl`` (valid against the corpus by the dev sets' checker, ids by style,
no question shared with a dev set) and ``evals/holdout_report.py``, which breaks a ``rag eval`` report down by
id prefix."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from evals import check_devset, holdout_report
from rag.evals.evalset import load_eval_set
from rag.index.corpus import load_papers
from rag.settings import BUNDLED_CORPUS

EVALS = ROOT / "evals"
HOLDOUT = EVALS / "holdout.jsonl"
STYLES = {"kw": "lookup", "typo": "lookup", "reword": "paraphrase", "look": "lookup", "comp": "multi",
          "chat": "followup", "miss": "unanswerable"}  # fmt: skip


def test_holdout_passes_the_dev_set_checks() -> None:
    items = load_eval_set(HOLDOUT)
    problems, _ = check_devset.check_items(items, load_papers([BUNDLED_CORPUS]), min_per_type=0)
    assert problems == []
    assert len(items) >= 200


def test_holdout_ids_name_their_style_and_type() -> None:
    items = [loaded.item for loaded in load_eval_set(HOLDOUT)]
    counts = Counter(holdout_report.prefix(item.id) for item in items)
    assert set(counts) == set(STYLES)
    assert all(counts[style] >= 25 for style in STYLES)
    assert all(item.type == STYLES[holdout_report.prefix(item.id)] for item in items)
    subs = Counter(holdout_report.subprefix(item.id) for item in items if item.type == "unanswerable")
    assert subs == {"miss-near": 15, "miss-topic": 15}


def test_holdout_shares_no_question_with_the_dev_sets() -> None:
    def norm(text: str) -> str:
        return " ".join(text.lower().split())

    dev = {
        norm(li.item.question)
        for name in ("dev", "dev_fit", "dev_val")
        for li in load_eval_set(EVALS / f"{name}.jsonl")
    }
    assert not [li.item.id for li in load_eval_set(HOLDOUT) if norm(li.item.question) in dev]


def _item(item_id: str, answerable: bool, abstained: bool, answer: str, **metrics: float) -> dict[str, Any]:
    return {"id": item_id, "answerable": answerable, "abstained": abstained, "answer": answer, "metrics": metrics}


REPORT = {
    "meta": {"sets": []},
    "items": [
        _item(
            "kw-01",
            True,
            False,
            "It reduces labeling cost by 42% [1].",
            **{"hit@1": 1.0, "recall@10": 1.0, "key_fact_recall": 1.0, "key_fact_first40": 1.0},
        ),
        _item("kw-02", True, True, "", **{"hit@1": 0.0, "recall@10": 1.0, "key_fact_recall": 0.0}),
        _item("miss-near-01", False, False, "The abstract does not state its parameter count [1].",
              refused_or_not_stated=1.0),
        _item("miss-near-02", False, False, "It has many parameters [1].", refused_or_not_stated=0.0),
        _item("miss-topic-01", False, True, "", refused_or_not_stated=1.0),
    ],
}


def test_breakdown_groups_by_prefix_and_sub_prefix() -> None:
    rows = holdout_report.breakdown(REPORT)
    assert list(rows) == ["all", "kw", "miss", "miss-near", "miss-topic"]
    assert rows["all"]["items"] == 5
    assert rows["kw"]["hit@1"] == pytest.approx(0.5)
    assert rows["kw"]["over_abstention_rate"] == pytest.approx(0.5)
    assert rows["kw"]["false_answer_rate"] is None
    assert rows["kw"]["first40_key_fact"] == pytest.approx(1.0)  # over answered items only
    assert rows["miss"]["false_answer_rate"] == pytest.approx(2 / 3)
    assert rows["miss"]["not_stated_or_refused"] == pytest.approx(2 / 3)
    assert rows["miss-near"]["false_answer_rate"] == pytest.approx(1.0)
    assert rows["miss-near"]["not_stated_or_refused"] == pytest.approx(0.5)
    assert rows["miss-topic"]["abstention_accuracy"] == pytest.approx(1.0)
    assert rows["all"]["words_p50"] == 6  # answered items: 6, 8 and 4 words once markers are removed


def test_the_figures_are_the_items_own_scores_wherever_it_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report's per-item scores are the eval's own (``rag.evals.scoring``): the breakdown needs neither
    the eval set nor the folder it was run from."""
    report = {"meta": {"sets": ["evals/no-such-set.jsonl"]}, "items": [
        _item("look-01", True, False, "x", **{"hit@1": 1.0, "key_fact_first40": 0.0}),
        _item("look-02", True, False, "y", **{"hit@1": 1.0, "key_fact_first40": 1.0}),
    ]}  # fmt: skip
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert holdout_report.main([str(path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows["look"]["first40_key_fact"] == 0.5
    assert holdout_report.main([str(path)]) == 0
    assert capsys.readouterr().out.startswith("| group | items | hit@1")


@pytest.mark.parametrize("content", ["not json", "{}", '{"items": []}'])
def test_main_refuses_a_bad_report_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    path = tmp_path / "report.json"
    path.write_text(content, encoding="utf-8")
    assert holdout_report.main([str(path)]) == 2
    out = capsys.readouterr().out
    assert out.startswith("error: ") and out.count("\n") == 1 and "rag eval" in out


def test_main_refuses_a_missing_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert holdout_report.main([str(tmp_path / "nope.json")]) == 2
    assert "not a readable" in capsys.readouterr().out
