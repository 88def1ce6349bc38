"""``evals/extractive_ceiling.py``: the best a verbatim answer can do on the key-fact metrics, given the gold
abstracts."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

from evals import extractive_ceiling

FILLER = " ".join(f"word{i}" for i in range(45)) + "."
ABSTRACT = f"We study sparse models. {FILLER} Our method reduces labeling cost by 42% on ImageNet."


def test_a_fact_late_in_the_abstract_can_still_lead() -> None:
    row = extractive_ceiling.item_ceiling(["reduces labeling cost by 42%"], [ABSTRACT])
    assert row == {"kfr_all": 1.0, "kfr_80": 1.0, "first40_sentence": 1.0, "first40_window": 1.0}


def test_a_fact_split_over_a_long_sentence_leads_only_from_a_window() -> None:
    long = "We propose conformal candidate sets, " + " ".join(f"w{i}" for i in range(50)) + ", saving 42% of cost."
    row = extractive_ceiling.item_ceiling(["saving 42% of cost"], [long])
    assert row["first40_sentence"] == 0.0  # the sentence's first 40 words stop before the fact
    assert row["first40_window"] == 1.0
    assert row["kfr_80"] == 1.0 and row["kfr_all"] == 1.0


def test_the_word_budget_limits_the_greedy_answer() -> None:
    facts = ["reduces labeling cost by 42%", "word1 word2 word3"]
    row = extractive_ceiling.item_ceiling(facts, [ABSTRACT])
    assert row["kfr_all"] == 1.0
    assert row["kfr_80"] == pytest.approx(1.0)  # 10 + 46 words fit in 80
    assert extractive_ceiling._best_within(facts, [ABSTRACT.split(". ")[1], "Our method reduces labeling cost by 42%"],
                                           budget=20) == 0.5


def test_a_fact_no_abstract_holds_is_out_of_reach() -> None:
    assert extractive_ceiling.item_ceiling(["uses 8 H100 GPUs"], [ABSTRACT])["kfr_all"] == 0.0


def test_the_script_prints_aggregates_of_a_set(capsys: pytest.CaptureFixture[str]) -> None:
    extractive_ceiling.main([str(ROOT / "evals" / "dev_val.jsonl"), "--json"])
    rows = json.loads(capsys.readouterr().out)[str(ROOT / "evals" / "dev_val.jsonl")]
    assert rows["all"]["items"] >= 90
    assert set(rows) >= {"all", "lookup", "multi"}
    assert all(0.0 <= rows["all"][c] <= 1.0 for c in extractive_ceiling.COLUMNS[1:])
