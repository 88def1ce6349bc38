"""The pipeline's contract: input validation, answerer choice, and what an Answer carries."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SMALL_PAPERS, make_paper, open_hash_pipeline

from rag.answer.extractive import ABSTENTION
from rag.errors import ConfigError, QueryError
from rag.types import Answer

EXTRA = [
    make_paper(
        f"Sparse Autoencoder Variant {i}",
        f"We study sparse autoencoders with variant number {i}. Sparse autoencoders learn features of language "
        f"models, and variant {i} changes the sparsity penalty in a new way.",
        f"c.txt:{i}",
    )
    for i in range(1, 10)
]


def test_answer_carries_ranking_deeper_than_the_sources_it_used(tmp_path: Path) -> None:
    pipeline = open_hash_pipeline(tmp_path / "data", [*SMALL_PAPERS, *EXTRA], abstain_threshold=0.0)
    answer = pipeline.ask("What do sparse autoencoders learn in language models?", k=2)
    assert isinstance(answer, Answer)
    assert len(answer.hits) == 10  # RANKING_DEPTH, more than k
    used = {h.paper.id for h in answer.hits[:2]}
    assert answer.citations and {c.paper.id for c in answer.citations} <= used
    assert "sparse autoencoder" in answer.text.lower()


def test_stream_yields_text_then_the_final_answer(hash_pipeline) -> None:  # type: ignore[no-untyped-def]
    items = list(hash_pipeline.stream("rationale invariance loss for domain generalization", None))
    assert isinstance(items[-1], Answer) and all(isinstance(i, str) for i in items[:-1])
    final = items[-1]
    assert final.hits[0].paper.title == "Domain Generalization via Rationale Invariance"
    assert set(final.timings) >= {"embed", "retrieve", "rerank", "total"}


@pytest.mark.parametrize("question", ["", "   \n\t ", None, 42])
def test_bad_questions_get_a_clear_error(hash_pipeline, question) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError):
        hash_pipeline.ask(question)


@pytest.mark.parametrize(
    "history", ["not a list", [{"role": "system", "content": "x"}], [{"role": "user", "content": 3}]]
)
def test_bad_history_gets_a_clear_error(hash_pipeline, history) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError, match="history"):
        hash_pipeline.ask("what is a rationale matrix?", history)


def test_llm_answerer_without_llm_says_which_env_var(hash_pipeline) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        hash_pipeline.ask("what is a rationale matrix?", answerer="llm")


def test_extractive_abstains_with_the_shared_sentence_when_told(tmp_path: Path) -> None:
    pipeline = open_hash_pipeline(tmp_path / "data", abstain_threshold=1.01)  # nothing is confident enough
    answer = pipeline.ask("how are proteins folded by diffusion models?")
    assert answer.abstained and answer.text == ABSTENTION and not answer.citations
