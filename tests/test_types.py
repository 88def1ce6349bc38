"""The value types read back from their dicts: ``Answer.from_dict`` (and ``Hit``, ``Citation``, ``SentenceCheck``,
``Usage``) inverts ``to_dict`` after a JSON round trip, for answers the real pipeline made and for hand-made
values; a malformed dict raises ``DataError`` naming the bad field, never a ``KeyError``/``TypeError``."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from rag.errors import DataError, RagError
from rag.types import Answer, Citation, Hit, Paper, SentenceCheck, Usage

PAPER = Paper("p1", "MaxSup", "We study label smoothing. MaxSup penalizes the top logit.", ("a.txt:1",), "Mar 21",
              ("https://x.example",), ("Ann Lee",), 2025, "2025-01", "ICML", ("cs.LG",), "2501.00001", "10.1/x",
              "https://arxiv.org/abs/2501.00001")  # fmt: skip
HIT = Hit(PAPER, 0.75, "MaxSup penalizes the top logit.", 1, 0.5, {"dense": 1, "bm25": None}, {"overlap": 2.0},
          (0.1, 0.9))  # fmt: skip
CITATION = Citation(1, PAPER, "MaxSup penalizes the top logit.", (1,), "supported", 0.9,
                    (("challenge", 0), ("approach", 1)))  # fmt: skip
CHECK = SentenceCheck("It penalizes the top logit [1].", (1,), "weak", 0.4, "paraphrase")
ANSWER = Answer("What does MaxSup penalize?", "It penalizes the top logit [1].", (CITATION,), False, "llm", (HIT,),
                (CHECK,), "What does MaxSup penalize?", {"retrieve": 0.01, "total": 0.5}, Usage(120, 30, 0.002),
                (2,), "the LLM timed out", "The MaxSup abstract does not state the GPU hours.", "lookup")  # fmt: skip


def round_trip(value: Any) -> Any:
    return type(value).from_dict(json.loads(json.dumps(value.to_dict() if hasattr(value, "to_dict")
                                                       else dataclasses.asdict(value))))


@pytest.mark.parametrize("value", [ANSWER, HIT, CITATION, CHECK, Usage(1, 2, 0.5), Answer("q", "t", (), True, "", ())])
def test_hand_made_values_come_back_equal_with_tuples(value: Any) -> None:
    again = round_trip(value)
    assert again == value and type(again) is type(value)
    if isinstance(value, Answer) and value.citations:
        assert isinstance(again.citations, tuple) and again.citations[0].roles == (("challenge", 0), ("approach", 1))
        assert isinstance(again.hits[0].paper.authors, tuple) and isinstance(again.checks[0].markers, tuple)


@pytest.mark.parametrize("question", [
    "How do OPERA and VCD differ in reducing hallucination?",  # a comparison, with roles per citation
    "How many GPU hours did it take to train SeerAttention-R's gating modules?",  # not_stated
    "What is the capital of France?",  # an abstention
])  # fmt: skip
def test_answers_of_the_real_pipeline_come_back_equal(real_pipeline: Any, question: str) -> None:
    answer = real_pipeline.ask(question, answerer="extractive")
    assert round_trip(answer) == answer
    printed = {**answer.to_dict(), "references": "..."}  # what `rag ask --json --references` prints
    assert Answer.from_dict(json.loads(json.dumps(printed, indent=2))) == answer
    costly = dataclasses.replace(answer, usage=Usage(900, 80, 0.0123), error="the LLM timed out", removed_markers=(3,))
    assert round_trip(costly) == costly


def test_the_real_answers_hold_what_the_round_trip_must_keep(real_pipeline: Any) -> None:
    """The round trips above cover every kind of field: citations with roles, hits with papers, checks,
    timings, kind and not_stated."""
    compared = real_pipeline.ask("How do OPERA and VCD differ in reducing hallucination?", answerer="extractive")
    assert compared.kind == "comparison" and compared.citations[0].roles and compared.checks and compared.timings
    assert compared.hits[0].paper.title and compared.hits[0].ranks
    detail = real_pipeline.ask("How many GPU hours did it take to train SeerAttention-R's gating modules?",
                               answerer="extractive")
    assert detail.not_stated and round_trip(detail).not_stated == detail.not_stated


def _with(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    """``ANSWER``'s dict with the field at ``path`` set to ``value`` (removed when ``value`` is ``...``)."""
    data = json.loads(json.dumps(ANSWER.to_dict()))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    if value is ...:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return data


@pytest.mark.parametrize(("data", "field", "says"), [
    ([1, 2], "Answer", "must be a dict, not [1, 2]"),
    (_with(("text",), ...), "Answer.text", "is missing"),
    (_with(("citations", 0, "verdict"), "great"), "Answer.citations[0].verdict", "'supported', 'weak' or"),
    (_with(("citations", 0, "roles", 1), ["approach"]), "Answer.citations[0].roles[1][1]", "is missing"),
    (_with(("hits", 0, "paper", "title"), 5), "Answer.hits[0].paper.title", "valid string"),
    (_with(("hits", 0, "paper", "id"), ...), "Answer.hits[0].paper.id", "is missing"),
    (_with(("hits", 0, "ranks", "dense"), "1"), "Answer.hits[0].ranks.dense", "valid integer"),
    (_with(("hits",), {"0": {}}), "Answer.hits", "valid array"),
    (_with(("usage", "prompt_tokens"), True), "Answer.usage.prompt_tokens", "valid integer"),
    (_with(("timings", "total"), "0.5"), "Answer.timings.total", "valid number"),
    (_with(("abstained",), 0), "Answer.abstained", "valid boolean"),
    (_with(("checks", 0, "markers"), None), "Answer.checks[0].markers", "valid array"),
])  # fmt: skip
def test_a_malformed_answer_names_the_bad_field(data: Any, field: str, says: str) -> None:
    with pytest.raises(DataError) as raised:
        Answer.from_dict(data)
    assert raised.value.field == field and says in str(raised.value), str(raised.value)
    assert str(raised.value).startswith(f"{field} ") and "to_dict()" in str(raised.value)  # the fix
    assert isinstance(raised.value, RagError) and isinstance(raised.value, ValueError)


def test_nan_and_infinite_timings_come_back() -> None:
    """``to_dict`` writes float("nan") as it is (``json.dumps`` as NaN): it reads back, not as an error."""
    data = {**ANSWER.to_dict(), "timings": {"total": float("nan"), "check": float("inf")}}
    timings = Answer.from_dict(json.loads(json.dumps(data))).timings
    assert timings["check"] == float("inf") and timings["total"] != timings["total"]


def test_data_that_is_not_json_names_the_type() -> None:
    with pytest.raises(DataError, match=r"^Usage is not JSON data"):
        Usage.from_dict({"prompt_tokens": {1, 2}})


def test_optional_fields_may_be_absent_and_unknown_keys_are_ignored() -> None:
    data = {"question": "q", "text": "t", "citations": [], "abstained": True, "answerer": "extractive",
            "hits": [], "extra": 1}
    assert Answer.from_dict(data) == Answer("q", "t", (), True, "extractive", ())
    assert Hit.from_dict({**HIT.to_dict(), "ranks": {}}).ranks == {}
    with pytest.raises(DataError, match=r"^Citation\.paper is missing"):
        Citation.from_dict({k: v for k, v in CITATION.to_dict().items() if k != "paper"})
