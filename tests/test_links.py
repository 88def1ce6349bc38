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
CODE = Paper("code-paper", "A Paper With Code", "We release code at https://github.com/someone/RIDG. It works.",
             urls=("https://github.com/someone/RIDG",))  # fmt: skip
INDEX = LinkIndex({p.id: p for p in [*PAPERS, CODE]})


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
    ],
)
def test_links_become_titles_and_unknown_web_addresses_are_dropped(question: str, resolved: str) -> None:
    assert INDEX.resolve(question) == resolved


@pytest.mark.parametrize(
    "question",
    ["https://arxiv.org/abs/1111.11111", "Summarize https://arxiv.org/abs/1111.11111 please", "https://github.com/x/y"],
)
def test_a_paper_link_the_index_lacks_is_refused_with_the_fix(question: str) -> None:
    with pytest.raises(QueryError, match=r"^no indexed paper has the link https://\S+; ingest that paper"):
        INDEX.resolve(question)


def test_ask_by_link_answers_from_the_linked_paper(tmp_path: Path) -> None:
    pipeline = open_hash_pipeline(tmp_path / "data", PAPERS)
    hits = pipeline.search("https://arxiv.org/abs/2106.09685", k=3)
    assert hits[0].paper.title == LORA
    answer = pipeline.ask("What does https://arxiv.org/abs/2106.09685 propose?")
    assert not answer.abstained and answer.citations and answer.citations[0].paper.title == LORA
    with pytest.raises(QueryError, match="no indexed paper has the link"):
        pipeline.ask("Summarize https://arxiv.org/abs/1111.11111")
