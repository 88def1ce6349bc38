"""Typos in a question are read as the corpus's words (``rag.retrieve.spelling``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_paper

from rag.retrieve import acronym_cache
from rag.retrieve.acronym_cache import spelling_table
from rag.retrieve.spelling import Speller, is_typo_of, mine_spelling

TEXTS = [
    "Integrated gradients satisfy two axioms. Integrated gradients need no retraining.",
    "Retrieval heads matter for retrieval; pruning retrieval heads hurts. Label smoothing and smoothing again.",
    "We propose Mixout; mixout regularizes fine-tuning. Minimal changes suffice, minimal indeed. Revealing, revealing.",
    "Membership inference on membership data. See https://github.com/x/gradiants-code for code.",
]
SPELLER = Speller(mine_spelling(TEXTS))


def test_the_table_counts_the_corpus_words_but_not_links() -> None:
    table = mine_spelling(TEXTS)
    assert table["retrieval"] == 3 and table["gradients"] == 2 and table["mixout"] == 2
    assert "gradiants" not in table  # only in a link
    assert "two" not in table  # shorter than four letters
    assert "hurts" not in table  # written once


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("integrated gradiants axioms", "integrated gradients axioms"),  # a vowel for a vowel
     ("retreival heads", "retrieval heads"),  # two letters swapped
     ("label smothing", "label smoothing"),  # a letter dropped
     ("membrship inference", "membership inference"),
     ("Gradiants?", "Gradients?")],  # the typed capital stays
)  # fmt: skip
def test_a_typo_is_spelled_as_the_corpus_does(typed: str, meant: str) -> None:
    assert SPELLER.correct(typed) == meant


@pytest.mark.parametrize(
    "typed",
    ["minimax games",  # no typo of "minimal": x and l are not neighbouring keys
     "rescaling scores",  # an English word the tokenizer's vocabulary lacks ("revealing" is two letters away)
     "MixOut", "ReTreival",  # typed as coined names
     "axiom",  # one letter from nothing the corpus writes twice
     "jeads",  # the first letter is kept: no "heads"
     "the gradients"],
)  # fmt: skip
def test_words_that_are_no_typo_of_a_corpus_word_stay(typed: str) -> None:
    assert SPELLER.correct(typed) == typed


def test_a_word_the_index_knows_stays() -> None:
    assert Speller(mine_spelling(TEXTS), known=lambda w: w == "mixtout").correct("mixtout") == "mixtout"


def test_a_typo_is_a_swap_a_dropped_letter_or_a_wrong_vowel() -> None:
    assert is_typo_of("gradiants", "gradients") and is_typo_of("tarining", "training")
    assert is_typo_of("allignment", "alignment") and is_typo_of("contrasstive", "contrastive")  # a letter twice
    assert is_typo_of("modle", "model") and is_typo_of("smothing", "smoothing")


@pytest.mark.parametrize(
    ("typed", "word"),
    [("minimax", "minimal"), ("dinat", "dimat"), ("ptuning", "pruning"),  # a changed consonant
     ("convbert", "convert"), ("sharded", "shared"), ("codecs", "codes"), ("mixtout", "mixout"),  # an added letter
     ("sobel", "sobol"), ("pexels", "pixels"), ("struct", "strict"),  # a vowel in a short word
     ("probs", "probes"),  # a letter dropped from a short word
     ("repl", "relp"), ("uint", "unit"),  # a swap in a word of four letters
     ("imagen", "image"), ("embedder", "embedded")],  # the last letter
)  # fmt: skip
def test_real_words_the_corpus_lacks_are_no_typos_of_its_words(typed: str, word: str) -> None:
    """The second regression check: each of these was read as the corpus word, and an off-corpus question was
    answered from an unrelated paper."""
    assert not is_typo_of(typed, word)


def test_the_table_is_cached_per_stamp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    papers = [make_paper("Mixout regularization", "We propose mixout. Mixout regularizes.")]
    assert spelling_table(papers, tmp_path, "emb", "s1")["mixout"] == 3
    assert list(tmp_path.glob("spelling-*.json"))

    def refuse(texts: object) -> dict[str, int]:
        raise AssertionError("mined again")

    monkeypatch.setattr(acronym_cache, "mine_spelling", refuse)
    assert spelling_table(papers, tmp_path, "emb", "s1")["mixout"] == 3
    with pytest.raises(AssertionError, match="mined again"):
        spelling_table(papers, tmp_path, "emb", "s2")


@pytest.mark.parametrize(
    ("typed", "title"),
    [("integrated gradiants axioms", "Axiomatic Attribution for Deep Networks"),
     ("retreival heads pruning effect", "Retrieval Head Mechanistically Explains Long-Context Factuality"),
     ("label smothing problems", "MaxSup: Overcoming Representation Collapse in Label Smoothing")],
)  # fmt: skip
def test_a_question_with_a_typo_is_answered_from_the_paper_meant(real_pipeline, typed: str, title: str) -> None:  # type: ignore[no-untyped-def]
    answer = real_pipeline.ask(typed, answerer="extractive")
    assert not answer.abstained
    assert answer.citations and answer.citations[0].paper.title == title
    assert real_pipeline.search(typed, k=1)[0].paper.title == title


@pytest.mark.parametrize(
    "typed",
    ["mnli", "unet",  # four letters: an acronym, not a typo of "monli" or "unit"
     "imagen", "commonsenseqa", "embedder",  # the last letters changed: another word form or a name
     "whos", "shouldnt"],  # contractions without the apostrophe
)  # fmt: skip
def test_names_and_word_forms_the_corpus_lacks_are_no_typos(typed: str) -> None:
    """A regression check found these read as "MoNLI", "image", "commonsense", "embedded", "whose": questions
    about benchmarks the corpus lacks were then answered from unrelated papers."""
    table = {w: 3 for w in ("monli", "unit", "image", "commonsense", "embedded", "whose", "should")}
    assert Speller(table).correct(typed) == typed


def test_a_dropped_letter_inside_the_word_is_still_a_typo() -> None:
    assert Speller({"sparsemax": 3, "softmax": 3}).correct("sparsemx vs softmx") == "sparsemax vs softmax"
