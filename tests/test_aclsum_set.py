"""The outside eval set from ACLSum's test split (evals/aclsum_set.py): its key facts are verbatim stretches of
the labelled sentences, the committed files are valid against their own corpus, and a rerun rewrites them
byte for byte."""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import ROOT

from evals import aclsum_set
from evals.check_devset import check_items
from rag.evals.evalset import load_eval_set
from rag.index.corpus import load_papers
from rag.text import content_words

SET_DIR = ROOT / "evals" / "aclsum"


def test_a_key_phrase_is_the_stretch_sharing_most_words_with_the_summary() -> None:
    sentence = (
        "In this work, we investigate several enhancements to analogical learning and test our implementation "
        "on translating medical terms."
    )
    phrase = aclsum_set.key_phrase(sentence, "They improve analogy solvers and translate medical terms.")
    assert phrase is not None and phrase in sentence
    assert {"medic", "term", "translat"} <= content_words(phrase)
    assert 5 <= len(phrase.split()) <= 12
    assert not phrase.lower().startswith(("in ", "the ", "and ")) and not phrase.endswith((".", ","))
    assert aclsum_set.key_phrase("Too short to use.", "short") is None


def test_brackets_in_a_key_phrase_stay_balanced() -> None:
    sentence = "current Machine Translation ( MT ) systems do not yet propose anything proactive".replace("( ", "(")
    phrase = aclsum_set.key_phrase(sentence.replace(" )", ")"), "machine translation systems")
    assert phrase is not None and phrase.count("(") == phrase.count(")")


def test_the_committed_set_is_valid_against_its_own_corpus() -> None:
    items = load_eval_set(SET_DIR / "test.jsonl")
    papers = load_papers([SET_DIR / "corpus.jsonl"])
    problems, _warnings = check_items(items, papers, min_per_type=0)
    assert problems == []
    kinds = Counter(loaded.item.type for loaded in items)
    assert len(papers) == 100 and kinds["lookup"] >= 200 and kinds["unanswerable"] >= 30
    asked = {loaded.item.gold_titles[0] for loaded in items if loaded.item.gold_titles}
    assert asked == {p.title for p in papers}


def test_a_rerun_rewrites_the_committed_files_exactly(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("aclsum")
    assert aclsum_set.main(["--out", str(tmp_path)]) == 0
    for name in ("corpus.jsonl", "test.jsonl"):
        assert (tmp_path / name).read_bytes() == (SET_DIR / name).read_bytes()
    assert "100 papers" in capsys.readouterr().out
