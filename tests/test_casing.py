"""Coined names typed in lower case are read as the corpus writes them (``rag.retrieve.casing``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_paper

from rag.retrieve import acronym_cache
from rag.retrieve.acronym_cache import name_casing
from rag.retrieve.casing import NameCasing, is_coined, mine_casing

TEXTS = [
    "We propose DIMAT, a merging method. DIMAT merges agents. Code: https://github.com/x/dimat-code",
    "TIES-Merging resets small changes; see https://github.com/prateeky2806/ties-merging for TIES-Merging.",
    "We report mean average precision (MAP). A map of the region; the map is coarse; we map inputs.",
    "Fine-Tuning Language Models. Transformers are everywhere. We fine-tune GPT-4 and gpt-4 alike.",
    "CLIP aligns images and text. We READ documents with READ. CLIP and CLIP again.",
]


@pytest.mark.parametrize(
    ("word", "coined"),
    [("LoRA", True), ("TIES-Merging", True), ("GPT-4", True), ("SeerAttention-R", True), ("DIMAT", True),
     ("Fine-Tuning", False), ("Transformers", False), ("R", False), ("gpt-4", False)],
)  # fmt: skip
def test_coined_means_a_capital_after_the_first_letter_of_a_part(word: str, coined: bool) -> None:
    assert is_coined(word) is coined


def test_a_word_the_corpus_writes_coined_is_restored_and_an_ordinary_one_is_not() -> None:
    table = mine_casing(TEXTS)
    assert table["dimat"] == "DIMAT"
    assert table["ties-merging"] == "TIES-Merging"  # its lower-case link is no use of the word
    assert "map" not in table  # written "MAP" once, "map" three times
    assert "gpt-4" not in table  # one lower-case use against one coined: not 4 to 1
    assert "fine-tuning" not in table and "transformers" not in table  # title and sentence case
    assert table["clip"] == "CLIP" and table["read"] == "READ"  # ordinary words: restored only as compared names


def test_an_ordinary_word_is_restored_only_where_it_is_compared_with_a_name() -> None:
    casing = NameCasing(mine_casing(TEXTS))
    assert casing.restore("clip vs dimat") == "CLIP vs DIMAT"
    assert casing.restore("clip vs vcd") == "CLIP vs vcd"  # a name the corpus never writes stays as typed
    assert casing.restore("read versus clip?") == "read versus clip?"  # two ordinary words: no names
    assert casing.restore("read vs write") == "read vs write"  # the regression review's "READ vs write"
    assert casing.restore("how does clip read text") == "how does clip read text"  # no comparison: as typed
    assert casing.restore("clip the gradients vs noise") == "clip the gradients vs noise"  # not next to "vs"
    assert casing.restore("dimat vs xgboost") == "DIMAT vs xgboost"


def test_two_english_words_are_names_when_the_corpus_writes_both_coined_and_one_is_a_papers_own() -> None:
    """A reviewer's "compare sentinel and opera" answered OPERA alone: both are English words, so neither was cased,
    though the corpus writes both coined and OPERA heads its paper's title."""
    casing = NameCasing(mine_casing([*TEXTS, "We propose SENTINEL. SENTINEL helps.", "OPERA: decoding. OPERA works."]))

    def own(word: str) -> bool:
        return word.lower() == "opera"

    assert casing.restore("compare sentinel and opera", own) == "compare SENTINEL and OPERA"
    assert casing.restore("read versus clip?", own) == "read versus clip?"  # neither is a paper's own name
    assert casing.restore("map vs opera", own) == "map vs opera"  # the corpus writes "map" in lower case too
    assert casing.restore("compare sentinel and opera") == "compare sentinel and opera"  # no own names known


def test_restore_changes_only_all_lower_case_words() -> None:
    casing = NameCasing({"dimat": "DIMAT", "ties-merging": "TIES-Merging", "it": "IT", "lora": "LoRA"})
    assert casing.restore("dimat vs ties-merging?") == "DIMAT vs TIES-Merging?"
    assert casing.restore("Dimat and LORA, as typed") == "Dimat and LORA, as typed"
    assert casing.restore("is it about lora's rank") == "is it about LoRA's rank"  # a stopword stays
    assert NameCasing({}).restore("dimat") == "dimat"


def test_the_table_is_cached_per_stamp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    papers = [make_paper("DIMAT: Decentralized Merging", "We propose DIMAT. DIMAT merges agents.")]
    assert name_casing(papers, tmp_path, "emb", "s1").table == {"dimat": "DIMAT"}
    assert list(tmp_path.glob("casing-*.json"))

    def refuse(texts: object) -> dict[str, str]:
        raise AssertionError("mined again")

    monkeypatch.setattr(acronym_cache, "mine_casing", refuse)
    assert name_casing(papers, tmp_path, "emb", "s1").table == {"dimat": "DIMAT"}
    with pytest.raises(AssertionError, match="mined again"):
        name_casing(papers, tmp_path, "emb", "s2")


def test_a_lower_case_comparison_is_answered_as_the_cased_one(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    typed = real_pipeline.ask("dimat vs ties-merging", answerer="extractive")
    cased = real_pipeline.ask("DIMAT vs TIES-Merging", answerer="extractive")
    assert typed.question == "dimat vs ties-merging"  # the user's words are kept
    assert typed.text == cased.text and "- DIMAT:" in typed.text
    assert [c.paper.title for c in typed.citations] == [c.paper.title for c in cased.citations]
    assert len(typed.citations) == 2



def test_names_typed_in_capitals_or_full_width_compare_as_typed_normally(real_pipeline) -> None:  # type: ignore[no-untyped-def]
    """"DIMAT VS TIES-MERGING" gave "VS" a paper (an abstract writing "vs." many times); full-width letters and a
    Unicode hyphen lost the comparison."""
    cased = real_pipeline.ask("DIMAT vs TIES-Merging", answerer="extractive").text
    for typed in ("DIMAT VS TIES-MERGING", "ｄｉｍａｔ vs ties\u2010merging"):
        final = real_pipeline.ask(typed, answerer="extractive")
        assert len(final.citations) == 2 and final.text.splitlines()[0] == cased.splitlines()[0], typed
