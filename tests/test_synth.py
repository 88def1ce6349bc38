"""Synthetic training questions (evals/synth.py) and leave-one-out unanswerables (evals/loo.py), on the
bundled corpus; no model is loaded."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evals import loo, synth
from evals.synth_rewrite import Writer
from evals.synth_text import Text
from rag.evals.evalset import EvalItem
from rag.index.corpus import load_papers, paper_id
from rag.retrieve.base import Candidate
from rag.settings import BUNDLED_CORPUS
from rag.text import numbers_in
from rag.types import Hit, Paper

SIZES = {kind: 40 for kind in synth.KINDS}
EVAL_FIELDS = set(EvalItem.model_fields)
PRONOUN = re.compile(r"\b(?:it|its|they|their|them|that work)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def papers() -> list[Paper]:
    return load_papers([BUNDLED_CORPUS])


@pytest.fixture(scope="module")
def text(papers: list[Paper]) -> Text:
    return Text(papers)


@pytest.fixture(scope="module")
def records(papers: list[Paper]) -> list[dict[str, Any]]:
    return synth.generate(papers, seed=0, sizes=SIZES)


@pytest.fixture(scope="module")
def by_id(papers: list[Paper]) -> dict[str, Paper]:
    return {p.id: p for p in papers}


def of_kind(records: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in records if r["kind"] == kind]


def verbatim(phrase: str, paper: Paper) -> bool:
    """The phrase as whole words in the title or abstract, case-insensitive, words one space apart."""
    words = r"\s+".join(map(re.escape, phrase.split()))
    return re.search(rf"(?<![\w-]){words}(?![\w-])", f"{paper.title}\n{paper.abstract}", re.IGNORECASE) is not None


def test_same_seed_same_output_other_seed_other_output(
    papers: list[Paper], text: Text, records: list[dict[str, Any]]
) -> None:
    again = synth.generate(papers, seed=0, sizes=SIZES)  # from scratch: nothing carried over between runs
    assert json.dumps(again) == json.dumps(records)
    other = synth.generate(papers, seed=1, sizes=SIZES, text=text)
    assert {r["question"] for r in other} != {r["question"] for r in records}


def test_every_kind_is_produced_and_counted(records: list[dict[str, Any]]) -> None:
    counts = synth.counts(records)
    assert set(counts) == {*synth.KINDS, "loo"}
    for kind in synth.KINDS:
        assert counts[kind] >= 20, kind  # 40 asked for; a few are dropped as duplicates or by filters
    assert counts["loo"] == sum(counts[k] for k in synth.KINDS)


def test_records_follow_the_eval_set_schema(records: list[dict[str, Any]], by_id: dict[str, Paper]) -> None:
    assert len({r["id"] for r in records}) == len(records)
    for r in records:
        item = EvalItem.model_validate({k: v for k, v in r.items() if k in EVAL_FIELDS})
        assert item.type == ("unanswerable" if r["kind"] == "loo" else synth.KIND_TYPES[r["kind"]])
        assert r["question"].strip() and "  " not in r["question"], r["id"]
        for pid, title in zip(r["gold_ids"], r["gold_titles"], strict=True):
            assert pid in by_id and by_id[pid].title == title and paper_id(title) == pid, r["id"]


def test_numeric_key_facts_are_in_the_gold_abstract(records: list[dict[str, Any]], by_id: dict[str, Paper]) -> None:
    numeric = of_kind(records, "numeric")
    assert numeric
    for r in numeric:
        (gold,) = r["gold_ids"]
        abstract = by_id[gold].abstract
        (fact,) = r["key_facts"]
        assert fact in abstract, r["id"]
        assert numbers_in(fact) and numbers_in(fact) <= numbers_in(abstract), r["id"]
        assert r["answer"] in abstract and fact in r["answer"]


def test_multi_paper_gold_sets_are_complete(records: list[dict[str, Any]], papers: list[Paper]) -> None:
    multi = of_kind(records, "multi")
    assert multi
    for r in multi:
        (term,) = r["key_facts"]
        gold = set(r["gold_ids"])
        assert 2 <= len(gold) <= 6, r["id"]
        assert term.lower() in r["question"].lower()
        for paper in papers:
            if paper.id not in gold:  # no other paper writes the term at all
                assert not verbatim(term, paper), (r["id"], term, paper.title)
        # and the term (as written somewhere) is in at least one gold paper verbatim
        assert any(verbatim(term, p) for p in papers if p.id in gold), (r["id"], term)


def test_keyphrase_questions_name_phrases_only_their_paper_has(
    records: list[dict[str, Any]], papers: list[Paper]
) -> None:
    for r in of_kind(records, "keyphrase"):
        (gold,) = r["gold_ids"]
        for phrase in r["key_facts"]:
            assert [p.id for p in papers if verbatim(phrase, p)] == [gold], (r["id"], phrase)


def test_name_questions_ask_about_a_name_one_paper_uses(records: list[dict[str, Any]], papers: list[Paper]) -> None:
    named = [r for r in of_kind(records, "title") if r["key_facts"]]
    assert named
    for r in named:
        (name,) = r["key_facts"]
        assert name in r["question"]
        users = [p.id for p in papers if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", f"{p.title} {p.abstract}")]
        assert users == r["gold_ids"], (r["id"], name)


def test_sentence_questions_are_reworded_questions(records: list[dict[str, Any]], by_id: dict[str, Paper]) -> None:
    sentence = of_kind(records, "sentence")
    assert sentence
    for r in sentence:
        (gold,) = r["gold_ids"]
        assert r["question"].endswith("?") and r["question"] != r["answer"]
        assert r["answer"] in by_id[gold].abstract and r["key_facts"][0] in r["answer"]


def test_followups_lean_on_a_history_about_the_gold_paper(
    records: list[dict[str, Any]], by_id: dict[str, Paper]
) -> None:
    for r in of_kind(records, "followup"):
        (gold,) = r["gold_ids"]
        assert [t["role"] for t in r["history"]] == ["user", "assistant"]
        assert r["history"][1]["content"].startswith(by_id[gold].title)
        assert PRONOUN.search(r["question"]), r["question"]
        assert by_id[gold].title not in r["question"]


def test_loo_records_hide_exactly_the_gold_ids(records: list[dict[str, Any]]) -> None:
    sources = {r["id"]: r for r in records if r["kind"] != "loo"}
    loos = of_kind(records, "loo")
    assert sorted(r["source"] for r in loos) == sorted(sources)
    for r in loos:
        source = sources[r["source"]]
        assert r["hidden_ids"] == source["gold_ids"] and r["hidden_ids"]
        assert r["question"] == source["question"] and r["history"] == source["history"]
        assert r["answer"] == "NOT_IN_CORPUS" and r["type"] == "unanswerable" and not r["gold_ids"]
        assert r["source_kind"] == source["kind"]


def test_fit_items_become_loo_records_and_validation_is_refused(
    papers: list[Paper], text: Text, tmp_path: Path
) -> None:
    fit = tmp_path / "dev_fit.jsonl"
    items = [
        {"id": "a", "question": "What is sparsemax?", "type": "lookup", "answer": "x", "key_facts": [], "history": [],
         "gold_titles": ["from softmax to SPARSEMAX: a sparse model of attention and multi-label classification"]},
        {"id": "b", "question": "Who won?", "type": "unanswerable", "answer": "NOT_IN_CORPUS", "key_facts": [],
         "history": [], "gold_titles": []},
    ]
    fit.write_text("".join(json.dumps(i) + "\n" for i in items))
    loaded = loo.load_fit_items(fit, papers)
    sparsemax = next(p for p in papers if p.title.startswith("From Softmax to Sparsemax"))
    assert [i["gold_ids"] for i in loaded] == [[sparsemax.id], []]
    made = synth.generate(papers, seed=0, sizes={"multi": 3}, fit_items=loaded, text=text)
    fit_loo = [(r["id"], r["hidden_ids"], r["question"]) for r in made if r.get("source_kind") == "fit"]
    assert fit_loo == [("loo-a", [sparsemax.id], "What is sparsemax?")]
    assert loo.load_fit_items(tmp_path / "missing.jsonl", papers) == []
    for never in ("dev_val.jsonl", "holdout.jsonl", "aclsum-test.jsonl"):
        with pytest.raises(loo.FitSetError, match="never read for fitting"):
            loo.load_fit_items(tmp_path / never, papers)
    fit.write_text(json.dumps({**items[0], "gold_titles": ["No Such Paper"]}) + "\n")
    with pytest.raises(loo.FitSetError, match="not in the corpus"):
        loo.load_fit_items(fit, papers)


def test_hide_removes_hidden_papers_from_hits_candidates_and_ids(papers: list[Paper]) -> None:
    ranked = papers[:5]
    hidden = {ranked[1].id, ranked[3].id}
    hits = [Hit(p, 1.0 / (i + 1), "", 0, 0.0) for i, p in enumerate(ranked)]
    assert [h.paper.id for h in loo.hide(hits, hidden)] == [ranked[i].id for i in (0, 2, 4)]
    candidates = [Candidate(p.id, sentence_scores=np.zeros(1)) for p in ranked]
    assert [c.paper_id for c in loo.hide(candidates, hidden)] == [ranked[i].id for i in (0, 2, 4)]
    assert loo.hide([p.id for p in ranked], []) == [p.id for p in ranked]
    with pytest.raises(TypeError, match="paper id"):
        loo.hide([object()], hidden)


class Always(random.Random):
    """A generator whose every coin comes up heads (``random() == 0``)."""

    def random(self) -> float:
        return 0.0


def test_substitution_uses_corpus_mined_acronyms_and_synonyms(text: Text) -> None:
    writer = Writer(text)
    assert writer.acronyms["LLMs"] == "large language models"
    assert writer.acronyms["large language models"] == "LLMs"
    assert writer.acronyms["LoRA"] == "low-rank adaptation"
    # the "long form (ACR)" definition collapses first; each swap happens once and is never swapped back
    swapped = writer.substitute("We propose a method to align large language models (LLMs) with users", Always())
    assert swapped == "We introduce a technique to align LLMs with users"
    assert writer.substitute("LLMs and LoRA", Always()) == "large language models and low-rank adaptation"
    vocabulary = {w.lower() for w in text.tokens}
    assert writer.synonyms  # hand-listed synonyms are kept only when both sides are corpus words
    for source, target in writer.synonyms.items():
        assert set(f"{source} {target}".split()) <= vocabulary


def test_blur_hides_coined_names_and_drops_one_unique_word(text: Text) -> None:
    writer = Writer(text)
    sentence = "We present SeerAttention-R, a sparse attention framework tailored for long reasoning"
    blurred = writer.blur(sentence, random.Random(0))
    assert "SeerAttention-R" not in blurred
    assert re.search(r"\b(?:the method|this model|the approach)\b", blurred)
    assert writer.blur("the CHES score finds samples", random.Random(0)) == "the score finds samples"  # a modifier
    twice = writer.blur("WINA (WINA) is fast, and WINA is exact", random.Random(0))
    assert twice.count("WINA") == 0 and len(re.findall(r"the method|this model|the approach", twice)) == 1
    assert writer.blur("We study attention in language models", random.Random(0)) == (
        "We study attention in language models"  # nothing rare to hide
    )


@pytest.mark.slow
def test_hidden_papers_never_come_back_on_the_real_index(real_index_dir: Path, records: list[dict[str, Any]]) -> None:
    from conftest import real_embedder

    from rag.pipeline import Pipeline
    from rag.settings import Settings

    pipeline = Pipeline.open(Settings(data_dir=real_index_dir), embedder=real_embedder(), progress=False)
    found = []  # keyphrase questions whose gold the full index ranks in its top ten (most of them)
    for r in of_kind(records, "keyphrase")[:8]:
        (gold,) = r["gold_ids"]
        if gold in [h.paper.id for h in pipeline.retrieve(r["question"], 10).hits]:
            found.append((r, gold))
    assert len(found) >= 5, [r["question"] for r in of_kind(records, "keyphrase")[:8]]
    for r, gold in found:
        hidden = loo.retrieve_hidden(pipeline, r["question"], [gold], 10)
        assert len(hidden.hits) == 10 and gold not in [h.paper.id for h in hidden.hits]
        assert 0.0 <= hidden.confidence <= 1.0 and hidden.abstain == (hidden.confidence < pipeline.abstainer.threshold)


def test_fit_fusion_recall_follows_the_weighted_ranks() -> None:
    from evals import fit_fusion
    from evals.fit_data import Row

    def cand(pid: str, bm25: int | None, dense: int | None, sentence: int | None) -> Candidate:
        return Candidate(pid, ranks={"bm25": bm25, "dense": dense, "sentence": sentence})

    # gold "g" is first by BM25 only; eleven papers ahead of it by dense and sentence rank
    others = [cand(f"p{i:02d}", 20 + i, i + 1, i + 1) for i in range(11)]
    row = Row({"id": "x", "kind": "fit"}, None, {"g"}, [*others, cand("g", 1, None, None)],  # type: ignore[arg-type]
              np.zeros((12, 1)), np.zeros(12), "g")
    assert fit_fusion.recall_at_10(row, (1.0, 1.0, 1.0), 60) == 0.0  # plain RRF: below ten two-stage papers
    assert fit_fusion.recall_at_10(row, (2.0, 1.0, 0.5), 5) == 1.0  # BM25's first place counts
    parts = fit_fusion.groups([row])
    assert [len(v) for v in parts.values()] == [1, 0, 0, 0]
    assert fit_fusion.evaluate(parts, ((2.0, 1.0, 0.5), 5))["hand-written"] == 1.0
