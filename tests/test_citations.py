"""Citation markers: parsing every style, renumbering, removal of dangling markers, sentence checks."""

from __future__ import annotations

import pytest

from rag.answer.citations import check_answer, renumber
from rag.text import answer_sentences, numbers_in, parse_markers, strip_markers
from tests.conftest import SMALL_PAPERS, HashEmbedder, make_paper

SAE, RIDG, SPEECH, GNN = SMALL_PAPERS


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("A claim [1].", [(1,)]),
        ("A claim [1, 3].", [(1, 3)]),
        ("A claim [1,2;4].", [(1, 2, 4)]),
        ("A claim [2-4].", [(2, 3, 4)]),
        ("A claim [2–4].", [(2, 3, 4)]),
        ("A claim 【2】.", [(2,)]),
        ("A claim 【1, 2】.", [(1, 2)]),
        ("A claim (3).", []),  # enumerations and parentheses are text
        ("A claim (1, 2), then more (4)", []),
        ("A claim [Source 2] and [source 3].", [(2,), (3,)]),
        ("A claim [1][2].", [(1,), (2,)]),
        ("Two steps: (1) encode, (2) decode.", []),
        ("Accuracy rose to 93.7% (from 49.6%).", []),
        ("Arrays like x[0] are not markers [1].", [(1,)]),  # sources count from 1
        ("It maps R to [0,1] to estimate probabilities [2].", [(2,)]),
    ],
)
def test_parse_markers_styles(text: str, numbers: list[tuple[int, ...]]) -> None:
    assert [m.numbers for m in parse_markers(text)] == numbers


def test_marker_spans_point_at_the_marker() -> None:
    text = "Claim 【12】 here."
    (marker,) = parse_markers(text)
    assert text[marker.start : marker.end] == "【12】"


def test_renumber_by_first_use_and_remove_dangling() -> None:
    text, order, removed = renumber("A [3]. B [1, 3]. C [7]. D 【2】. E (0). F [9][2] and ![pic] , ok", 5)
    assert text == "A [1]. B [1, 2]. C. D [3]. E (0). F [3] and ![pic] , ok"
    assert order == [3, 1, 2]
    assert removed == (7, 9)
    assert renumber("A [1][2].", 2)[0] == "A [1] [2]."


def test_strip_markers_and_numbers() -> None:
    assert strip_markers("A claim [1]. More [2, 3].") == "A claim. More."
    assert numbers_in("It explains 42.5% of 1,000 runs [3].") == {"42.5", "1000"}


def test_answer_sentences_keep_following_markers() -> None:
    text = "First claim. [1] Second, e.g. this one [2]. Third (3).\n- Title: quote [4]"
    assert answer_sentences(text) == [
        "First claim. [1]", "Second, e.g. this one [2].", "Third (3).", "- Title: quote [4]"
    ]


def test_verbatim_quotes_are_supported_and_quoted() -> None:
    text = (
        "SAE features explain 42.5% of the variance. [2] "
        "The loss makes the rationale matrices of samples in the same category similar. [1]"
    )
    checked = check_answer(text, [RIDG, SAE], HashEmbedder())
    assert checked.text.startswith("SAE features explain 42.5% of the variance. [1]")
    assert [c.paper.title for c in checked.citations] == [SAE.title, RIDG.title]
    assert [c.marker for c in checked.citations] == [1, 2]
    assert all(c.verdict == "supported" for c in checked.checks)
    assert checked.citations[0].quote == "SAE features explain 42.5% of the variance."
    assert checked.citations[0].sentence_indices == (2,)


def test_only_cited_sources_are_listed() -> None:
    checked = check_answer("It runs 3.5x faster than prior work [3].", [SAE, RIDG, SPEECH, GNN], HashEmbedder())
    assert [c.paper for c in checked.citations] == [SPEECH]
    assert checked.text == "It runs 3.5x faster than prior work [1]."


def test_marker_past_the_sources_is_removed_and_reported() -> None:
    checked = check_answer("Word error rate drops by 1.2 points [1]. SAEs are great [7].", [SPEECH], HashEmbedder())
    assert checked.removed_markers == (7,)
    assert "[7]" not in checked.text
    assert [c.paper for c in checked.citations] == [SPEECH]
    # the sentence that lost its only marker is flagged, not kept as supported
    assert checked.checks[-1].verdict == "unsupported"


def test_number_missing_from_the_source_is_unsupported() -> None:
    text = "The tokenizer runs 7.5x faster than prior work for speech recognition [1]."
    checked = check_answer(text, [SPEECH], HashEmbedder())
    (check,) = checked.checks
    assert check.verdict == "unsupported"
    assert "7.5" in check.reason


def test_paraphrase_is_supported_and_unrelated_claim_is_not() -> None:
    embedder = HashEmbedder()
    good = check_answer("We present a tokenizer for speech recognition, evaluated on LibriSpeech [1].", [SPEECH],
                        embedder)
    assert good.checks[0].verdict == "supported"
    bad = check_answer("Graph neural networks predict molecule properties with edge attention [1].", [SPEECH], embedder)
    assert bad.checks[0].verdict == "unsupported"
    assert bad.citations[0].verdict == "unsupported"


def test_answer_without_citations_is_flagged() -> None:
    checked = check_answer("Sparse autoencoders are interpretable. They explain variance.", [SAE], HashEmbedder())
    assert checked.citations == ()
    assert len(checked.checks) == 2
    assert all(c.verdict == "unsupported" and c.reason == "cites no source" for c in checked.checks)


def test_unmarked_sentence_takes_the_next_sentences_markers() -> None:
    text = (
        "We train sparse autoencoders on the residual stream of a language model. "
        "The learned features are more interpretable than neurons [1]."
    )
    checked = check_answer(text, [SAE], HashEmbedder())
    assert [c.markers for c in checked.checks] == [(1,), (1,)]
    assert all(c.verdict == "supported" for c in checked.checks)


def test_list_lines_with_titles_are_checked_on_the_quote() -> None:
    text = (
        f"- {SPEECH.title}: It is evaluated on LibriSpeech. [1]\n"
        f"- {GNN.title}: It improves accuracy on QM9 by 8%. [2]"
    )
    checked = check_answer(text, [SPEECH, GNN], HashEmbedder())
    assert [c.verdict for c in checked.checks] == ["supported", "supported"]
    quotes = [c.quote for c in checked.citations]
    assert quotes == ["It is evaluated on LibriSpeech.", "It improves accuracy on QM9 by 8%."]


def test_marker_without_period_ends_a_sentence() -> None:
    assert answer_sentences("Code is at https://x.org/y [1] Then a claim [2]") == [
        "Code is at https://x.org/y [1]", "Then a claim [2]"
    ]


def test_list_titles_with_question_marks_stay_whole() -> None:
    paper = make_paper("Did the Neurons Read your Book? Membership Inference", "We detect training texts. It works.")
    checked = check_answer(f"- {paper.title}: We detect training texts. [1]", [paper], HashEmbedder())
    (check,) = checked.checks
    assert check.verdict == "supported" and check.reason == "verbatim quote"


def test_two_quotes_glued_together_are_not_a_verbatim_quote() -> None:
    text = "It is evaluated on LibriSpeech [1] Graph neural networks predict molecule properties from atoms."
    checked = check_answer(text, [SPEECH], HashEmbedder())
    assert [c.verdict for c in checked.checks] == ["supported", "unsupported"]
