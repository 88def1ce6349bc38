"""The query-focused composer on small hand-made papers: question analysis, comparison shape, follow-ups,
boilerplate left out, every quote verbatim from the abstract it cites."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from rag.answer.compose.analysis import analyse, named_entities
from rag.answer.compose.followup import resolve_followup, stands_alone
from rag.answer.compose.selection import is_background, is_boilerplate
from rag.text import markers_in, strip_markers
from rag.types import Answer, Paper
from tests.conftest import make_paper
from tests.test_answer import answer

OPERA = make_paper(
    "OPERA: Alleviating Hallucination in Multi-Modal Large Language Models",
    "Recent advances in multimodal large language models have been remarkable. OPERA is a decoding method "
    "that adds an over-trust penalty on the beam search scores. OPERA needs no additional data or training. "
    "Code is available at https://github.com/x/OPERA.",
)
VCD = make_paper(
    "VCD: Visual Contrastive Decoding for Multimodal Hallucination",
    "We introduce VCD, which contrasts output distributions from original and distorted visual inputs. "
    "VCD reduces hallucination on POPE by 7 points.",
)
MAXSUP = make_paper(
    "MaxSup: Overcoming Representation Collapse in Label Smoothing",
    "MaxSup penalizes the top-1 logit instead of the ground-truth logit. It fixes the error amplification of "
    "label smoothing. MaxSup improves ImageNet accuracy.",
)
ACTIVE = make_paper(
    "Active Learning with Uncertainty Sampling",
    "We study active learning with uncertainty sampling for text classification. Labels are queried where "
    "the model is least sure.",
)
PAPERS = [OPERA, VCD, MAXSUP, ACTIVE]


def verbatim(final: Answer, papers: Sequence[Paper] = PAPERS) -> None:
    """Every answer line's quote (label and markers off) is in the abstract its marker cites."""
    for line in final.text.splitlines():
        cited_papers = [final.citations[n - 1].paper for n in markers_in(line)]
        body = strip_markers(line)
        for paper in cited_papers:
            body = body.removeprefix(f"- {paper.title}: ")
        cited = [p.abstract for p in cited_papers]
        assert cited and any(body in abstract for abstract in cited), line


def test_question_kinds_and_entities() -> None:
    assert analyse("How do OPERA and VCD differ in reducing hallucination?").kind == "comparison"
    assert analyse("Which papers study label smoothing?").kind == "list"
    assert analyse("How much does VCD improve POPE?").kind == "quantity"
    assert analyse("What is MaxSup?").kind == "definition"
    assert analyse("Why does label smoothing hurt?").kind == "why"
    assert named_entities("What speedup does SeerAttention-R reach over FlashAttention-3 on QM9?") == [
        "SeerAttention-R", "FlashAttention-3", "QM9",
    ]


def test_comparison_names_both_methods_one_line_each_with_its_citation() -> None:
    _, final, _ = answer("How do OPERA and VCD differ in reducing hallucination?", PAPERS)
    lines = final.text.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"- {OPERA.title}: ") and lines[1].startswith(f"- {VCD.title}: ")
    titles = {c.marker: c.paper.title for c in final.citations}
    assert titles[markers_in(lines[0])[0]] == OPERA.title
    assert titles[markers_in(lines[1])[0]] == VCD.title
    verbatim(final)


def test_boilerplate_and_background_are_left_out() -> None:
    assert is_boilerplate("Code is available at https://github.com/x/OPERA.")
    assert is_background("Recent advances in multimodal large language models have been remarkable.")
    assert not is_boilerplate("OPERA needs no additional data or training.")
    _, final, _ = answer("What does the OPERA decoding method add to beam search?", PAPERS)
    assert "over-trust penalty" in final.text
    assert "github" not in final.text and "Recent advances" not in final.text
    verbatim(final)


def test_followup_which_of_them_resolves_to_the_cited_papers() -> None:
    history = [
        {"role": "user", "content": "How do OPERA and VCD differ in reducing hallucination?"},
        {"role": "assistant", "content": f"- {OPERA.title}: OPERA is a decoding method that adds an over-trust penalty "
         f"on the beam search scores. [1]\n- {VCD.title}: We introduce VCD, which contrasts output distributions. [2]"},
    ]
    question = "Which of them needs no training?"
    assert not stands_alone(question)
    standalone = resolve_followup(question, history)
    assert "OPERA" in standalone and "VCD" in standalone and standalone.endswith(question)
    _, final, _ = answer(question, PAPERS, history=history)
    assert "OPERA needs no additional data or training." in final.text
    assert final.citations[0].paper.title == OPERA.title
    verbatim(final)


@pytest.mark.parametrize(
    "question",
    [
        "What does MaxSup penalize instead of the ground-truth logit, and what does it fix?",
        "Switching topics: which paper learns feature crosses with self-attention?",
        "Unrelated: is there a dataset for relations between objects?",
    ],
)
def test_a_standalone_question_after_a_chat_is_not_rewritten(question: str) -> None:
    history = [
        {"role": "user", "content": "How does uncertainty sampling pick labels in active learning?"},
        {"role": "assistant", "content": "Labels are queried where the model is least sure. [1]"},
    ]
    assert resolve_followup(question, history) == question


def test_maxsup_question_after_active_learning_is_answered_from_maxsup() -> None:
    history = [
        {"role": "user", "content": "How does uncertainty sampling pick labels in active learning?"},
        {"role": "assistant", "content": "Labels are queried where the model is least sure. [1]"},
    ]
    _, final, _ = answer("What does MaxSup penalize, and what does it fix?", PAPERS, history=history)
    assert final.citations[0].paper.title == MAXSUP.title
    assert "penalizes the top-1 logit" in final.text and "error amplification" in final.text
    assert all(c.paper.title != ACTIVE.title for c in final.citations)
    verbatim(final)


def test_comparison_says_which_named_method_the_corpus_lacks() -> None:
    _, final, _ = answer("How do OPERA, VCD and WarpNet differ in reducing hallucination?", PAPERS)
    assert final.text.splitlines()[-1] == "No retrieved abstract covers WarpNet."
