"""The prose answer's piece model (rag.answer.compose.pieces) and its refit (evals/fit_composer.py): question
parts, candidate pieces and their features, the choice under a bar and a word cap, the shipped weights."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from rag.answer.compose.analysis import analyse
from rag.answer.compose.evidence import Weights, question_terms, score_sentences
from rag.answer.compose.pieces import (
    MODEL_PATH,
    PIECE_FEATURES,
    PieceModel,
    choose,
    companions,
    cut_pieces,
    probabilities,
)
from rag.answer.compose.selection import is_boilerplate
from rag.answer.compose.shapes import prose
from rag.answer.compose.slots import question_parts
from rag.answer.compose.spans import pieces
from rag.errors import ConfigError
from rag.linear import LinearModel
from rag.text import quote_parts
from rag.types import Hit, Retrieved
from tests.conftest import make_paper

CANDIDATE_SET = make_paper(
    "Enhancing Cost Efficiency in Active Learning with Candidate Set Query",
    "Active learning asks an oracle to label examples. We propose a candidate set query, which narrows the "
    "classes an oracle examines to a small candidate set likely to contain the true label, and we generate the "
    "candidate sets with conformal prediction. On ImageNet64x64 the framework reduces labeling cost by 42%, "
    "while accuracy stays the same. Code is available at https://github.com/x/csq.",
)
QUESTION = "How much labeling cost does the candidate set query save, and how are the candidate sets generated?"


def evidence(question: str = QUESTION, paper=CANDIDATE_SET):  # type: ignore[no-untyped-def]
    retrieved = Retrieved(question, (Hit(paper, 0.9, "", 0, 0.9),), 0.9, False)
    terms, analysis = question_terms(question, retrieved), analyse(question)
    return score_sentences(analysis, retrieved, Weights(), terms), terms, analysis


def by_share(floor: float) -> PieceModel:
    """A model whose probability grows with the piece's share of the question's term weight."""
    return PieceModel(LinearModel.only(PIECE_FEATURES, "p_share", 8.0), floor)


def test_question_parts_split_a_two_part_question() -> None:
    assert question_parts(QUESTION) == [
        "How much labeling cost does the candidate set query save", "how are the candidate sets generated"]
    assert question_parts("What is LoFiT?") == ["What is LoFiT"]
    assert question_parts("and?") == ["and?"]  # nothing with content: the question is its own part


def test_candidates_cut_each_sentence_into_pieces_with_a_feature_row() -> None:
    picks, terms, analysis = evidence()
    cands = cut_pieces(picks, terms, analysis)
    assert all(len(c.features) == len(PIECE_FEATURES) for c in cands)
    for pick in {c.pick.text: c.pick for c in cands}.values():
        spans = [(c.start, c.end) for c in cands if c.pick.text == pick.text]
        assert spans[0][0] == 0 and spans[-1][1] == len(pick.text)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert not any("github" in c.text for c in cands)  # boilerplate left out unless asked for
    f = {name: i for i, name in enumerate(PIECE_FEATURES)}
    best = [c for c in cands if c.features[f["part_best"]] == 1.0]
    assert any("conformal prediction" in c.text for c in best)  # best piece for "how are the sets generated"
    assert {c.features[f["part_n"]] for c in cands} == {2.0}
    asked = analyse("Where is the code of the candidate set query available?")
    assert any("github" in c.text for c in cut_pieces(picks, terms, asked))


def test_choose_keeps_verbatim_pieces_under_the_bar_and_the_cap() -> None:
    picks, terms, analysis = evidence()
    cands = cut_pieces(picks, terms, analysis)
    model = by_share(0.0)
    probs = probabilities(cands, model)
    everything = choose(cands, probs, model, 10**6)
    capped = choose(cands, probs, model, 25)
    only_lead = choose(cands, probs, model, 10**6, min_probability=1.0)
    for chosen in (everything, capped, only_lead):
        for pick in chosen:
            assert all(part in pick.text for part in quote_parts(pick.shown))
    assert len(only_lead) == 1 and only_lead[0].text == cands[0].pick.text  # led by the best-scored sentence
    words = [len(" ".join(p.shown for p in chosen).split()) for chosen in (only_lead, capped, everything)]
    assert words[0] <= words[1] <= 25 < words[2]
    assert "42%" in prose(everything) and "conformal prediction" in prose(everything)


def test_choose_drops_a_piece_that_repeats_a_kept_one() -> None:
    twice = make_paper("Twice", "MaxSup penalizes the top-1 logit of the network. MaxSup penalizes the top-1 logit "
                       "of the network, as shown here.")
    picks, terms, analysis = evidence("What does MaxSup penalize?", twice)
    cands = cut_pieces(picks, terms, analysis)
    chosen = choose(cands, probabilities(cands, by_share(0.0)), by_share(0.0), 10**6)
    assert sum("penalizes the top-1 logit" in p.shown for p in chosen) == 1


def test_the_shipped_model_loads_and_says_how_it_was_fitted(tmp_path: Path) -> None:
    model = PieceModel.load()
    assert model.model.features == PIECE_FEATURES and 0.0 < model.min_probability < 1.0
    fitted = json.loads(MODEL_PATH.read_text())["fitted"]
    assert fitted["fitted_on"] == "evals/dev_fit.jsonl"
    assert fitted["out_of_fold"]["threshold"] == model.min_probability
    stale = tmp_path / "composer.json"
    data = json.loads(MODEL_PATH.read_text())
    data["model"]["features"] = data["model"]["features"][:-1]
    stale.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"other features; reinstall .*evals\.fit_composer"):
        PieceModel.load(stale)
    stale.write_text('{"model": {"features": [')  # damaged: cut off mid-write
    with pytest.raises(ConfigError, match=r"cannot be read \(JSONDecodeError\)"):
        PieceModel.load(stale)
    with pytest.raises(ConfigError, match="cannot be read"):
        PieceModel.load(tmp_path / "missing.json")


def test_refit_labels_pieces_holding_a_key_fact() -> None:
    pytest.importorskip("sklearn")
    from evals import fit_composer

    picks, terms, analysis = evidence()
    cands = cut_pieces(picks, terms, analysis)
    y = fit_composer.labels(cands, ["reduces labeling cost by 42%", "candidate sets with conformal prediction"])
    positive = {c.text.strip() for c, v in zip(cands, y, strict=True) if v}
    assert any("42%" in t for t in positive) and any("conformal prediction" in t for t in positive)
    assert not any("Active learning asks" in t for t in positive)
    rows = [fit_composer.ItemRows("a", 1, ["reduces labeling cost by 42%"], cands, y),
            fit_composer.ItemRows("b", 2, ["x"], [], np.zeros(0), fixed_words=200, fixed_recall=0.5)]
    probs = [probabilities(cands, by_share(0.0)), np.zeros(0)]
    low, high = (fit_composer.answers(rows, probs, by_share(0.0), 140, t) for t in (0.0, 1.0))
    assert low["words_p50"] >= high["words_p50"] and low["key_fact_recall"] >= high["key_fact_recall"]
    assert low["prose_key_fact_recall"] == 1.0


@pytest.mark.parametrize(
    ("quote", "shown"),
    [
        ("We merge models, which needs no training.", "We merge models, which needs no training."),
        ("We merge models,", "We merge models …"),  # stops before the sentence ends
        ("which needs no training.", "… which needs no training."),  # starts inside it
        ("We merge models … no training", "We merge models … no training"),  # ends with the sentence's last words
        ("We merge models, which … no", "We merge models, which … no …"),
    ],
)
def test_a_quote_shows_where_it_leaves_its_sentence(quote: str, shown: str) -> None:
    from rag.answer.compose.evidence import Pick
    from rag.answer.compose.shapes import quoted

    pick = Pick(0, 0, "We merge models, which needs no training.", 1.0, quote=quote)
    assert quoted(pick) == shown


def test_an_item_marker_opens_the_item_it_names() -> None:
    sentence = ("Merging loses information due to two sources of interference: (a) interference due to redundant "
                "values and (b) disagreement on the sign of a value.")
    parts = [sentence[a:b] for a, b in pieces(sentence)]
    assert parts[1].startswith("(a) interference") and parts[2].startswith("(b) disagreement")
    items = "(i) we do x and (ii) we do y."
    assert [items[a:b] for a, b in pieces(items)] == ["(i) we do x and ", "(ii) we do y."]
    assert "".join(sentence[a:b] for a, b in pieces(sentence)) == sentence


ASIDES = make_paper(
    "Dynamic Visual Token Exit",
    "We propose DyVTE, which makes MLLMs faster by removing visual tokens early in the network. To validate it, we "
    "apply it to a set of MLLMs, including LLaVA, VILA, Eagle and InternVL, and conduct extensive experiments on a "
    "bunch of benchmarks (Ippolito & Callison-Burch, 2023). Merging loses information due to two sources of "
    "interference: (a) interference due to redundant values and (b) disagreement on the sign of a given value, "
    "which we study at length in many further experiments on many models here.",
)


@pytest.mark.parametrize(
    ("question", "held"),
    [("Which MLLMs was DyVTE applied to?", "including LLaVA, VILA, Eagle and InternVL"),
     ("What are the sources of interference?", "(a) interference due to redundant values and (b) disagreement")],
)  # fmt: skip
def test_a_kept_piece_keeps_the_names_or_items_that_complete_it(question: str, held: str) -> None:
    """A reviewer's "Which MLLMs was DyVTE applied to?" was answered "we apply it to a set of MLLMs … and conduct
    extensive experiments": the names were elided. "(b) ..." was quoted without "(a) ..."."""
    picks, terms, analysis = evidence(question, ASIDES)
    cands = cut_pieces(picks, terms, analysis)
    model = by_share(0.99)  # only the lead piece reaches the bar by itself
    lead = next(j for j, c in enumerate(cands) if "a set of MLLMs" in c.text or "(b) disagreement" in c.text)
    text = prose(choose(cands, probabilities(cands, model), model, 10**6, lead=lead))
    assert held in text
    assert "Ippolito" not in text  # a reference is no aside


def test_an_aside_is_short_and_gives_numbers_or_names() -> None:
    picks, terms, analysis = evidence("Which MLLMs was DyVTE applied to?", ASIDES)
    cands = cut_pieces(picks, terms, analysis)
    lead = next(j for j, c in enumerate(cands) if "a set of MLLMs" in c.text)
    assert [cands[k].text for k in companions(cands, lead)] == [", including LLaVA, VILA, Eagle and InternVL"]
    assert companions(cands, lead, lead=False) == []


def test_a_lead_ending_a_list_of_numbers_keeps_its_last_item() -> None:
    paper = make_paper("CodeGen2", "We study program synthesis with large models in this paper. We will release "
                       "CodeGen2 models in size 1B, 3.7B, 7B, and, 16B parameters, along with the training framework "
                       "as open-source: https://github.com/salesforce/CodeGen2.")
    picks, terms, analysis = evidence("codegen2 model sizes", paper)
    cands = cut_pieces(picks, terms, analysis)
    lead = next(j for j, c in enumerate(cands) if "3.7B, 7B" in c.text)
    model = by_share(0.99)
    assert "7B, and, 16B parameters" in prose(choose(cands, probabilities(cands, model), model, 10**6, lead=lead))


@pytest.mark.parametrize(
    ("sentence", "boilerplate"),
    [("Code is available at: https://github.com/x/y.", True),
     ("We will release CodeGen2 models in size 1B, 3.7B, 7B, and, 16B parameters, along with the training "
      "framework as open-source: https://github.com/salesforce/CodeGen2.", False),  # it gives the sizes
     ("We release our code and the 3 datasets at https://github.com/x/y.", True)],
)  # fmt: skip
def test_a_sentence_is_boilerplate_when_it_only_says_where_code_is(sentence: str, boilerplate: bool) -> None:
    assert is_boilerplate(sentence) is boilerplate
