"""A question may name a paper by its link or id (arXiv page or id, DOI, a web address its abstract gives): the
link becomes the paper's title before any stage runs; a link no indexed paper has is dropped or, for a paper
link, refused with a message saying so (it used to pick whichever abstract held the words "https", "arxiv")."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SMALL_PAPERS, open_hash_pipeline

from rag.errors import QueryError
from rag.index.corpus import load_papers
from rag.retrieve.links import LinkIndex
from rag.types import Paper

DATA = Path(__file__).parent / "data"
PAPERS = [*load_papers([DATA]), *SMALL_PAPERS]
LORA = "LoRA: Low-Rank Adaptation of Large Language Models"
BERT = "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding"
CODE_URLS = ("https://github.com/someone/RIDG", "https://arxiv.org/abs/2106.09685")
CODE = Paper("code-paper", "A Paper With Code", f"We release code at {CODE_URLS[0]}. It works. An older version is "
             f"{CODE_URLS[1]}.", urls=CODE_URLS)  # fmt: skip
EXTRA = Paper("extra", "Extra Paper", "More.", urls=("https://github.com/microsoft/LoRA-extra",))
OLD = Paper("old", "Knot Floer Homology", "Knots.", arxiv_id="math/0209056")
INDEX = LinkIndex({p.id: p for p in [*PAPERS, CODE, EXTRA, OLD]})


@pytest.mark.parametrize(
    ("question", "resolved"),
    [
        ("Summarize https://arxiv.org/abs/2106.09685v2", f"Summarize {LORA}"),
        ("What rank does arXiv:2106.09685 use?", f"What rank does {LORA} use?"),
        ("what does https://arxiv.org/pdf/2106.09685.pdf find", f"what does {LORA} find"),
        ("Results of https://doi.org/10.18653/V1/N19-1423?", f"Results of {BERT}?"),
        ("Which paper released http://www.GitHub.com/someone/RIDG/ ?", "Which paper released A Paper With Code ?"),
        ("How does it compare with https://example.org/blog post?", "How does it compare with post?"),
        ("Is 2024.12345 a version number?", "Is 2024.12345 a version number?"),  # no paper has it: left as it is
        ("What is attention?", "What is attention?"),
        ("GPT-3.5 vs v1.2, e.g. 3.14?", "GPT-3.5 vs v1.2, e.g. 3.14?"),
        ("What is 10.18653/v1/N19-1423?", f"What is {BERT}?"),  # a bare DOI, punctuation after it
        ("doi:10.18653/v1/N19-1423, 2106.09685", f"{BERT}, {LORA}"),
        ("see https://doi.org/10.48550/arXiv.2106.09685", f"see {LORA}"),  # arXiv's own DOI
        ("arxiv.org/abs/2106.09685 and doi.org/10.18653/v1/N19-1423", f"{LORA} and {BERT}"),  # no scheme
        ("What is math.GT/0209056v2 about?", "What is Knot Floer Homology about?"),  # old-style, subject class
        ("Code: https://github.com/someone/ridg/tree/main#readme", "Code: A Paper With Code"),  # a page under it
        ("https://github.com/microsoft/LoRA-extra and https://github.com/microsoft/LoRA", "Extra Paper and"),
    ],
)
def test_links_become_titles_and_unknown_web_addresses_are_dropped(question: str, resolved: str) -> None:
    assert INDEX.resolve(question) == resolved


@pytest.mark.parametrize(
    "question",
    ["https://arxiv.org/abs/1111.11111", "Summarize https://arxiv.org/abs/1111.11111 please", "https://github.com/x/y",
     "What does arXiv:1111.11111 say?", "Results of 10.1145/1234.5678?"],
)
def test_a_paper_link_the_index_lacks_is_refused_with_the_fix(question: str) -> None:
    with pytest.raises(QueryError, match=r"^no indexed paper has the link \S+; ingest that paper"):
        INDEX.resolve(question)


def test_an_arxiv_link_an_abstract_mentions_is_not_that_papers_link() -> None:
    """CODE's abstract mentions LoRA's arXiv page: the link still names LoRA, by its id, never CODE."""
    assert INDEX.paper("https://arxiv.org/abs/2106.09685") is not None
    assert INDEX.paper("https://arxiv.org/abs/2106.09685").title == LORA  # type: ignore[union-attr]
    bare = LinkIndex({CODE.id: CODE})
    with pytest.raises(QueryError, match="no indexed paper has the link"):
        bare.resolve("Summarize https://arxiv.org/abs/2106.09685")


def test_ask_by_link_answers_from_the_linked_paper(tmp_path: Path) -> None:
    pipeline = open_hash_pipeline(tmp_path / "data", PAPERS)
    hits = pipeline.search("https://arxiv.org/abs/2106.09685", k=3)
    assert hits[0].paper.title == LORA
    answer = pipeline.ask("What does https://arxiv.org/abs/2106.09685 propose?")
    assert not answer.abstained and answer.citations and answer.citations[0].paper.title == LORA
    assert answer.question == "What does https://arxiv.org/abs/2106.09685 propose?"  # as asked; the answerer read
    assert "2106.09685" not in answer.text and "does not state" not in answer.text  # LoRA's title in its place
    with pytest.raises(QueryError, match="no indexed paper has the link"):
        pipeline.ask("Summarize https://arxiv.org/abs/1111.11111")


def test_a_link_to_a_paper_not_indexed_is_refused_at_the_call(tmp_path: Path) -> None:
    """Before anything streams: ``/v1`` answers such a request with a 400, not a 200 and an error event."""
    pipeline = open_hash_pipeline(tmp_path / "data", PAPERS)
    with pytest.raises(QueryError, match="no indexed paper has the link"):
        pipeline.stream("Summarize https://arxiv.org/abs/1111.11111")  # not iterated


def test_web_addresses_match_exactly_or_by_code_project_only() -> None:
    """OpenReview pages differ by their query; a host an abstract mentions is not every page on it; a code host's
    deeper pages belong to their project."""
    forum = [Paper(f"o{n}", f"Paper {n}", "A.", urls=(f"https://openreview.net/forum?id={n}",)) for n in "AB"]
    host = Paper("h", "Hub Paper", "A.", urls=("https://huggingface.co",))
    index = LinkIndex({p.id: p for p in [*forum, host, CODE]})
    assert index.resolve("Summarize https://openreview.net/forum?id=A please") == "Summarize Paper A please"
    assert index.resolve("Does https://openreview.net/forum?id=Z say?") == "Does say?"  # unknown: dropped
    assert index.resolve("Does https://huggingface.co/docs/transformers explain LoRA?") == "Does explain LoRA?"
    assert index.resolve("Code at https://github.com/someone/RIDG/blob/main/x.py?") == "Code at A Paper With Code?"


def test_an_unknown_paper_link_beside_a_question_of_its_own_is_dropped() -> None:
    assert INDEX.resolve("See doi 10.1000/182 for the definition of attention") == (
        "See doi for the definition of attention")  # fmt: skip
    assert INDEX.resolve("LoRA（https://arxiv.org/abs/2106.09685）是什么") == f"LoRA（{LORA}）是什么"
