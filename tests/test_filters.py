"""Year, author and category filters of ``rag.search/ask/stream``: applied before ranking (every stage sees only
the allowed papers), checked by content, and bad values refused with a message saying what to send."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import SMALL_PAPERS, open_hash_pipeline

from rag.errors import QueryError
from rag.filters import PaperFilter, filter_key
from rag.index.corpus import load_papers
from rag.types import Paper

DATA = Path(__file__).parent / "data"
PAPERS = [*load_papers([DATA]), *SMALL_PAPERS]
BY_TITLE = {p.title: p for p in PAPERS}
ATTENTION = "Attention Is All You Need"
SUBQUADRATIC = "Sub-quadratic 𝒪(n log n) Attention for Long-Context Transformers"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return open_hash_pipeline(tmp_path_factory.mktemp("filters") / "data", PAPERS)


def _allowed(**filters: Any) -> set[str]:
    ids = PaperFilter({p.id: p for p in PAPERS}).allowed(filter_key(filters))
    assert ids is not None
    return {p.title for p in PAPERS if p.id in ids}


def test_year_range_is_inclusive_and_skips_papers_of_unknown_year() -> None:
    got = _allowed(since=2019, until=2021)
    assert got == {
        "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
        "Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks",
        "LoRA: Low-Rank Adaptation of Large Language Models",
    }
    assert _allowed(until=1999) == {"The Large N Limit of Superconformal Field Theories and Supergravity"}
    assert all(BY_TITLE[t].year is not None and BY_TITLE[t].year >= 2023 for t in _allowed(since="2023"))  # type: ignore[operator]
    assert not {p.title for p in SMALL_PAPERS} & _allowed(since=1000)


@pytest.mark.parametrize("name", ["müller", "MULLER", "Müller", "jörg  müller", "mül"])
def test_author_is_a_case_and_accent_insensitive_word_start(name: str) -> None:
    assert _allowed(author=name) == {SUBQUADRATIC}


@pytest.mark.parametrize(("query", "name", "named"), [
    ("Ng", "Ming-Wei Chang", False), ("Li", "Jacob Devlin", False), ("Li", "Lin Wang", False),
    ("Ng", "Andrew Y. Ng", True), ("Li", "Fei-Fei Li", True), ("Müller, J", "Jörg Müller", True),
    ("J. Müller", "Jörg Müller", True), ("mueller", "Jörg Müller", True), ("Vaswani, A.", "Ashish Vaswani", True),
    ("Müller, K", "Jörg Müller", False), ("chang ming", "Ming-Wei Chang", True), ("Brien", "Tim O'Brien", True),
    ("O’Brien", "Tim O'Brien", True), ("飞飞", "李飞飞", True), ("飞飞", "李明", False),
])  # fmt: skip
def test_author_words_name_whole_words_or_their_starts(query: str, name: str, named: bool) -> None:
    """The reviewer's "--author Ng" listed Ming-Wei Chang's paper and "Müller, J" listed nothing."""
    from rag.filters import _fold_name, author_named

    assert author_named(_fold_name(query), name) is named


def test_author_alternatives_and_accents_in_the_name() -> None:
    assert _allowed(author=["sjostrom", "devlin"]) == {
        "Gradient Noise in Schrödinger-Bridge Samplers: A Study of Æsthetic Failure Modes",
        "BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
    }
    assert _allowed(author="Garcia") == {SUBQUADRATIC}  # García


def test_category_matches_exactly_or_by_archive() -> None:
    assert _allowed(category="hep-th") == {"The Large N Limit of Superconformal Field Theories and Supergravity"}
    assert _allowed(category="CS.cl") == {
        ATTENTION,
        "LoRA: Low-Rank Adaptation of Large Language Models",
        "Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks",
    }
    assert _allowed(category="cs") == _allowed(category=["cs.CL", "cs.LG", "cs.AI"])
    assert _allowed(category="c") == set()  # not a prefix match inside a name
    assert _allowed(category="computer science - machine learning") == {
        SUBQUADRATIC, "Gradient Noise in Schrödinger-Bridge Samplers: A Study of Æsthetic Failure Modes"
    }  # fmt: skip


def test_a_comma_lists_categories_and_names_are_spelled_as_users_type_them() -> None:
    assert _allowed(category="cs.CL, hep-th") == _allowed(category=["cs.CL", "hep-th"])
    with pytest.raises(QueryError, match="filter 'category' needs a non-empty value"):
        filter_key({"category": " , "})
    people = [Paper(f"a{i}", f"T{i}", "A.", authors=(name,)) for i, name in enumerate(
        ["Łukasz Kaiser", "Anna Guðmundsdóttir", "Sean O'Brien", "J. R. R. Tolkien", "Ada Okonkwo-Adeyemi"])]
    allowed = PaperFilter({p.id: p for p in people}).allowed
    for typed, pid in [("lukasz", "a0"), ("gudmundsdottir", "a1"), ("O’Brien", "a2"), ("J.R.R. Tolkien", "a3"),
                       ("okonkwo adeyemi", "a4")]:  # fmt: skip
        assert allowed(filter_key({"author": typed})) == {pid}, typed


def test_filters_combine() -> None:
    assert _allowed(category="cs.LG", since=2021, author="hu") == {"LoRA: Low-Rank Adaptation of Large Language Models"}


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"since": "soon"}, "filter 'since' takes a year like 2021"),
        ({"until": 20.5}, "filter 'until' takes a year like 2021"),
        ({"since": [2020, 2021]}, "filter 'since' takes a year like 2021"),
        ({"since": True}, "takes a year"),
        ({"since": 2023, "until": 2020}, "since=2023 is after until=2020"),
        ({"author": 7}, "filter 'author' takes a string or a list of strings"),
        ({"category": ["  "]}, "filter 'category' needs a non-empty value"),
        ({"year": 2020}, "unknown filter 'year'; valid filters: listing_date, source, since, until, author, category"),
    ],
)
def test_bad_filter_values_are_refused(pipeline, filters: dict[str, Any], message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError) as info:
        pipeline.search("attention", **filters)
    assert message in str(info.value)


def test_search_is_restricted_before_ranking(pipeline) -> None:  # type: ignore[no-untyped-def]
    top = pipeline.search("attention transformers sequence", k=1)
    assert top[0].paper.title in {ATTENTION, SUBQUADRATIC}
    # the best paper is filtered out, yet k=1 still gets the best allowed paper (not an empty top-1)
    (hit,) = pipeline.search("attention transformers sequence", k=1, author="müller")
    assert hit.paper.title == SUBQUADRATIC
    (hit,) = pipeline.search("attention transformers sequence", k=1, until=2016)
    assert hit.paper.title == "The Large N Limit of Superconformal Field Theories and Supergravity"
    hits = pipeline.search("language models", k=10, since=2020, category="cs")
    assert hits and all(h.paper.year >= 2020 and any(c.startswith("cs.") for c in h.paper.categories) for h in hits)
    assert {h.paper.title for h in hits} <= _allowed(since=2020, category="cs")


def test_ask_and_stream_cite_only_allowed_papers(pipeline) -> None:  # type: ignore[no-untyped-def]
    answer = pipeline.ask("What does LoRA freeze and inject?", since=2021, category="cs.CL")
    assert answer.citations and {c.paper.title for c in answer.citations} == {
        "LoRA: Low-Rank Adaptation of Large Language Models"
    }
    assert all(h.paper.year is not None and h.paper.year >= 2021 for h in answer.hits)
    stream = pipeline.stream("What does LoRA freeze?", until=2020)
    assert all(h.paper.year is not None and h.paper.year <= 2020 for h in stream.answer.hits)
    assert "LoRA" not in stream.answer.text


def test_filters_that_leave_no_paper_say_so_instead_of_abstaining(pipeline) -> None:  # type: ignore[no-untyped-def]
    """Not "the corpus does not cover this question": the filters excluded every paper, and the answer says to widen
    them (``rag search`` says the same); nothing is retrieved or cited."""
    from rag.answer.base import ABSTENTION, NO_MATCH

    for filters in ({"since": 2090}, {"author": "Zzyzx Nobody"}, {"since": 2021, "until": 2021, "category": "hep-th"}):
        stream = pipeline.stream("What does LoRA freeze and inject?", **filters)
        assert list(stream) == [NO_MATCH], filters
        answer = stream.answer
        assert answer.abstained and answer.text == NO_MATCH != ABSTENTION and not answer.citations and not answer.hits
    assert pipeline.ask("What does LoRA freeze and inject?", since=2021).text != NO_MATCH


def test_the_filters_go_with_the_paper_record() -> None:
    paper = Paper("p1", "T", "A", authors=("Zoë Ǆemal",), year=2024, categories=("q-bio.NC",))
    allowed = PaperFilter({"p1": paper})
    assert allowed.allowed(filter_key({"author": "zoe dzemal"})) == {"p1"}
    assert allowed.allowed(filter_key({"category": "q-bio"})) == {"p1"}
    assert allowed.allowed(filter_key({"since": 2025})) == frozenset()


def test_filters_on_metadata_no_paper_has_say_that_no_paper_has_it(tmp_path: Path) -> None:
    """The bundled listing pages carry no year, author or category: "--since 2020" on them says so, not only
    "widen the filters" (the UI and ``rag search`` show the same text)."""
    from rag.answer.base import NO_MATCH_LEAD
    from rag.app.render import render_answer_message

    bare = open_hash_pipeline(tmp_path / "data", SMALL_PAPERS)
    answer = bare.ask("What does LoRA freeze?", since=2020, author="hu")
    assert answer.abstained and answer.text == (
        f"{NO_MATCH_LEAD}: no indexed paper has authors or a year (listing pages such as the bundled ones carry "
        "none); ingest papers that do (docs/ingest.md) or remove those filters."
    )
    assert "close enough" not in render_answer_message(answer, 0)  # no second, contradicting note
    assert bare.paper_filter.missing_fields(filter_key({"source": "x"})) == []
    both = bare.paper_filter.missing_fields(filter_key({"since": 2020, "until": 2024}))
    assert both == ["a year"]  # once: "no indexed paper has a year or a year" had been said
