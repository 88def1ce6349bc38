"""Token counting offline and token-bounded chunking (sentence rules: ``tests/test_text.py``)."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import CORPUS, ROOT, make_paper
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.index.chunking import MAX_CHUNK_TOKENS, chunk_paper
from rag.index.corpus import load_papers
from rag.index.tokens import count_tokens, truncate_tokens
from rag.text import sentences


def test_token_counting_works_offline() -> None:
    code = (
        "import os; assert 'TIKTOKEN_CACHE_DIR' not in os.environ\n"
        "from rag.index.tokens import count_tokens, encoding\n"
        "assert count_tokens('hello world') == 2, count_tokens('hello world')\n"
        "assert encoding().name == 'cl100k_base'\n"
        "assert 'TIKTOKEN_CACHE_DIR' not in os.environ\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TIKTOKEN_CACHE_DIR"}
    # no network: any download attempt goes to a dead proxy and fails
    env |= {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert count_tokens("") == 0
    assert count_tokens("<|endoftext|> is plain text here") > 1
    assert truncate_tokens("one two three four", 2) == "one two"
    assert truncate_tokens("short", 10) == "short"


def _long_paper(n_sentences: int = 60) -> tuple[str, str]:
    title = "A Long Paper: Does Chunking Work?"
    abstract = " ".join(
        f"Sentence number {i} describes experiment {i} with 3.{i} percent gains, e.g. on dataset D{i}."
        for i in range(n_sentences)
    )
    return title, abstract


def _check_chunks(title: str, abstract: str, max_tokens: int = MAX_CHUNK_TOKENS) -> list[str]:
    paper = make_paper(title, abstract)
    chunks = chunk_paper(paper, max_tokens)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert [c.id for c in chunks] == [f"{paper.id}:{i}" for i in range(len(chunks))]
    bodies = []
    for c in chunks:
        assert c.paper_id == paper.id
        assert c.n_tokens == count_tokens(c.text) <= max_tokens
        head, _, body = c.text.partition("\n")
        assert head == title
        assert body and body in abstract
        bodies.append(body)
    # together the chunks cover the whole abstract, in order
    covered = 0
    for body in bodies:
        start = abstract.index(body, max(0, covered - len(body)))
        assert start <= covered + 1
        covered = max(covered, start + len(body))
    assert covered == len(abstract)
    return bodies


def test_short_paper_is_one_chunk() -> None:
    paper = make_paper("Short", "One sentence. Two sentences.")
    (chunk,) = chunk_paper(paper)
    assert chunk.text == "Short\nOne sentence. Two sentences."
    assert chunk.id == f"{paper.id}:0"


def test_paper_over_512_tokens_is_split_into_overlapping_chunks() -> None:
    title, abstract = _long_paper()
    assert count_tokens(f"{title}\n{abstract}") > 2 * MAX_CHUNK_TOKENS
    bodies = _check_chunks(title, abstract)
    assert len(bodies) >= 3
    for a, b in itertools.pairwise(bodies):  # one sentence of overlap
        last = sentences(a)[-1]
        assert sentences(b)[0] == last
    # every sentence is in some chunk
    for s in sentences(abstract):
        assert any(s in body for body in bodies)


def test_chunks_stay_within_budget_for_an_overlong_sentence() -> None:
    title = "One Endless Sentence"
    abstract = "Intro sentence here. " + " ".join(f"word{i}" for i in range(1500)) + ". Final sentence."
    bodies = _check_chunks(title, abstract)
    assert len(bodies) >= 3


def test_chunks_stay_within_budget_for_one_overlong_word() -> None:
    blob = "".join(hashlib.sha256(str(i).encode()).hexdigest() for i in range(125))  # 8000 chars, no spaces
    abstract = "Start. " + blob + " end."
    bodies = _check_chunks("Base64 Blob", abstract, max_tokens=256)
    assert blob in "".join(bodies)


def test_no_chunk_is_only_the_previous_overlap() -> None:
    """When the overlap sentence plus the next one would not fit, the next chunk starts fresh instead of
    repeating the overlap sentence alone."""
    title = "T"
    bigs = [f"Group{k} " + " ".join(["data"] * 110) + "." for k in range(3)]  # ~113 tokens each
    abstract = "Small one. " + " ".join(bigs)
    bodies = _check_chunks(title, abstract, max_tokens=200)
    assert len(bodies) == 3
    for a, b in itertools.pairwise(bodies):
        assert not a.endswith(b), (a, b)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=120), min_size=1, max_size=30), st.sampled_from([64, 128, 512]))
def test_generated_chunks_fit(lengths: list[int], max_tokens: int) -> None:
    abstract = " ".join("Word " + " ".join(f"w{i}" for i in range(n)) + "." for n in lengths)
    title = "Generated Title"
    paper = make_paper(title, abstract)
    for c in chunk_paper(paper, max_tokens):
        assert c.n_tokens <= max_tokens
        assert c.text.startswith(title + "\n")


def test_bundled_corpus_is_one_chunk_per_paper() -> None:
    papers = load_papers([CORPUS])
    chunks = [c for p in papers for c in chunk_paper(p)]
    assert len(chunks) == 383
    assert all(c.text == f"{p.title}\n{p.abstract}" for p, c in zip(papers, chunks, strict=True))


def test_bundled_tokenizer_matches_llama_index_copy() -> None:
    """The packaged BPE file gives the same tokens as tiktoken's own cl100k_base (from llama-index's cache)."""
    import importlib.util

    import tiktoken

    from rag.index.tokens import encoding

    spec = importlib.util.find_spec("llama_index.core")
    assert spec is not None and spec.submodule_search_locations
    cache = Path(next(iter(spec.submodule_search_locations))) / "_static" / "tiktoken_cache"
    code = (
        "import tiktoken, json, sys; e = tiktoken.get_encoding('cl100k_base');"
        "print(json.dumps(e.encode(sys.argv[1], disallowed_special=())))"
    )
    text = "Sparsemax: 3.5× faster — naïve 日本語 <|endoftext|> e.g. x_i^2"
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", code, text], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert encoding().encode(text, disallowed_special=()) == json.loads(out.stdout)
    assert isinstance(encoding(), tiktoken.Encoding)
