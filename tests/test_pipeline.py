"""The pipeline's contract: input validation, answerer choice, and what an Answer carries."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import SMALL_PAPERS, make_paper, open_hash_pipeline

from rag.answer.base import ABSTENTION
from rag.errors import ConfigError, QueryError, RagError
from rag.filters import PaperFilter, filter_key
from rag.pipeline import MAX_SEARCH_K, MAX_SOURCES
from rag.stream import AnswerStream
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
    stream = hash_pipeline.stream("rationale invariance loss for domain generalization", None)
    assert isinstance(stream, AnswerStream) and not stream.done  # nothing ran yet
    chunks = list(stream)
    assert chunks and all(isinstance(c, str) and c for c in chunks)
    final = stream.answer
    assert "".join(chunks) == final.text
    assert final.text.startswith("We propose a rationale invariance loss for domain generalization. [1]")
    assert {c.marker for c in final.citations} == {1}
    assert final.hits[0].paper.title == "Domain Generalization via Rationale Invariance"
    assert final.citations[0].paper.title == "Domain Generalization via Rationale Invariance"
    assert set(final.timings) >= {"embed", "retrieve", "rerank", "total"}


@pytest.mark.parametrize("k", [0, -1, MAX_SOURCES + 1, 2.5, "3", True])
def test_bad_k_is_refused_before_anything_runs(hash_pipeline, k) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError, match=rf"k.*1 to {MAX_SOURCES}"):
        hash_pipeline.stream("rationale invariance", k=k)  # raised at the call, not on iteration


@pytest.mark.parametrize("k", [0, MAX_SEARCH_K + 1, "5"])
def test_bad_search_k_is_refused(hash_pipeline, k) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError, match=rf"1 to {MAX_SEARCH_K}"):
        hash_pipeline.search("rationale invariance", k)


def test_k_bounds_are_accepted(hash_pipeline) -> None:  # type: ignore[no-untyped-def]
    assert len(hash_pipeline.search("sparse", MAX_SEARCH_K)) == len(SMALL_PAPERS)
    answer = hash_pipeline.ask("rationale invariance loss", k=1)
    assert [c.paper.title for c in answer.citations] == ["Domain Generalization via Rationale Invariance"]


def test_bad_filters_and_answerer_are_refused_at_the_call(hash_pipeline) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError, match="unknown filter 'year'; valid filters: listing_date, source"):
        hash_pipeline.stream("graph", year="2024")
    with pytest.raises(QueryError, match="filter 'source' takes a string"):
        hash_pipeline.stream("graph", source=3)
    with pytest.raises(ConfigError, match="use 'extractive' or 'llm'"):
        hash_pipeline.stream("graph", answerer="gpt")


def test_filters_restrict_the_answer_sources(hash_pipeline) -> None:  # type: ignore[no-untyped-def]
    answer = hash_pipeline.ask("sparse autoencoders tokenizer", k=3, source="b.txt")
    assert answer.hits and {h.paper.sources[0][:5] for h in answer.hits} == {"b.txt"}
    both = hash_pipeline.ask("sparse autoencoders", source=["a.txt", "b.txt"], listing_date="Mar 21")
    assert {h.paper.listing_date for h in both.hits} == {"Mar 21"}


@pytest.mark.parametrize("question", ["", "   \n\t ", None, 42])
def test_bad_questions_get_a_clear_error(hash_pipeline, question) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError):
        hash_pipeline.ask(question)


@pytest.mark.parametrize(
    "history", ["not a list", [{"role": "robot", "content": "x"}], [{"role": "user", "content": 3}]]
)
def test_bad_history_gets_a_clear_error(hash_pipeline, history) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError, match="history"):
        hash_pipeline.ask("what is a rationale matrix?", history)


def test_llm_answerer_without_llm_says_which_env_var(hash_pipeline) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        hash_pipeline.ask("what is a rationale matrix?", answerer="llm")


def test_extractive_abstains_with_the_shared_sentence_when_told(tmp_path: Path) -> None:
    pipeline = open_hash_pipeline(tmp_path / "data", abstain_threshold=1.0)  # nothing off-topic is that confident
    answer = pipeline.ask("how are proteins folded by diffusion models?")
    assert answer.abstained and answer.text == ABSTENTION and not answer.citations


SAE, RIDG, SPEECH, GNN = (p.id for p in SMALL_PAPERS)
CONCURRENT_CASES: list[tuple[str, dict[str, str], str | None]] = [
    ("What does the rationale invariance loss do?", {"listing_date": "Mar 21"}, RIDG),
    ("How fast is the speech recognition tokenizer?", {"source": "b.txt"}, SPEECH),
    ("What do sparse autoencoders learn?", {"source": "a.txt"}, SAE),
    ("How do graph neural networks predict molecule properties?", {}, GNN),
    ("What do sparse autoencoders learn?", {"listing_date": "Mar 17"}, None),  # only the speech paper passes
]


def _content(answer: Answer) -> tuple[object, ...]:
    return (answer.text, [c.paper.id for c in answer.citations], [h.paper.id for h in answer.hits], answer.abstained)


def test_concurrent_requests_with_different_filters_get_their_own_answers(tmp_path: Path) -> None:
    pipeline = open_hash_pipeline(tmp_path / "data", abstain_threshold=0.0)
    alone = [pipeline.ask(q, k=2, **f) for q, f, _ in CONCURRENT_CASES]
    for (_, filters, expected), answer in zip(CONCURRENT_CASES, alone, strict=True):
        allowed = pipeline.allowed_ids(filters)
        assert allowed is None or {h.paper.id for h in answer.hits} <= allowed
        if expected is not None:
            assert answer.citations[0].paper.id == expected
    assert alone[4].hits and {h.paper.id for h in alone[4].hits} == {SPEECH}

    def run(i: int) -> tuple[int, Answer, str]:
        question, filters, _ = CONCURRENT_CASES[i % len(CONCURRENT_CASES)]
        stream = pipeline.stream(question, k=2, **filters)  # type: ignore[arg-type]
        streamed = "".join(stream)
        return i % len(CONCURRENT_CASES), stream.answer, streamed

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, reversed(range(8 * len(CONCURRENT_CASES)))))
    assert len(results) == 40
    for case, answer, streamed in results:
        assert _content(answer) == _content(alone[case]), CONCURRENT_CASES[case]
        assert answer.question == " ".join(CONCURRENT_CASES[case][0].split())
        assert streamed == answer.text


def test_a_request_leaves_the_shared_objects_as_they_were(hash_pipeline) -> None:  # type: ignore[no-untyped-def]
    shared = [hash_pipeline, hash_pipeline.fallback, hash_pipeline.reranker, hash_pipeline.retriever]
    before = [dict(getattr(o, "__dict__", {})) for o in shared]
    hash_pipeline.ask("rationale invariance?", [{"role": "user", "content": "hi"}], k=3, source="a.txt")
    list(hash_pipeline.stream("speech tokenizer", listing_date="Mar 17"))
    hash_pipeline.search("graph", 2, source="b.txt")
    for obj, attrs in zip(shared, before, strict=True):
        now = getattr(obj, "__dict__", {})
        assert now.keys() == attrs.keys(), f"{type(obj).__name__} gained or lost attributes"
        changed = [name for name in attrs if now[name] is not attrs[name]]
        assert not changed, f"{type(obj).__name__} attributes reassigned during a request: {changed}"


def test_paper_filter_cache_is_correct_under_concurrent_use_and_eviction() -> None:
    papers = {p.id: p for p in SMALL_PAPERS}
    shared = PaperFilter(papers)
    keys = [filter_key({"source": f"{name}.txt", "listing_date": f"Mar {day}"}) for name in "ab" for day in
            range(300)]  # more distinct keys than the cache holds: it is cleared while other threads read it
    expected = {k: PaperFilter(papers).allowed(k) for k in keys}
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(shared.allowed, keys * 3))
    assert got == [expected[k] for k in keys * 3]
    assert expected[filter_key({"source": "a.txt", "listing_date": "Mar 21"})] == {SAE, RIDG}
    assert expected[filter_key({"source": "b.txt", "listing_date": "Mar 21"})] == frozenset()


@pytest.mark.parametrize("query", [None, 123, b"sparse", ["sparse"]])
def test_search_refuses_what_is_not_text_as_ask_does(hash_pipeline, query: object) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(QueryError, match="must be text"):
        hash_pipeline.search(query)


def test_a_stream_interrupted_by_ctrl_c_says_so_when_read_again() -> None:
    def chunks() -> Iterator[str]:
        yield "First part. "
        raise KeyboardInterrupt

    stream = AnswerStream(chunks())
    with pytest.raises(KeyboardInterrupt):
        list(stream)
    with pytest.raises(RagError, match="interrupted; ask again"):
        _ = stream.answer


def test_an_abstracts_own_bracketed_numbers_are_quoted_not_cited(tmp_path: Path) -> None:
    """"Sparse attention [1] beats dense attention [2,3]" quoted from an abstract keeps its brackets as text:
    they cite none of the answer's sources, and the quote still checks as verbatim."""
    bracketed = make_paper(
        "Bracketed Sparse Attention",
        "We study bracketed sparse attention for long documents. Bracketed sparse attention [1] beats dense "
        "attention [2,3] on every long-document benchmark we tried. Code is released.",
    )
    pipeline = open_hash_pipeline(tmp_path / "data", [bracketed, *SMALL_PAPERS])
    answer = pipeline.ask("Does bracketed sparse attention beat dense attention on long documents?")
    assert not answer.abstained and "beats dense" in answer.text
    assert [c.paper.title for c in answer.citations] == ["Bracketed Sparse Attention"]
    assert all(c.verdict == "supported" for c in answer.citations) and not answer.removed_markers
    shown = answer.text.replace("\u2060", "")
    assert "attention [1] beats dense attention [2,3] on every" in shown


def test_prepare_takes_filters_as_a_dict_and_refuses_a_non_text_question(hash_pipeline) -> None:  # type: ignore[no-untyped-def]
    from rag.filters import filter_key

    as_dict = hash_pipeline.prepare("speech tokenizer", {"listing_date": "Mar 17"})
    assert as_dict.allowed == hash_pipeline.prepare("speech tokenizer", filter_key({"listing_date": "Mar 17"})).allowed
    with pytest.raises(QueryError, match="the question must be text, not int"):
        hash_pipeline.prepare(123)


def test_settings_in_code_refuse_a_typo_and_a_bad_value_in_one_line() -> None:
    """``Settings(datadir=...)`` was silently ignored (the index came from RAG_DATA_DIR), and ``Settings(top_k=50)``
    raised pydantic's multi-line error."""
    from rag.errors import ConfigError
    from rag.settings import Settings

    with pytest.raises(ConfigError, match=r"^unknown setting 'datadir'; the settings are listed in docs/"):
        Settings(datadir="/x")  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match=r"^invalid setting top_k='50': Input should be less than or equal to 20"):
        Settings(top_k=50)
    assert Settings(top_k=3).top_k == 3
    assert Settings(RAG_CANDIDATES=10).candidate_pool == 10  # an environment alias is a known name
    assert Settings(OPENAI_API_KEY="sk-test").openai_api_key is not None and Settings(_env_file=None).top_k


def test_a_stream_used_in_a_with_block_is_closed_on_leaving_it(hash_pipeline) -> None:  # type: ignore[no-untyped-def]
    from rag.errors import RagError

    with hash_pipeline.stream("speech tokenizer") as stream:
        next(iter(stream))  # read a little, then leave
    assert stream.done
    with pytest.raises(RagError, match="closed before it finished"):
        _ = stream.answer
    with hash_pipeline.stream("speech tokenizer") as whole:
        text = "".join(whole)
    assert whole.answer.text == text  # a finished stream is kept


def test_an_unknown_first_stage_is_named(hash_pipeline) -> None:  # type: ignore[no-untyped-def]
    pq = hash_pipeline.prepare("speech tokenizer")
    with pytest.raises(QueryError, match=r"^unknown first stage 'bogus'; the stages are bm25, dense, sentence$"):
        hash_pipeline.candidates(pq, 10, ["bogus"])
    assert hash_pipeline.candidates(pq, 10, ["bm25"])
