"""The hand-written dev sets: the original ``dev.jsonl`` and its one split into ``dev_fit.jsonl`` and
``dev_val.jsonl`` (schema, gold titles that exist verbatim, key facts found in the gold abstracts,
counts per type, no item in both parts, a split that is reproducible and keeps follow-ups with their paper),
and the checker and splitter scripts that guard them."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from evals import check_devset, split_devset
from rag.evals.evalset import EvalItem, LoadedItem, load_eval_set
from rag.index.corpus import load_papers
from rag.settings import BUNDLED_CORPUS
from rag.types import Paper

EVALS = ROOT / "evals"
DEV = EVALS / "dev.jsonl"
FIT = EVALS / "dev_fit.jsonl"
VAL = EVALS / "dev_val.jsonl"
SETS = [DEV, FIT, VAL]
KEYS = {"id", "question", "type", "gold_titles", "answer", "key_facts", "history"}
TYPES = {"lookup", "paraphrase", "multi", "unanswerable", "followup"}


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _raw(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _lines(path)]


@pytest.fixture(scope="module")
def papers() -> list[Paper]:
    return load_papers([BUNDLED_CORPUS])


@pytest.fixture(scope="module")
def titles(papers: list[Paper]) -> set[str]:
    return {p.title for p in papers}


@pytest.fixture(scope="module")
def parts() -> dict[str, str]:
    return {item["id"]: name for name, path in (("fit", FIT), ("val", VAL)) for item in _raw(path)}


def _item(**fields: Any) -> LoadedItem:
    data: dict[str, Any] = {"gold_titles": [], "key_facts": [], "history": [], **fields}
    return LoadedItem(EvalItem.model_validate(data), "test", f"test:{data['id']}")


# ------------------------------------------------------------------------------------------- the files


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_schema(path: Path) -> None:
    items = _raw(path)
    ids = [item["id"] for item in items]
    assert len(set(ids)) == len(ids)
    assert {item["type"] for item in items} == TYPES  # every type is represented in every file
    for item in items:
        where = item.get("id")
        assert set(item) == KEYS, where
        assert isinstance(item["question"], str) and item["question"].strip(), where
        assert isinstance(item["answer"], str) and item["answer"].strip(), where
        assert all(isinstance(t, str) for t in item["gold_titles"]), where
        assert all(isinstance(f, str) for f in item["key_facts"]), where
        for turn in item["history"]:
            assert set(turn) == {"role", "content"} and turn["role"] in ("user", "assistant"), where
        if item["type"] == "followup":
            assert item["history"] and item["history"][0]["role"] == "user", where
        else:
            assert item["history"] == [], where
        if item["type"] == "unanswerable":
            assert item["answer"] == "NOT_IN_CORPUS" and item["gold_titles"] == [], where
        else:
            assert item["answer"] != "NOT_IN_CORPUS" and item["gold_titles"] and item["key_facts"], where
        if item["type"] == "multi":
            assert 2 <= len(item["gold_titles"]) <= 6, where
    assert len(load_eval_set(path)) == len(items)  # the loader `rag eval` uses accepts every line


@pytest.mark.parametrize("path", SETS, ids=lambda p: p.name)
def test_gold_titles_exist_verbatim(path: Path, titles: set[str]) -> None:
    missing = [(item["id"], t) for item in _raw(path) for t in item["gold_titles"] if t not in titles]
    assert not missing


def test_dev_set_size() -> None:
    assert len(_raw(DEV)) >= 80


def test_parts_hold_every_dev_item_verbatim_once() -> None:
    fit, val = _lines(FIT), _lines(VAL)
    for line in _lines(DEV):
        assert (line in fit) != (line in val), json.loads(line)["id"]


def test_no_id_in_both_parts_and_enough_items_per_type() -> None:
    fit_ids = {item["id"] for item in _raw(FIT)}
    val_ids = {item["id"] for item in _raw(VAL)}
    assert not fit_ids & val_ids
    counts = Counter(item["type"] for path in (FIT, VAL) for item in _raw(path))
    assert set(counts) == TYPES and min(counts.values()) >= 40, counts
    assert sum(counts.values()) >= 250


def test_split_is_stratified_about_60_40() -> None:
    fit = Counter(item["type"] for item in _raw(FIT))
    val = Counter(item["type"] for item in _raw(VAL))
    for kind in TYPES:
        assert 0.55 <= fit[kind] / (fit[kind] + val[kind]) <= 0.65, (kind, fit[kind], val[kind])


def test_parts_pass_the_checker(papers: list[Paper]) -> None:
    items = [loaded for path in (FIT, VAL) for loaded in load_eval_set(path)]
    problems, _ = check_devset.check_items(items, papers, min_per_type=40)
    assert problems == []


# ------------------------------------------------------------------------------------------ the checker


def test_checker_reports_each_kind_of_problem(papers: list[Paper]) -> None:
    sam = "Sharpness-Aware Minimization for Efficiently Improving Generalization"
    items = [
        _item(id="a", question="q", type="lookup", gold_titles=[sam.upper()], answer="x", key_facts=["loss sharpness"]),
        _item(id="b", question="q", type="lookup", gold_titles=["No Such Paper At All"], answer="x", key_facts=["f"]),
        _item(
            id="c",
            question="q",
            type="lookup",
            gold_titles=[sam],
            answer="reduces error by 42%",
            key_facts=["reduces error by 42%"],
        ),
        _item(id="c", question="q", type="lookup", gold_titles=[sam], answer="x", key_facts=["label noise"]),
        _item(id="d", question="q", type="multi", gold_titles=[sam], answer="x", key_facts=["label noise"]),
        _item(id="e", question="q", type="lookup", gold_titles=[sam], answer="x", key_facts=["quantum chromodynamics"]),
    ]
    problems, warnings = check_devset.check_items(items, papers, min_per_type=1)
    text = "\n".join(problems)
    assert f"spelled {sam!r}" in text  # case differs from the corpus: reported with the corpus spelling
    assert "'No Such Paper At All' is not in the corpus" in text
    assert "key fact 'reduces error by 42%' is not in the gold abstracts" in text  # 42 is not in the abstract
    assert "(c): id already used" in text
    assert "(d): a multi item needs 2-6 gold titles" in text
    assert "key fact 'quantum chromodynamics' is not in the gold abstracts" in text
    assert "unanswerable: 0 items, fewer than 1" in text and "followup: 0 items" in text
    assert not any("(d)" in p and "key fact" in p for p in problems)  # a fact the abstract states passes
    assert warnings == []


def test_checker_warns_about_numbers_missing_from_the_answer(papers: list[Paper]) -> None:
    title = "Enhancing Cost Efficiency in Active Learning with Candidate Set Query"
    item = _item(
        id="w",
        question="q",
        type="lookup",
        gold_titles=[title],
        answer="It saves labels.",
        key_facts=["reduces labeling cost by 42%"],
    )
    problems, warnings = check_devset.check_items([item], papers, min_per_type=0)
    assert problems == []
    assert warnings == ["test:w (w): key fact 'reduces labeling cost by 42%' has numbers ['42'] not in the answer"]


def test_checker_cli_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_devset.main([str(FIT), str(VAL)]) == 0
    assert capsys.readouterr().out.strip().endswith(": OK")
    bad = tmp_path / "bad.jsonl"
    line = {
        "id": "x",
        "question": "q",
        "type": "lookup",
        "gold_titles": ["Not A Real Title Here"],
        "answer": "a",
        "key_facts": ["a"],
        "history": [],
    }
    bad.write_text(json.dumps(line) + "\n", encoding="utf-8")
    assert check_devset.main([str(bad), "--min-per-type", "0"]) == 1
    assert "'Not A Real Title Here' is not in the corpus" in capsys.readouterr().out


# ----------------------------------------------------------------------------------------- the splitter


def _entries() -> tuple[list[Any], dict[str, str]]:
    result: tuple[list[Any], dict[str, str]] = split_devset.collect(DEV, FIT, VAL, [])
    return result


def test_the_one_split_is_reproducible(titles: set[str], parts: dict[str, str]) -> None:
    entries, kept = _entries()
    assert kept == parts
    assert split_devset.assign(entries, titles) == parts  # a fresh seeded split gives the files' split
    assert split_devset.assign(entries, titles, seed="another seed") != parts  # and it does depend on the seed
    for name, path in (("fit", FIT), ("val", VAL)):
        assert split_devset.render(entries, parts, name) == path.read_text(encoding="utf-8")


def test_adding_items_keeps_every_existing_assignment(titles: set[str], parts: dict[str, str]) -> None:
    entries, kept = _entries()
    new = [
        split_devset.Entry(EvalItem(id=f"new-{n}", question="q", type="unanswerable", answer="NOT_IN_CORPUS"), "{}")
        for n in range(10)
    ]
    assigned = split_devset.assign([*entries, *new], titles, kept)
    assert {i: assigned[i] for i in parts} == parts
    unanswerable = [e.item.id for e in [*entries, *new] if e.item.type == "unanswerable"]
    fit_n = sum(assigned[i] == "fit" for i in unanswerable)
    assert fit_n == round(0.6 * len(unanswerable))  # new items top the type up to its fit share


def test_followups_sit_with_the_other_items_about_their_paper(titles: set[str], parts: dict[str, str]) -> None:
    entries, _ = _entries()
    gold_part: dict[str, set[str]] = {}
    for e in entries:
        if e.item.type != "followup":
            for t in e.item.gold_titles:
                gold_part.setdefault(split_devset.normalize_title(t), set()).add(parts[e.item.id])
    anchored = 0
    for e in entries:
        if e.item.type == "followup":
            papers = split_devset.conversation_papers(e.item, titles)
            sides = set().union(*(gold_part.get(p, set()) for p in papers))
            if len(sides) == 1:
                anchored += 1
                assert parts[e.item.id] in sides, e.item.id
    assert anchored >= 10
    leaks = split_devset.leaks(entries, parts, titles)
    assert len(leaks) <= 3, leaks  # only follow-ups whose paper has items in both parts


def test_conversation_papers_include_titles_quoted_in_the_history(titles: set[str]) -> None:
    item = EvalItem(
        id="f",
        question="And which dataset?",
        type="followup",
        gold_titles=["AutoInt: Automatic Feature Interaction Learning via Self-Attentive Neural Networks"],
        answer="x",
        key_facts=["x"],
        history=[
            {"role": "user", "content": "What does it show?"},
            {"role": "assistant", "content": "Continual Learning in Linear Classification on Separable Data shows..."},
        ],
    )
    papers = split_devset.conversation_papers(item, titles)
    assert papers == {
        "autoint automatic feature interaction learning via self attentive neural networks",
        "continual learning in linear classification on separable data",
    }


HELPER_SETS = [EVALS / f"{kind}_{part}.jsonl" for kind in ("chat", "chat2", "reword", "reword2", "kw", "comp2")
               for part in ("fit", "val")]
"""Helper-written sets the dev sets' rules fit (comparison chats and single-gold comparisons, and near-miss chats,
break the rules on history and gold counts by design)."""


@pytest.mark.parametrize("path", HELPER_SETS, ids=lambda p: p.name)
def test_helper_written_sets_pass_the_checker(path: Path, papers: list[Paper]) -> None:
    """The chat, reworded and keyword sets (``evals/README.md``) hold key facts their gold abstracts bear out, and gold
    titles that exist."""
    problems, _ = check_devset.check_items(list(load_eval_set(path)), papers, min_per_type=0)
    assert problems == []


def test_reworded_sets_hold_one_question_per_paper_and_repeat_no_other_sets_question() -> None:
    """``reword_fit`` / ``reword_val``: one paraphrase per gold paper, none asked in another set."""
    def norm(text: str) -> str:
        return " ".join(text.lower().split())

    reword = [li.item for part in ("fit", "val") for li in load_eval_set(EVALS / f"reword_{part}.jsonl")]
    assert len(reword) == 60 and {i.type for i in reword} == {"paraphrase"}
    assert len({i.gold_titles[0] for i in reword}) == 60
    others = {norm(li.item.question) for path in [*SETS, *HELPER_SETS] if "reword" not in path.name
              for li in load_eval_set(path)}
    assert not [i.id for i in reword if norm(i.question) in others]


def test_second_reworded_sets_hold_one_question_per_paper_none_gold_in_the_first() -> None:
    """``reword2_fit`` / ``reword2_val``: odd ids fit, even ids val; 60 paraphrases of 60 papers that are gold in
    neither reworded set before them."""
    first = {li.item.gold_titles[0] for part in ("fit", "val") for li in load_eval_set(EVALS / f"reword_{part}.jsonl")}
    items = {part: [li.item for li in load_eval_set(EVALS / f"reword2_{part}.jsonl")] for part in ("fit", "val")}
    assert [len(v) for v in items.values()] == [30, 30]
    assert all(int(i.id[4:]) % 2 == (part == "fit") for part, v in items.items() for i in v)
    golds = [i.gold_titles[0] for v in items.values() for i in v]
    assert len(set(golds)) == 60 and not set(golds) & first
    assert {i.type for v in items.values() for i in v} == {"paraphrase"}


def test_second_near_miss_sets_split_by_parity_and_hold_each_kind() -> None:
    """``miss2_fit`` / ``miss2_val`` (``evals/README.md``): odd ids fit, even ids val; each half holds near-miss,
    off-topic and control items (ids cycle in that order), controls with gold titles and key facts."""
    for part, parity in (("fit", 1), ("val", 0)):
        items = [li.item for li in load_eval_set(EVALS / f"miss2_{part}.jsonl")]
        assert len(items) == 36 and all(int(i.id[3:]) % 2 == parity for i in items)
        kinds: dict[int, list[EvalItem]] = {0: [], 1: [], 2: []}
        for i in items:
            kinds[int(i.id[3:]) % 3].append(i)
        assert all(i.type == "unanswerable" for k in (0, 1) for i in kinds[k])
        assert all(i.type != "unanswerable" and i.gold_titles and i.key_facts for i in kinds[2])
