"""The citation checker: renumbering, removal of dangling markers, sentence checks (marker syntax and
sentence rules: ``tests/test_text.py``)."""

from __future__ import annotations

from rag.answer.citations import check_answer
from rag.answer.markers import renumber
from tests.conftest import SMALL_PAPERS, HashEmbedder, make_paper

SAE, RIDG, SPEECH, GNN = SMALL_PAPERS


def test_renumber_by_first_use_and_remove_dangling() -> None:
    text, order, removed = renumber("A [3]. B [1, 3]. C [7]. D 【2】. E (0). F [9][2] and ![pic] , ok", 5)
    assert text == "A [1]. B [1, 2]. C. D [3]. E (0). F [3] and ![pic] , ok"
    assert order == [3, 1, 2]
    assert removed == (7, 9)
    assert renumber("A [1][2].", 2)[0] == "A [1] [2]."


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


def test_list_titles_with_question_marks_stay_whole() -> None:
    paper = make_paper("Did the Neurons Read your Book? Membership Inference", "We detect training texts. It works.")
    checked = check_answer(f"- {paper.title}: We detect training texts. [1]", [paper], HashEmbedder())
    (check,) = checked.checks
    assert check.verdict == "supported" and check.reason == "verbatim quote"


def test_two_quotes_glued_together_are_not_a_verbatim_quote() -> None:
    text = "It is evaluated on LibriSpeech [1] Graph neural networks predict molecule properties from atoms."
    checked = check_answer(text, [SPEECH], HashEmbedder())
    assert [c.verdict for c in checked.checks] == ["supported", "unsupported"]


def test_quote_parts_joined_with_a_gap_are_verbatim_when_each_is_in_order() -> None:
    text = "We train sparse autoencoders (SAEs) … SAE features explain 42.5% of the variance. [1]"
    checked = check_answer(text, [SAE], HashEmbedder())
    (check,) = checked.checks
    assert check.verdict == "supported" and check.reason == "verbatim quote"
    assert checked.citations[0].sentence_indices == (0, 2)
    assert checked.citations[0].quote == f"{SAE.abstract.split('. ')[0]}. SAE features explain 42.5% of the variance."


def test_a_fabricated_part_between_gaps_is_not_verbatim() -> None:
    text = "We train sparse autoencoders (SAEs) … on every layer of GPT-4 … SAE features explain 42.5% [1]"
    (check,) = check_answer(text, [SAE], HashEmbedder()).checks
    assert check.reason != "verbatim quote" and check.verdict != "supported"
    swapped = "SAE features explain 42.5% of the variance … We train sparse autoencoders (SAEs) [1]"
    (check,) = check_answer(swapped, [SAE], HashEmbedder()).checks
    assert check.reason != "verbatim quote"


def test_gap_parts_must_come_from_one_cited_abstract() -> None:
    text = "We train sparse autoencoders (SAEs) … It is evaluated on LibriSpeech. [1, 2]"
    (check,) = check_answer(text, [SAE, SPEECH], HashEmbedder()).checks
    assert check.reason != "verbatim quote"


def test_a_later_clause_quoted_after_a_gap_is_verbatim_and_needs_no_embedding() -> None:
    """The composer's "… later clause" (split off as an answer sentence of its own) is a verbatim quote: the
    checker says so without embedding anything (it used to fall back to the embedding proxy, ~100 ms). A made-up
    clause after a gap, or a single word, is not one."""
    embedder = HashEmbedder()
    text = "We train sparse autoencoders (SAEs) [1] … features explain 42.5% of the variance. [1]"
    checked = check_answer(text, [SAE], embedder)
    assert [(c.verdict, c.reason) for c in checked.checks] == [("supported", "verbatim quote")] * 2
    assert embedder.calls == [] and checked.citations[0].sentence_indices == (0, 2)
    for made_up in ("… features explain 90% of the variance. [1]", "… variance. [1]"):
        (check,) = check_answer(made_up, [SAE], HashEmbedder()).checks
        assert check.reason != "verbatim quote", made_up
