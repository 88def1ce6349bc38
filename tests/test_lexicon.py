"""The lexicon: every paper's tokens, bigrams and numbers as vocabulary ids, saved beside the index, updated
paper by paper, and read by the reranker's lexical features exactly as tokenising the paper would give them."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import SMALL_PAPERS, make_paper, open_hash_pipeline

from rag.index import lexicon as lexicon_module
from rag.index.lexicon import Lexicon, is_current, lexicon_for, lexicon_path
from rag.retrieve.acronym_cache import AcronymTable
from rag.retrieve.features import LEXICAL, featurize, lexical_features
from rag.retrieve.query import Query, parse_query
from rag.text import numbers_in, singular, tokenize
from rag.types import Paper

PAPERS = {p.id: p for p in SMALL_PAPERS}
QUERIES = [
    "How much faster is the speech tokenizer, 3.5x?",
    "sparse autoencoders SAE features variance 42.5",
    "rationale invariance loss for domain generalization",
    "QM9 accuracy of graph neural networks with edge attention",
    "nothing in common here",
    "",
]


def _query(text: str) -> Query:
    return parse_query(text, AcronymTable({}), lambda token: (1, 10))


def _reference(query: Query, paper: Paper) -> tuple[float, ...]:
    """The ``LEXICAL`` features computed from the strings, as their definitions read."""
    title, body = tokenize(paper.title), tokenize(paper.abstract)
    tokens, wanted = set(title + body), set(query.tokens)
    bigrams = {f"{a} {b}" for seq in (title, body) for a, b in itertools.pairwise(seq)}
    numbers = numbers_in(f"{paper.title} {paper.abstract}")
    idf = dict(zip(query.tokens, query.idf, strict=True)) if query.idf else dict.fromkeys(query.tokens, 1.0)
    lower = f"{paper.title}\n{paper.abstract}".lower()

    def has(name: str, text: str) -> bool:
        return re.search(r"(?<![a-z0-9])" + re.escape(singular(name).lower()) + r"s?(?![a-z0-9])", text) is not None

    names = query.names
    found = sum(has(n, lower) for n in names)
    return (
        len(wanted & set(title)) / len(wanted) if wanted else 0.0,
        len(wanted & tokens) / len(wanted) if wanted else 0.0,
        sum(w for t, w in idf.items() if t in tokens) / (sum(idf.values()) or 1.0) if wanted else 0.0,
        sum(b in bigrams for b in query.bigrams) / len(query.bigrams) if query.bigrams else 0.0,
        found / len(names) if names else 0.0,
        sum(has(n, paper.title.lower()) for n in names) / len(names) if names else 0.0,
        float(len(names) - found) if names else 0.0,
        1.0 - found / len(names) if names else 0.0,
        sum(n in numbers for n in query.numbers) / len(query.numbers) if query.numbers else 0.0,
    )


@pytest.mark.parametrize("text", QUERIES)
def test_features_from_the_lexicon_equal_those_from_the_text(text: str) -> None:
    query, papers = _query(text), list(PAPERS.values())
    lexicon = Lexicon.build(PAPERS)
    got = lexical_features(query, papers, lexicon)
    assert got == [_reference(query, p) for p in papers]
    assert len(got[0]) == len(LEXICAL)
    assert lexical_features(query, papers) == got  # without a lexicon: one of these papers alone
    if text.startswith("How much faster"):
        speech = got[2]
        assert speech[LEXICAL.index("number_match")] == 1.0 and speech[LEXICAL.index("title_overlap")] > 0


def test_rows_hold_the_papers_words_and_answer_membership() -> None:
    lexicon = Lexicon.build(PAPERS)
    paper = SMALL_PAPERS[2]
    assert lexicon.words(paper.id, "title") == tokenize(paper.title)
    assert lexicon.words(paper.id, "body") == tokenize(paper.abstract)
    assert sorted(lexicon.words(paper.id, "numbers")) == ["1.2", "3.5"]
    rows = np.array([lexicon.row[p.id] for p in SMALL_PAPERS])
    speech, recognition = (lexicon.id_of(t) for t in tokenize("speech recognition"))
    has = lexicon.has("body", rows, [speech, -1, lexicon.id_of("zebra")])
    assert has.tolist() == [[False] * 3, [False] * 3, [True, False, False], [False] * 3]
    pairs = lexicon.has_pairs("body", rows, [(speech, recognition), (recognition, speech)])
    assert pairs[:, 0].tolist() == [False, False, True, False] and not pairs[:, 1].any()
    last_title, first_body = lexicon.words(paper.id, "title")[-1], lexicon.words(paper.id, "body")[0]
    across = (lexicon.id_of(last_title), lexicon.id_of(first_body))
    assert not lexicon.has_pairs("body", rows, [across]).any() and not lexicon.has_pairs("title", rows, [across]).any()
    assert lexicon.id_of("zebra") == -1 and "unknown-id" not in lexicon
    with pytest.raises(KeyError):
        lexicon.words("unknown-id", "title")


def _as_strings(lexicon: Lexicon, pid: str) -> tuple[list[str], ...]:
    return tuple(lexicon.words(pid, part) for part in ("title", "body", "numbers"))


def test_an_update_keeps_unchanged_rows_and_rereads_changed_papers(monkeypatch: pytest.MonkeyPatch) -> None:
    base = Lexicon.build(PAPERS)
    changed = make_paper(SMALL_PAPERS[0].title, "A new abstract about 7 dictionary features.")
    added = make_paper("Mixture of Experts Routing", "Routing with 64 experts.")
    papers = {**PAPERS, changed.id: changed, added.id: added}
    del papers[SMALL_PAPERS[1].id]
    tokenised: list[str] = []
    real = lexicon_module.tokenize
    monkeypatch.setattr(lexicon_module, "tokenize", lambda text: tokenised.append(text) or real(text))
    updated = Lexicon.build(papers, base)
    assert sorted(tokenised) == sorted([changed.title, changed.abstract, added.title, added.abstract])
    fresh = Lexicon.build(papers)
    assert updated.paper_ids == fresh.paper_ids == sorted(papers)
    for pid in papers:
        assert _as_strings(updated, pid) == _as_strings(fresh, pid)
    assert updated.vocab[: len(base.vocab)] == base.vocab  # old ids stay valid
    query = _query("dictionary features 7 experts")
    assert lexical_features(query, list(papers.values()), updated) == [_reference(query, p) for p in papers.values()]


def test_saved_once_per_stamp_and_rebuilt_from_the_saved_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = lexicon_for(PAPERS, tmp_path, "emb", "stamp-1")
    assert lexicon_path(tmp_path, "emb").exists() and is_current(tmp_path, "emb", "stamp-1")
    assert not is_current(tmp_path, "emb", "stamp-2") and not is_current(tmp_path, "other", "stamp-1")

    def refuse(text: str) -> list[str]:
        raise AssertionError("tokenised again")

    monkeypatch.setattr(lexicon_module, "tokenize", refuse)
    again = lexicon_for(PAPERS, tmp_path, "emb", "stamp-1")
    assert again.vocab == first.vocab and all(_as_strings(again, p) == _as_strings(first, p) for p in PAPERS)
    moved = lexicon_for(PAPERS, tmp_path, "emb", "stamp-2")  # a write changed the stamp, not these papers
    assert moved.vocab == first.vocab and is_current(tmp_path, "emb", "stamp-2")


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "rows"])
def test_a_damaged_lexicon_is_rebuilt(tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    lexicon_for(PAPERS, tmp_path, "emb", "s")
    path = lexicon_path(tmp_path, "emb")
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :])
    elif damage == "garbage":
        path.write_bytes(b"\x00\xff not a zip")
    else:  # well-formed arrays that do not fit together
        lexicon = Lexicon.build(PAPERS)
        ptr, ids = lexicon.rows["body"]
        bad = Lexicon(lexicon.paper_ids, lexicon.vocab, {**lexicon.rows, "body": (ptr, ids + 10**6)}, lexicon.digests)
        bad.save(path, "s:x")
    assert Lexicon.load(path) is None
    rebuilt = lexicon_for(PAPERS, tmp_path, "emb", "s")
    query = _query(QUERIES[0])
    assert lexical_features(query, list(PAPERS.values()), rebuilt) == [_reference(query, p) for p in PAPERS.values()]
    loaded = Lexicon.load(path)
    assert loaded is not None and loaded[1].paper_ids == sorted(PAPERS)  # and saved again


def test_without_a_data_dir_or_a_writable_one_it_is_built_in_memory(tmp_path: Path) -> None:
    assert lexicon_for(PAPERS, None, "emb", "s").paper_ids == sorted(PAPERS)
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert lexicon_for(PAPERS, blocked, "emb", "s").paper_ids == sorted(PAPERS)


def test_an_ingest_leaves_a_current_lexicon_and_candidates_carry_its_features(tmp_path: Path) -> None:
    pipeline = open_hash_pipeline(tmp_path / "data")
    stamp = pipeline.retriever.store.stamp()
    assert is_current(tmp_path / "data", pipeline.retriever.store.embedder_name, stamp)
    path = next((tmp_path / "data").glob("lexicon-*.npz"))
    pq = pipeline.prepare("speech tokenizer 3.5x faster")
    candidates = pipeline.candidates(pq)
    assert candidates and all(c.lexical is not None for c in candidates)
    papers = [pipeline.papers[c.paper_id] for c in candidates]
    assert [c.lexical for c in candidates] == [_reference(pq.query, p) for p in papers]
    bare = [type(c)(c.paper_id, c.rrf, c.ranks, c.scores, c.sentence_scores, c.first_stage) for c in candidates]
    assert np.array_equal(featurize(pq.query, candidates, pipeline.papers), featurize(pq.query, bare, pipeline.papers))
    assert path.stat().st_size > 0


def test_the_keyword_index_built_from_the_lexicon_is_the_one_built_from_the_texts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rag.index import keyword
    from rag.index.keyword import KeywordIndex

    long = make_paper("Long Abstract Paper", " ".join(f"Sentence {i} about routing experts." for i in range(40)))
    papers = {**PAPERS, long.id: long}
    ids = [*sorted(PAPERS), long.id, long.id]
    texts = [f"{PAPERS[pid].title}\n{PAPERS[pid].abstract}" for pid in sorted(PAPERS)]
    texts += [f"{long.title}\n{long.abstract[:300]}", f"{long.title}\n{long.abstract[300:]}"]  # two chunks
    plain = KeywordIndex.build(ids, texts)
    read: list[str] = []
    real = keyword.doc_tokens
    monkeypatch.setattr(keyword, "doc_tokens", lambda text: read.append(text) or real(text))
    built = KeywordIndex.build(ids, texts, papers, Lexicon.build(papers))
    assert read == texts[-2:]  # only the chunks that are not a whole paper were tokenised
    assert built.retriever.vocab_dict == plain.retriever.vocab_dict
    for query in [*QUERIES[:-1], "routing experts sentence 7"]:
        assert np.array_equal(built.scores(query), plain.scores(query))
    assert built.scores("speech tokenizer")[sorted(PAPERS).index(SMALL_PAPERS[2].id)] > 0


def test_a_lexicon_whose_papers_are_mostly_gone_starts_a_new_vocabulary(tmp_path: Path) -> None:
    lexicon_for(PAPERS, tmp_path, "emb", "s1")
    kept = SMALL_PAPERS[0]
    few = {kept.id: kept}  # three of four papers removed
    rebuilt = lexicon_for(few, tmp_path, "emb", "s2")
    assert set(rebuilt.vocab) == set(tokenize(kept.title) + tokenize(kept.abstract)) | {"42.5"}
    assert rebuilt.id_of(tokenize("LibriSpeech")[0]) == -1


def test_arrays_of_the_wrong_type_are_damage(tmp_path: Path) -> None:
    lexicon = Lexicon.build(PAPERS)
    ptr, ids = lexicon.rows["title"]
    path = lexicon_path(tmp_path, "emb")
    Lexicon(
        lexicon.paper_ids, lexicon.vocab, {**lexicon.rows, "title": (ptr, ids.astype(np.float64))}, lexicon.digests
    ).save(path, "k")
    assert Lexicon.load(path) is None


def test_a_package_digest_covers_its_submodules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cache keys hashed ``rag.text`` as its ``__init__.py`` alone, so a new tokenizer or sentence splitter (in
    ``rag/text/words.py``, ``sentences.py``) left the lexicon, the layouts and the acronym table of an upgraded
    install keyed as before. A package's digest now reads every ``.py`` file under it."""
    import importlib
    import sys

    from rag.resources import modules_digest

    package = tmp_path / "pkgx"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "words.py").write_text("RULE = 1\n")
    (package / "sub" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("pkgx")
    try:
        before = modules_digest(module)
        (package / "words.py").write_text("RULE = 2\n")
        changed = modules_digest(module)
        assert changed != before
        (package / "sub" / "deep.py").write_text("X = 1\n")
        assert modules_digest(module) != changed  # a subpackage's module too
    finally:
        sys.modules.pop("pkgx", None)


def test_a_saved_bm25_index_from_other_tokenizer_code_is_rebuilt(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The BM25 index was keyed by the store's fingerprint alone: after an upgrade that changes ``tokenize`` it
    kept scoring with the old tokens. Its key now holds ``code_version``."""
    from rag.index import keyword
    from rag.index.keyword import KeywordIndex

    folder = tmp_path / "bm25-x"
    KeywordIndex.build(["p1"], ["A title\nan abstract about graphs"]).save(folder, "fp")
    assert KeywordIndex.load(folder, "fp") is not None
    monkeypatch.setattr(keyword, "code_version", lambda: "another tokenizer")
    assert KeywordIndex.load(folder, "fp") is None
