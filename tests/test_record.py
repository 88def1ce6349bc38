"""Questions about a paper's record (who wrote it, when and where it appeared, where to read it) are answered
from its metadata, checked against the cited paper's own record, or said to be missing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag.answer.citations import check_answer
from rag.answer.compose.record import record_fields, venue_stated
from rag.answer.notes import is_note, record_matches, record_sentence
from tests.conftest import make_paper
from tests.test_answer import answer, assert_faithful
from tests.test_compose import PAPERS

SPARSEMAX = replace(
    make_paper("From Softmax to Sparsemax: A Sparse Model of Attention and Multi-Label Classification",
               "We propose sparsemax, a new activation function similar to the traditional softmax, but able to "
               "output sparse probabilities. We obtain promising empirical results in multi-label classification."),
    authors=("André F. T. Martins", "Ramón Fernandez Astudillo"), year=2016, venue="ICML 2016",
    url="https://arxiv.org/abs/1602.02068",
)  # fmt: skip


@pytest.mark.parametrize(("question", "fields"), [
    ("Who wrote sparsemax?", ("authors",)),
    ("who are the authors of the TabPFN paper", ("authors",)),
    ("When was DIMAT published and who wrote it?", ("authors", "year")),
    ("What year did SeerAttention-R come out?", ("year",)),
    ("Which conference was LoFiT published in?", ("venue",)),
    ("link to the sparsemax paper", ("link",)),
    ("Where can I read the TIES-Merging paper?", ("link",)),
    ("link to it", ("link",)),
    ("Is there a link to it in the code?", ()),
    ("Which datasets does TabPFN use?", ()),
    ("When does sparsemax fail?", ()),
    ("Who benefits from TIES-Merging?", ()),
    ("How many authors of reviews agree?", ()),
    ("What do the authors of TabPFN claim about its speed?", ()),
    ("Is there a link to the code for AirRep?", ()),
    ("When did the attention sink phenomenon appear in LLMs?", ()),
    ("Where did the performance drop appear?", ()),
    ("Which conference datasets does the paper use?", ()),
])  # fmt: skip
def test_record_questions_are_told_from_abstract_questions(question: str, fields: tuple[str, ...]) -> None:
    assert record_fields(question) == fields


def test_who_wrote_it_is_answered_from_the_record_then_a_quote() -> None:
    _, final, _ = answer("Who wrote sparsemax, and when was it published?", [SPARSEMAX, *PAPERS])
    first, second = final.text.splitlines()[:2]
    assert first == ("The record of From Softmax to Sparsemax lists authors: André F. T. Martins, Ramón Fernandez "
                     "Astudillo; year: 2016. [1]")  # fmt: skip
    assert second.endswith("[1]") and not is_note(second)  # a quote of the paper itself
    assert final.not_stated is None and final.citations[0].paper.title == SPARSEMAX.title
    assert_faithful(final)


def test_a_record_without_the_field_says_it_is_not_stated() -> None:
    bare = replace(SPARSEMAX, authors=(), venue=None, year=None, url=None)
    _, final, _ = answer("Who wrote sparsemax?", [bare, *PAPERS])
    expected = "The From Softmax to Sparsemax abstract does not state its authors, and its record gives none."
    assert final.text.startswith(f"{expected} [1]\n") and final.not_stated == expected
    assert_faithful(final)


def test_the_checker_accepts_a_record_note_only_with_the_cited_papers_own_values() -> None:
    true = record_sentence("From Softmax to Sparsemax", SPARSEMAX, ("authors", "link"))
    assert true.endswith("link: https://arxiv.org/abs/1602.02068.") and record_matches(true, SPARSEMAX)
    forged = true.replace("Martins", "Smith")
    other = replace(SPARSEMAX, title="Another Paper", authors=("Someone Else",))
    checked = check_answer(f"{true} [1]\n{forged} [1]\n{true} [2]", [SPARSEMAX, other])
    assert [c.verdict for c in checked.checks] == ["supported", "unsupported", "unsupported"]
    many = replace(SPARSEMAX, authors=tuple(f"Author {i}" for i in range(14)))
    assert "Author 9, and 4 more;" in record_sentence("X", many, ("authors", "year"))


def test_a_record_question_through_the_pipeline(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Metadata ingested with the paper (as arXiv, BibTeX or CSV inputs give it) answers "who wrote it", and the
    answer's JSON carries the record note as a checked sentence."""
    from tests.conftest import SMALL_PAPERS, open_hash_pipeline

    pipeline = open_hash_pipeline(tmp_path / "data", [*SMALL_PAPERS, SPARSEMAX], abstain_threshold=0.0)
    final = pipeline.ask("Who wrote the sparsemax paper?", answerer="extractive")
    assert final.text.startswith("The record of From Softmax to Sparsemax lists authors: André F. T. Martins")
    assert final.checks[0].verdict == "supported" and final.to_dict()["not_stated"] is None



def test_a_record_note_must_name_the_cited_paper_and_an_unrecorded_one_must_be_true() -> None:
    """The reviewer's forgeries: another paper's name over the cited paper's values, a name that is only some of
    its title's words, and "its record gives none" for a paper whose record lists authors."""
    values = "lists authors: André F. T. Martins, Ramón Fernandez Astudillo; year: 2016."
    bare = replace(SPARSEMAX, title="Sparse Attention Revisited", authors=())
    claims = [
        f"The record of From Softmax to Sparsemax {values} [1]",
        f"The record of From Softmax {values} [1]",
        f"The record of Sparsemax Is All You Need {values} [1]",
        "The From Softmax to Sparsemax abstract does not state its authors, and its record gives none. [1]",
        "The Sparse Attention Revisited abstract does not state its authors, and its record gives none. [2]",
    ]
    checked = check_answer("\n".join(claims), [SPARSEMAX, bare])
    assert [c.verdict for c in checked.checks] == ["supported", "unsupported", "unsupported", "unsupported",
                                                   "supported"]


def test_a_record_question_about_a_paper_the_corpus_lacks_gets_no_other_papers_record() -> None:
    """"Who wrote the BERT paper?" over papers that only compare with BERT: no record note for any of them."""
    compares = replace(make_paper("Fast Tokenization for Speech", "We compare our tokenizer with BERT and beat "
                                  "BERT by 2 points."), authors=("Jane Doe",))  # fmt: skip
    _, final, _ = answer("Who wrote the BERT paper?", [compares, *PAPERS])
    assert "record" not in final.text and "Jane Doe" not in final.text


def test_who_wrote_a_bundled_paper_passes_the_abstention_gate(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """"Who wrote TabPFN?" asks nothing of the abstracts, so the abstention model doubts it; the paper it names is
    retrieved, so its record is the answer (the bundled listing pages give no authors)."""
    final = real_pipeline.ask("Who wrote TabPFN?", answerer="extractive")
    assert final.text.startswith("The TabPFN abstract does not state its authors, and its record gives none. [1]")
    assert final.citations[0].paper.title.startswith("TabPFN") and final.not_stated
    assert real_pipeline.ask("Who wrote the XYZZY-Net paper?", answerer="extractive").abstained


def test_record_questions_in_a_chat_and_about_missing_papers(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """The second reviewer's chats: a lower-case name in a later turn names its own paper (it was read as a
    follow-up to the last answer and got MaxSup's record); "who wrote it" two turns on names the paper the last
    answer cited; a title the corpus lacks is refused rather than given another paper's record."""
    def chat(*questions: str):  # type: ignore[no-untyped-def]
        history: list[dict[str, str]] = []
        for q in questions:
            final = real_pipeline.ask(q, history, answerer="extractive")
            history += [{"role": "user", "content": q}, {"role": "assistant", "content": final.text}]
        return final

    tabpfn = "The TabPFN abstract does not state its authors, and its record gives none. [1]"
    assert chat("what is maxsup", "who wrote tabpfn").text.startswith(tabpfn)
    assert chat("tabpfn", "how fast is it", "who wrote it").text.startswith(tabpfn)
    assert chat("Who wrote Attention Is All You Need?").abstained
    assert "record" not in chat("Who wrote TabPFN, and when was DIMAT published?").text  # one paper per question


def test_a_paper_that_proposes_a_version_of_a_name_is_not_its_paper() -> None:
    """"Who wrote BERT?" named a paper proposing "a hierarchical version of BERT" (the third reviewer)."""
    hierarchical = replace(make_paper("Neural Legal Judgment Prediction in English",
                                      "We propose a hierarchical version of BERT for long legal documents."),
                           authors=("Ilias Chalkidis",))  # fmt: skip
    _, final, _ = answer("Who wrote BERT?", [hierarchical, *PAPERS])
    assert final.abstained


def test_record_follow_ups_about_the_chats_paper(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """"who is the first author?" after "what is DIMAT?" was refused (the fourth reviewer); a paper named by two
    titles' words goes to the best-ranked one."""
    first = real_pipeline.ask("what is DIMAT?", answerer="extractive")
    history = [{"role": "user", "content": "what is DIMAT?"}, {"role": "assistant", "content": first.text}]
    final = real_pipeline.ask("who is the first author?", history, answerer="extractive")
    assert final.text.startswith("The DIMAT abstract does not state its authors")
    legal = real_pipeline.ask("who wrote the legal judgment prediction paper?", answerer="extractive")
    assert not legal.abstained and "does not state its authors" in legal.text


def test_a_venue_the_abstract_names_is_not_said_to_be_missing(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """A reviewer's "At which conference was TabPFN presented?" was told the abstract "does not state where it was
    published", then quoted "... was presented at the last ICLR conference"."""
    final = real_pipeline.ask("At which conference was TabPFN presented?", answerer="extractive")
    assert "does not state" not in final.text and "ICLR" in final.text.splitlines()[0], final.text
    assert venue_stated("The method was accepted at NeurIPS 2023.")
    assert not venue_stated("We evaluate on the ACL Anthology and the CVPR 2023 challenge data.")
