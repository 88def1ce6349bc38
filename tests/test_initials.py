"""Acronyms the corpus never writes, read by their initials (``rag.retrieve.initials``)."""

from __future__ import annotations

from rag.retrieve.initials import Initials, spelled_phrase

LEGAL = [
    "Neural Legal Judgment Prediction in English. We release a legal judgment prediction dataset of the European "
    "Court of Human Rights.",
    "Deconfounding Legal Judgment Prediction for European Court of Human Rights Cases.",
    "Paragraph-level Rationale Extraction. Cases of the European Court of Human Rights.",
    "Knowledge distillation with the KL divergence.",
    "We minimise the KL divergence of the two models.",
    "A state of the art method; a state of the art model.",
]


def test_an_acronym_is_the_phrase_most_papers_write_with_its_initials() -> None:
    assert spelled_phrase("LJP", LEGAL) == "legal judgment prediction"
    assert spelled_phrase("ECtHR", LEGAL) == "european court of human rights"  # "of" joins, the lower "t" is no initial
    assert spelled_phrase("KLD", LEGAL) == ""  # "KL divergence": an abbreviation gives no initials
    assert spelled_phrase("SAM", LEGAL) == ""  # "state of the art method": "method" is a stopword
    assert spelled_phrase("NJP", LEGAL) == ""  # one paper's "Neural ... Judgment Prediction" is not enough
    tie = ["graph neural networks", "graph neural networks", "generative noise nets", "generative noise nets"]
    assert spelled_phrase("GNN", tie) == ""  # no phrase clearly first


def test_only_acronyms_the_corpus_never_writes_are_spelled_out_and_each_is_looked_up_once() -> None:
    scans: list[int] = []

    def texts() -> list[str]:
        scans.append(1)
        return LEGAL

    initials = Initials(texts, known=lambda word: word == "ECHR")
    assert initials.spell("LJP papers on the ECHR?") == "legal judgment prediction papers on the ECHR?"
    assert initials.spell("and LJP-style, LJP2 or ljp?") == "and LJP-style, LJP2 or ljp?"  # a whole acronym only
    assert initials.spell("more LJP work") == "more legal judgment prediction work" and len(scans) == 1
    assert initials.spell("GRPO and MT") == "GRPO and MT"  # no phrase; two capitals are too few


def test_a_typed_acronym_the_abstracts_spell_out_finds_their_papers(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """A reviewer's "papers on the ECtHR dataset" was refused: no abstract writes "ECtHR", three write "European
    Court of Human Rights"; "LJP papers" had ranked a membership inference paper first."""
    for question in ("papers on the ECtHR dataset", "LJP papers"):
        answer = real_pipeline.ask(question, answerer="extractive")
        assert not answer.abstained, (question, answer.text)
        assert "Legal Judgment Prediction" in answer.citations[0].paper.title, (question, answer.text)
